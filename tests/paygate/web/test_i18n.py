"""The page's language from Accept-Language, and catalogs that cannot miss a language."""

from __future__ import annotations

import pytest

from paygate.checkout.page import CATALOG
from paygate.web.i18n import Catalog, negotiate


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,fr;q=0.9", "en"),  # neither: English
        ("fr, zh;q=0.5, en;q=0.4", "zh-CN"),
        ("en;q=0.2, zh-CN;q=0.8", "zh-CN"),  # quality, not order
        ("zh-CN;q=0, en", "en"),  # q=0 means "not this one"
        ("zh-TW", "en"),  # traditional Chinese is not what we have
        ("", "en"),
        (None, "en"),
        ("zh-CN;q=abc", "en"),
    ],
)
def test_the_language_follows_the_browsers_preference(header, language):
    assert negotiate(header) == language


def test_a_catalog_refuses_a_string_missing_a_language():
    with pytest.raises(ValueError, match="needs exactly zh-CN and en"):
        Catalog({"greeting": {"en": "Hello"}})  # type: ignore[dict-item]


def test_the_checkout_page_has_every_string_in_both_languages():
    chinese, english = CATALOG.for_language("zh-CN"), CATALOG.for_language("en")
    assert set(chinese) == set(english)
    assert all(chinese[key] and english[key] and chinese[key] != english[key] for key in chinese)
