"""Hosted checkout under races: two tabs, two channels, both paid; a channel chosen twenty times at once.

Invariants: one session completes with exactly one bill; every other paid bill of it is reported
(checkout.session.extra_payment), never silently kept; a channel's bill is created at BeeCloud
once however often it is chosen; each event has one id however often it is delivered.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from typing import Any

import httpx

from tests.reliability.support import FIGURES, Gateway, Merchant, distinct_event_ids, eventually


def _session(shop: Merchant, channels: list[str]) -> dict[str, Any]:
    body = {"total_fee": 888, "title": "双标签页", "channels": channels, "return_url": "https://shop.example/back"}
    created = shop.http.post("/checkout/sessions", json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def _choose(gateway: Gateway, session: dict[str, Any], channel: str) -> str:
    """One tab picks a channel and reads what it must open to pay (the QR's link or the form's action)."""
    tab = httpx.Client(base_url=gateway.info.api_url, timeout=30, follow_redirects=True)
    with tab:
        page = tab.post(f"{session['url']}/channels/{channel}", headers={"Origin": gateway.info.api_url})
    FIGURES.add("requests_sent")
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'data-qr-content="([^"]+)"', page.text) or re.search(
        r'<form id="provider-form"[^>]*action="([^"]+)"', page.text
    )
    assert found, page.text[:500]
    return unescape(found.group(1))


def test_two_tabs_two_channels_both_paid_one_completes_the_other_is_reported(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("checkout-two-tabs")
    session = _session(shop, ["WX_NATIVE", "ALI_WEB"])

    with ThreadPoolExecutor(max_workers=2) as tabs:
        pay_links = list(tabs.map(lambda channel: _choose(gateway, session, channel), ["WX_NATIVE", "ALI_WEB"]))
    with ThreadPoolExecutor(max_workers=2) as payers:  # both pay at once, at the provider
        list(payers.map(lambda link: httpx.get(link, timeout=30), pay_links))

    bills = eventually(
        lambda: (
            (found := shop.http.get("/bills").json()["data"])
            and len(found) == 2
            and all(b["status"] == "succeeded" for b in found)
            and found
        )
    )
    done = eventually(
        lambda: (s := shop.http.get(f"/checkout/sessions/{session['id']}").json())["status"] == "complete" and s
    )
    paid = {b["bill_no"] for b in bills}
    assert done["bill_no"] in paid
    (other,) = paid - {done["bill_no"]}
    reported = eventually(lambda: gateway.events("checkout.session.extra_payment", shop.app_id) or None)
    if {e["detail"]["data"]["bill"]["bill_no"] for e in reported} != {other}:
        FIGURES.violation("lost", f"second payment {other} of {session['id']} not reported")
    completed = gateway.events("checkout.session.completed", shop.app_id)
    assert len(distinct_event_ids(completed)) == 1
    assert len(distinct_event_ids(reported)) == 1
    FIGURES.add("orders_checked", 2)
    FIGURES.assert_clean(start)


def test_a_channel_chosen_twenty_times_at_once_is_one_bill_at_beecloud(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("checkout-one-bill")
    session = _session(shop, ["WX_NATIVE"])
    calls = gateway.provider_calls("beecloud", "/1/rest/bill$")

    with ThreadPoolExecutor(max_workers=20) as tabs:
        links = set(tabs.map(lambda _: _choose(gateway, session, "WX_NATIVE"), range(20)))

    assert len(links) == 1  # every tab shows the same QR code
    assert calls.count() == 1
    listed = shop.http.get("/bills").json()["data"]
    if len(listed) != 1:
        FIGURES.violation("doubled", f"{len(listed)} bills for one channel of {session['id']}")
    FIGURES.add("orders_checked")
    FIGURES.assert_clean(start)
