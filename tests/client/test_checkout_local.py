"""Hosted checkout with the client on the local stack: create, pay in the sandbox, read it complete,
and verify the signed return the real page sends the payer to."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from paygate_client import (
    AsyncPaygateClient,
    CheckoutSessionStatus,
    InvalidCheckoutReturn,
    InvalidRequestError,
    PaygateClient,
    verify_checkout_return,
)
from paygate_local.stack import LocalStack, StackConfig
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LocalStack, str]]:
    local = LocalStack(StackConfig.on_free_ports(time_scale=0.01, demo_app=False))
    info = local.start()
    try:
        yield local, info.api_url
    finally:
        local.stop()


@pytest.fixture
def shop(stack):
    local, api_url = stack
    app = local.create_app("client-checkout-shop")
    with PaygateClient(app["api_key"], api_url) as client:
        client.app = app
        yield client


def _pay_with_wechat(api_url: str, page_url: str) -> None:
    """The payer picks WeChat Pay on the page and "scans" its QR code in the sandbox."""
    with httpx.Client(timeout=30, follow_redirects=True) as browser:
        page = browser.post(f"{page_url}/channels/WX_NATIVE", headers={"Origin": api_url})
        assert page.status_code == 200, page.text[:300]
        found = re.search(r'data-qr-content="([^"]+)"', page.text)
        assert found, page.text[:500]
        assert browser.get(unescape(found.group(1))).status_code == 200


def test_a_session_is_paid_and_its_signed_return_verifies(stack, shop):
    _, api_url = stack
    session = shop.create_checkout_session(
        888, "白开水", ["WX_NATIVE", "ALI_WEB"], "https://shop.example/paid?order=42", metadata={"order": 42}
    )
    assert (session.status, session.total_fee, session.currency) == (CheckoutSessionStatus.OPEN, 888, "CNY")
    assert session.url
    assert session.metadata == {"order": 42}
    assert shop.get_checkout_session(session.id).id == session.id

    _pay_with_wechat(api_url, session.url)
    done = eventually(
        lambda: (s := shop.get_checkout_session(session.id)).status is CheckoutSessionStatus.COMPLETE and s
    )
    assert done.bill_no
    assert done.completed_at
    assert done.url is None

    state = httpx.get(f"{session.url}/status", timeout=10).json()  # what the page sends the payer to
    assert state["status"] == "complete"
    back = urlsplit(state["return_to"])
    assert (back.netloc, back.path, parse_qs(back.query)["order"]) == ("shop.example", "/paid", ["42"])
    secret = shop.app["checkout_secret"]
    assert verify_checkout_return(back.query, secret) == session.id
    with pytest.raises(InvalidCheckoutReturn, match="signature"):
        verify_checkout_return(back.query, secret + "x")


def test_an_identical_repeat_with_one_key_is_the_same_session_sync_and_async(stack, shop):
    _, api_url = stack
    first = shop.create_checkout_session(
        100, "tea", ["ALI_QRCODE"], "https://shop.example/paid", expires_in=600, idempotency_key="cart-7"
    )

    async def again():
        async with AsyncPaygateClient(shop.app["api_key"], api_url) as client:
            return await client.create_checkout_session(
                100, "tea", ["ALI_QRCODE"], "https://shop.example/paid", expires_in=600, idempotency_key="cart-7"
            )

    assert asyncio.run(again()).id == first.id
    assert shop.create_checkout_session(100, "tea", ["ALI_QRCODE"], "https://shop.example/paid").id != first.id
    with pytest.raises(InvalidRequestError):
        shop.create_checkout_session(100, "tea", ["WX_NATIVE"], "not a url")  # a rule only the server checks
