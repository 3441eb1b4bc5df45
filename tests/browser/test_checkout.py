"""The hosted checkout page in a real browser (headless Chromium), on the local stack.

A payer opens the page, picks WeChat Pay, pays in the BeeCloud sandbox (opens the QR code's link),
and the page moves on by itself to the merchant's return_url with a signature the merchant's
secret verifies; a paid session offers nothing more; an unknown link says so. No page breaks its
CSP, throws, or reaches beyond loopback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from paygate_client import verify_checkout_return
from paygate_local.stack import LocalStack
from tests.paygate_local.helpers import free_ports_config
from tests.support.browser import PageFactory

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(free_ports_config(name_prefix="browser-checkout", time_scale=0.01)) as running:
        yield running


@pytest.fixture(scope="module")
def shop(stack: LocalStack) -> dict:
    return stack.create_app("Demo Shop 演示商店")


def _session(stack: LocalStack, shop: dict, channels: list[str]) -> dict:
    assert stack.info is not None
    body = {
        "total_fee": 1234,
        "title": "测试订单",
        "channels": channels,
        "return_url": f"{stack.info.beecloud_url}/_sandbox?order=42",  # loopback: the browser may go there
    }
    created = httpx.post(
        f"{stack.info.api_url}/checkout/sessions", json=body, headers={"Authorization": f"Bearer {shop['api_key']}"}
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


def _returned(shop: dict, url: str, session: dict) -> None:
    query = urlsplit(url).query
    assert verify_checkout_return(query, shop["checkout_secret"]) == session["id"]
    assert dict(parse_qsl(query))["order"] == "42"


def _shot(browser_page, screenshot_dir: Path, name: str) -> None:
    """Into .local/screenshots (docs/checkout/ holds copies of these, taken by the same test)."""
    browser_page.screenshot(screenshot_dir, name)


def test_desktop_wechat_qr_code_paid_in_the_sandbox_returns_to_the_merchant(
    stack, shop, page: PageFactory, screenshot_dir
):
    session = _session(stack, shop, ["WX_NATIVE", "ALI_WEB", "UN_WEB"])
    payer = page("desktop", "zh-CN")

    payer.goto(session["url"])
    assert payer.page.locator("#amount").inner_text().replace("\n", "") == "¥12.34"
    assert payer.page.locator("#title").inner_text() == "测试订单"
    assert payer.page.locator("h2").first.inner_text() == "选择支付方式"
    _shot(payer, screenshot_dir, "desktop-zh-choose")
    payer.page.click("#channel-WX_NATIVE")
    payer.page.wait_for_selector("#qr svg")
    payer.assert_clean()
    _shot(payer, screenshot_dir, "desktop-zh-wechat-qr")

    code_url = payer.page.get_attribute("#qr", "data-qr-content")
    assert code_url
    assert code_url.startswith(stack.info.beecloud_url)
    assert httpx.get(code_url).status_code == 200  # the payer's phone "scans" it: the sandbox pays

    payer.page.wait_for_url(re.compile(r".*signature=.*"), timeout=30_000)
    _returned(shop, payer.page.url, session)
    payer.assert_clean()

    payer.goto(session["url"])  # back to the page: paid, nothing more to pay
    assert payer.page.locator("#result h2").inner_text() == "支付成功"
    assert payer.page.locator("[id^=channel-]").count() == 0
    _shot(payer, screenshot_dir, "desktop-zh-paid")


def test_an_expired_or_unknown_session_says_so(stack, shop, page: PageFactory, screenshot_dir):
    payer = page("phone", "zh-CN")

    payer.goto(f"{stack.info.api_url}/pay/{'A' * 43}")

    assert payer.page.locator("#result h1").inner_text() == "找不到这笔支付"
    assert payer.csp_violations == []  # its 404 status is logged by the browser; nothing else went wrong
    assert payer.page_errors == []
    _shot(payer, screenshot_dir, "phone-zh-not-found")


@pytest.mark.parametrize(
    ("channel", "locale", "button"),
    [
        ("ALI_WEB", "en-US", "Continue to Alipay"),
        ("UN_WEB", "zh-CN", "前往银联付款"),
        ("ALI_QRCODE", "zh-CN", "前往支付宝付款"),
    ],
)
def test_desktop_web_cashier_paid_at_the_provider_returns_to_the_merchant(
    stack, shop, page: PageFactory, screenshot_dir, channel, locale, button
):
    session = _session(stack, shop, ["WX_NATIVE", "ALI_QRCODE", "ALI_WEB", "UN_WEB", "ALI_WAP"])
    payer = page("desktop", locale)

    payer.goto(session["url"])
    offered = payer.page.locator("[id^=channel-]").evaluate_all("buttons => buttons.map(b => b.id)")
    assert offered == ["channel-WX_NATIVE", "channel-ALI_QRCODE", "channel-ALI_WEB", "channel-UN_WEB"]  # not ALI_WAP
    payer.page.click(f"#channel-{channel}")
    submit = payer.page.wait_for_selector("#provider-submit")
    assert submit.inner_text() == button
    payer.assert_clean()
    _shot(payer, screenshot_dir, f"desktop-{locale[:2]}-{channel.lower().replace('_', '-')}")
    submit.click()  # to the provider's cashier (the sandbox's): paying there sends the payer back by itself

    payer.page.wait_for_url(re.compile(r".*signature=.*"), timeout=30_000)
    _returned(shop, payer.page.url, session)
    assert not payer.blocked_requests


def test_phone_alipay_mobile_cashier_paid_returns_to_the_merchant(stack, shop, page: PageFactory, screenshot_dir):
    session = _session(stack, shop, ["WX_NATIVE", "ALI_WEB", "ALI_WAP"])
    payer = page("phone", "zh-CN")

    payer.goto(session["url"])
    assert payer.page.locator("[id^=channel-]").evaluate_all("buttons => buttons.map(b => b.id)") == ["channel-ALI_WAP"]
    assert payer.page.locator("#amount").inner_text().replace("\n", "") == "¥12.34"
    payer.assert_clean()
    _shot(payer, screenshot_dir, "phone-zh-choose")
    payer.page.click("#channel-ALI_WAP")
    link = payer.page.wait_for_selector("#provider-link")
    assert link.inner_text() == "前往支付宝付款"
    _shot(payer, screenshot_dir, "phone-zh-alipay")
    link.click()

    payer.page.wait_for_url(re.compile(r".*signature=.*"), timeout=30_000)
    _returned(shop, payer.page.url, session)

    payer.goto(session["url"])
    assert payer.page.locator("#result h2").inner_text() == "支付成功"
    assert payer.page.locator("[id^=channel-]").count() == 0
    payer.assert_clean()
    _shot(payer, screenshot_dir, "phone-zh-paid")
