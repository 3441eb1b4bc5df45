"""What an SDK sees on the wire: absolute-form request targets, and no header naming the emulator's stack.

BeilyPay's Python SDK writes its request line in absolute form (``POST http://host:port/v2/trans/create
HTTP/1.1``), which RFC 9112 section 3.2.2 says a server must accept. httpx always sends origin form,
so these tests write the request line themselves over a raw socket.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.beilypay.beilypay_support import (
    APP_ID,
    MERCHANT_ID,
    Sandbox,
    collection_request,
    payout_request,
    signed,
)
from tests.support.raw_http import RawResponse, answers_in_both_forms, raw_request

JSON = {"Content-Type": "application/json"}
STACK_NAMES = (b"uvicorn", b"starlette", b"python", b"httpx")


def both_forms(sandbox: Sandbox, path: str, params: dict[str, Any]) -> tuple[RawResponse, RawResponse]:
    """The same signed request in origin form and in absolute form; each answer minus its Date."""
    body = json.dumps(signed(params)).encode()
    absolute, origin = answers_in_both_forms(
        lambda absolute: raw_request(sandbox.server.url, "POST", path, body=body, headers=JSON, absolute=absolute)
    )
    return origin, absolute


def ids(order_no: str) -> dict[str, Any]:
    return {"appId": APP_ID, "merchantId": MERCHANT_ID, "orderNo": order_no}


def test_account_info_answers_alike_in_both_forms(sandbox: Sandbox) -> None:
    for path in ("/merchant/accountInfo", "/v2/merchant/accountInfo"):
        origin, absolute = both_forms(sandbox, path, {"appId": APP_ID, "merchantId": MERCHANT_ID})

        assert absolute == origin
        assert json.loads(absolute.body)["code"] == 200


def test_trans_create_in_absolute_form_creates_the_payout(sandbox: Sandbox) -> None:
    body = json.dumps(signed(payout_request("abs-po-1", sandbox.notify_url, account="12349999"))).encode()

    created = raw_request(sandbox.server.url, "POST", "/v2/trans/create", body=body, headers=JSON, absolute=True)

    assert created.status == 200
    data = json.loads(created.body)["data"]
    assert (data["outOrderNo"], data["status"]) == ("abs-po-1", 1)
    assert sandbox.order_state(data["orderNo"])["outOrderNo"] == "abs-po-1"
    # A second create of the same order is refused the same way in either form.
    origin, absolute = both_forms(
        sandbox, "/v2/trans/create", payout_request("abs-po-1", sandbox.notify_url, account="12349999")
    )
    assert absolute == origin
    assert json.loads(absolute.body)["msg"] == "param error: outOrderNo duplicate"
    # The pending payout (an account ending 9999 stays pending) queries alike.
    origin, absolute = both_forms(sandbox, "/v2/trans/query", ids(data["orderNo"]))
    assert absolute == origin
    assert json.loads(absolute.body)["data"]["orderNo"] == data["orderNo"]


def test_payment_query_of_a_pending_collection_answers_alike(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("abs-co-1")["data"]["orderNo"]

    origin, absolute = both_forms(sandbox, "/v2/payment/query", ids(order_no))

    assert absolute == origin
    data = json.loads(absolute.body)["data"]
    assert (data["orderNo"], data["paid"], data["transTime"]) == (order_no, None, None)


@pytest.mark.parametrize(
    "path",
    ["/v2/payment/query", "/v2/trans/query", "/v2/payment/create", "/v2/trans/create"],
)
def test_errors_answer_alike_in_both_forms(sandbox: Sandbox, path: str) -> None:
    origin, absolute = both_forms(sandbox, path, {**ids("999999999999999999"), "appId": 1})

    assert absolute == origin
    assert json.loads(absolute.body)["code"] == 10002


def test_payment_create_in_absolute_form_builds_pay_url_from_the_target_host(sandbox: Sandbox) -> None:
    # RFC 9112 3.2.2: the target's authority wins over a Host header that says something else.
    body = json.dumps(signed(collection_request("abs-co-2", sandbox.notify_url))).encode()

    created = raw_request(
        sandbox.server.url,
        "POST",
        "/v2/payment/create",
        body=body,
        headers={**JSON, "Host": "elsewhere.invalid"},
        absolute=True,
    )

    data = json.loads(created.body)["data"]
    assert data["payUrl"] == f"{sandbox.server.url}/pay/{data['orderNo']}"


def test_the_pay_page_answers_alike_in_both_forms(sandbox: Sandbox) -> None:
    url = sandbox.server.url
    origin = raw_request(url, "GET", "/pay/000000000000000000").without("date")
    absolute = raw_request(url, "GET", "/pay/000000000000000000", absolute=True).without("date")

    assert absolute == origin
    assert absolute.status == 404


def test_no_answer_or_notify_header_names_the_emulators_stack(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("hdr-co-1")["data"]["orderNo"]
    answers = [
        raw_request(sandbox.server.url, "POST", "/v2/payment/query", body=json.dumps(signed(ids(order_no))).encode()),
        raw_request(sandbox.server.url, "GET", f"/pay/{order_no}"),  # pays it: the notify goes out
        raw_request(sandbox.server.url, "GET", "/nowhere"),
        raw_request(sandbox.server.url, "GET", "/_sandbox/health"),
    ]
    notify = sandbox.receiver.wait_for(1)[0]

    for answer in answers:
        for name, value in answer.headers:
            assert not any(word in (name + b": " + value).lower() for word in STACK_NAMES), (name, value)
    assert "user-agent" not in dict(notify.headers)
    for name, value in notify.headers:
        assert not any(word.decode() in f"{name}: {value}".lower() for word in STACK_NAMES), (name, value)
