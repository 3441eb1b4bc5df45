"""What an SDK sees on the wire: absolute-form request targets, and no header naming the emulator's stack.

RFC 9112 section 3.2.2: a server must accept ``POST http://host:port/1/rest/bill HTTP/1.1`` as it
accepts ``POST /1/rest/bill HTTP/1.1``. httpx always sends origin form, so these tests write the
request line themselves over a raw socket.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from tests.sandbox.beecloud.beecloud_support import Sandbox
from tests.support.raw_http import RawResponse, raw_request

JSON = {"Content-Type": "application/json"}
STACK_NAMES = ("uvicorn", "starlette", "python", "httpx")


def absolute_then_origin(
    sandbox: Sandbox, method: str, path: str, body: bytes = b""
) -> tuple[RawResponse, RawResponse]:
    """Absolute form first (so it alone must have done any work), then origin form; Date dropped."""
    headers = JSON if body else {}
    absolute = raw_request(sandbox.url, method, path, body=body, headers=headers, absolute=True)
    origin = raw_request(sandbox.url, method, path, body=body, headers=headers)
    return absolute.without("date"), origin.without("date")


def bill_body(sandbox: Sandbox, bill_no: str, **fields: object) -> bytes:
    return json.dumps(
        {**sandbox.auth(), "channel": "WX_NATIVE", "total_fee": 100, "bill_no": bill_no, "title": "tea", **fields}
    ).encode()


def para(sandbox: Sandbox, **fields: object) -> str:
    return quote(json.dumps({**sandbox.auth(), **fields}, separators=(",", ":")))


def test_bill_create_in_absolute_form_creates_the_bill(sandbox: Sandbox) -> None:
    absolute, origin = absolute_then_origin(sandbox, "POST", "/1/rest/bill", bill_body(sandbox, "abs0001"))

    assert absolute == origin  # the origin-form repeat finds the bill the absolute form created
    assert json.loads(absolute.body)["result_code"] == 0
    assert sandbox.control_bill("abs0001")["bill_no"] == "abs0001"


def test_bill_query_answers_alike_in_both_forms(sandbox: Sandbox) -> None:
    sandbox.bill(bill_no="abs0002")

    absolute, origin = absolute_then_origin(sandbox, "GET", f"/1/rest/bills?para={para(sandbox, bill_no='abs0002')}")

    assert absolute == origin
    bills = json.loads(absolute.body)["bills"]
    assert [bill["bill_no"] for bill in bills] == ["abs0002"]


def test_errors_and_pages_answer_alike_in_both_forms(sandbox: Sandbox) -> None:
    cases = [
        ("POST", "/1/rest/bill", bill_body(sandbox, "abs0003", total_fee=-1)),
        ("GET", "/1/rest/bills?para=%7B", b""),
        ("GET", f"/1/rest/refunds?para={para(sandbox, bill_no='none')}", b""),
        ("GET", "/pay/nobody/nothing", b""),
        ("GET", "/nowhere", b""),
    ]
    for method, path, body in cases:
        absolute, origin = absolute_then_origin(sandbox, method, path, body)

        assert absolute == origin, path


def test_no_answer_or_webhook_header_names_the_emulators_stack(sandbox: Sandbox) -> None:
    answers = [
        raw_request(sandbox.url, "POST", "/1/rest/bill", body=bill_body(sandbox, "hdr0001"), headers=JSON),
        raw_request(sandbox.url, "GET", f"/1/rest/bills?para={para(sandbox, bill_no='hdr0001')}"),
        raw_request(sandbox.url, "GET", "/nowhere"),
    ]
    assert sandbox.client.post(f"/_sandbox/bills/{sandbox.app_id}/hdr0001/pay").status_code == 200
    sandbox.webhooks(1)
    webhook = sandbox.received_here()[-1]

    for answer in answers:
        for name, value in answer.headers:
            line = (name + b": " + value).decode().lower()
            assert not any(word in line for word in STACK_NAMES), line
    assert "user-agent" not in dict(webhook.headers)
    for name, value in webhook.headers:
        assert not any(word in f"{name}: {value}".lower() for word in STACK_NAMES), (name, value)
