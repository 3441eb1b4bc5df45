"""The typed client drives the README walk-through on the local stack; Swagger UI and its spec answer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from paygate_client import (
    AsyncPaygateClient,
    AuthenticationError,
    BillStatus,
    ConflictError,
    InvalidRequestError,
    PaygateClient,
    RefundStatus,
)
from tests.support.clock import refund_no
from tests.support.polling import eventually


@pytest.fixture
def paygate(gateway):
    app = gateway.stack.create_app("client-shop")
    with PaygateClient(app["api_key"], gateway.info.api_url) as client:
        client.app = app
        yield client


def test_the_client_drives_the_readme_walk_through(gateway, paygate):
    # 1. A WeChat QR-code bill for ¥1.00.
    bill = paygate.create_bill("DEMO00000001", "WX_NATIVE", 100, "白开水")
    assert (bill.status, bill.total_fee, bill.currency) == (BillStatus.PENDING, 100, "CNY")
    code_url = bill.payment["code_url"]

    # 2. "Scan" it: the sandbox pays and sends BeeCloud's signed webhook to paygate.
    assert httpx.get(code_url).status_code == 200

    # 3. Paid, and bill.succeeded published.
    paid = eventually(lambda: (b := paygate.get_bill("DEMO00000001")).status is BillStatus.SUCCEEDED and b)
    assert paid.paid_at is not None
    assert eventually(lambda: gateway.events("bill.succeeded", paygate.app["app_id"]))

    # 4. Refund ¥0.40; settled by BeeCloud's webhook or by asking BeeCloud now.
    number = refund_no("001")
    refund = paygate.create_refund(number, "DEMO00000001", 40)
    # Pending, unless BeeCloud's webhook (after 0.1 s here) settled it before the answer was written.
    assert refund.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
    assert refund.refund_fee == 40
    settled = eventually(
        lambda: (r := paygate.refresh_refund(number)).status is RefundStatus.SUCCEEDED and r, timeout=20
    )
    assert settled.refund_fee == 40
    assert paygate.get_bill("DEMO00000001").refunded_fee == 40
    assert [r.refund_no for r in paygate.list_refunds(bill_no="DEMO00000001").data] == [number]
    assert eventually(lambda: gateway.events("refund.succeeded", paygate.app["app_id"]))


def test_the_error_paths_raise_typed_errors_with_the_api_code(gateway, paygate):
    paygate.create_bill("DEMOERR00001", "WX_NATIVE", 100, "白开水")

    with pytest.raises(ConflictError) as conflict:
        paygate.create_bill("DEMOERR00001", "WX_NATIVE", 200, "白开水")
    assert conflict.value.code == "bill_no_conflict"
    assert conflict.value.request_id
    with pytest.raises(InvalidRequestError) as invalid:
        paygate.create_bill("DEMOERR00002", "ALI_WEB", 100, "tea")  # ALI_WEB needs a return_url
    assert invalid.value.code == "invalid_request"
    with PaygateClient("pgk.app_nobody.nothing", gateway.info.api_url) as stranger, pytest.raises(AuthenticationError):
        stranger.get_bill("DEMOERR00001")


def test_the_async_client_reads_the_same_bill(gateway, paygate):
    paygate.create_bill("DEMOASYNC001", "UN_APP", 800, "tea", idempotency_key="async-demo-1")

    async def read():
        async with AsyncPaygateClient(paygate.app["api_key"], gateway.info.api_url) as client:
            again = await client.create_bill("DEMOASYNC001", "UN_APP", 800, "tea", idempotency_key="async-demo-1")
            listed = [b.bill_no async for b in client.iter_bills(limit=1)]
            return again, listed

    again, listed = asyncio.run(read())
    assert again.bill_no == "DEMOASYNC001"
    assert listed == ["DEMOASYNC001"]


def test_swagger_ui_and_the_openapi_document_are_served(gateway):
    page = httpx.get(gateway.info.swagger_url, timeout=10)
    spec = httpx.get(f"{gateway.info.api_url}/_local/openapi.json", timeout=10)

    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert spec.status_code == 200
    document = spec.json()
    assert {"/bills", "/refunds", "/bills/{bill_no}"} <= set(document["paths"])
    assert document["servers"][0]["url"] == gateway.info.api_url
    assert httpx.get(f"{gateway.info.api_url}/_local/swagger-ui.js", timeout=10).status_code == 200
