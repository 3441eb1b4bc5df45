"""Is the page being read on a phone? Pages offer what the payer's device can use.

A browser that sends the client hint ``Sec-CH-UA-Mobile`` says so exactly (``?1``); the others
say ``Mobi`` in their User-Agent, as MDN's advice on browser detection puts it (iPhone Safari,
Android Chrome and Firefox, WeChat's and Alipay's in-app browsers all do; tablets do not, and get
the desktop page, which they can use).
"""

from __future__ import annotations

from collections.abc import Mapping


def is_phone(headers: Mapping[str, str]) -> bool:
    lowered = {name.lower(): value for name, value in headers.items()}
    hint = lowered.get("sec-ch-ua-mobile")
    if hint is not None:
        return hint.strip() == "?1"
    return "Mobi" in lowered.get("user-agent", "")
