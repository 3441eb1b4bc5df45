"""Two languages, chosen from the browser's Accept-Language: Simplified Chinese and English.

Catalogs are plain dictionaries per page family (a few dozen strings; no gettext toolchain to
install or compile). A missing key is an error in tests, never a blank on a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Language = Literal["zh-CN", "en"]
DEFAULT_LANGUAGE: Language = "en"


def negotiate(accept_language: str | None) -> Language:
    """The best of ours for an Accept-Language header (RFC 9110 q-values); English if nothing matches."""
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0 or not tag:
            continue
        language: Language | None = None
        if tag == "zh" or tag.startswith(("zh-cn", "zh-hans", "zh-sg")):
            language = "zh-CN"
        elif tag == "en" or tag.startswith("en-"):
            language = "en"
        if language and (best is None or (quality, -position) > (best[0], -best[1])):
            best = (quality, position, language)
    return best[2] if best else DEFAULT_LANGUAGE


class Catalog:
    """The strings of one page family in both languages; `for_language` gives the lookup a template uses."""

    def __init__(self, strings: Mapping[str, Mapping[Language, str]]) -> None:
        for key, texts in strings.items():
            if set(texts) != {"zh-CN", "en"}:
                raise ValueError(f"{key}: needs exactly zh-CN and en")
        self._strings = strings

    def for_language(self, language: Language) -> dict[str, str]:
        return {key: texts[language] for key, texts in self._strings.items()}
