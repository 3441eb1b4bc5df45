"""Phone or not: the client hint decides when the browser sends it, the User-Agent otherwise."""

from __future__ import annotations

import pytest

from paygate.web.devices import is_phone

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_WECHAT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Mobile Safari/537.36 MicroMessenger/8.0.47"
)
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/604.1"
)


@pytest.mark.parametrize(
    ("user_agent", "phone"), [(IPHONE, True), (ANDROID_WECHAT, True), (DESKTOP, False), (IPAD, False)]
)
def test_the_user_agent_says_mobi_on_phones(user_agent: str, phone: bool) -> None:
    assert is_phone({"User-Agent": user_agent}) is phone


def test_the_client_hint_wins_over_the_user_agent_whatever_the_case_of_the_header() -> None:
    assert is_phone({"sec-ch-ua-mobile": "?1", "User-Agent": DESKTOP}) is True
    assert is_phone({"Sec-CH-UA-Mobile": "?0", "User-Agent": IPHONE}) is False


def test_no_headers_is_a_desktop() -> None:
    assert is_phone({}) is False
