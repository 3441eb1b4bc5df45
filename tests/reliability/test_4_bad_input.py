"""Bad input: schemathesis against the committed docs/openapi.json, then hand-picked hostile bodies.

Invariants: no 5xx for anything a client sends; every answer matches the spec (status, content
type, body schema); oversized bodies, wrong content types, unicode edge cases, amounts at and
beyond integer limits, zero/negative/float fees get a 4xx in the error shape and write nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability.support import FIGURES, Gateway, Merchant, assert_error_shape, bill_body, eventually, today

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
EXAMPLES = 50  # per operation and mode (plus schemathesis' coverage cases): a few thousand in all
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_path(SPEC)


@pytest.fixture(scope="module")
def fuzzed(gateway: Gateway) -> Merchant:
    """A tenant for the fuzzer, with one paid bill so refund paths are reachable."""
    shop = gateway.merchant("fuzz")
    shop.http.post("/bills", json=bill_body("FUZZPAID0001", channel="UN_APP", total_fee=10_000))
    gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/FUZZPAID0001/pay")
    eventually(lambda: shop.http.get("/bills/FUZZPAID0001").json()["status"] == "succeeded")
    return shop


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)
def test_the_api_matches_its_openapi_document_for_generated_requests(case: Any, gateway: Gateway, fuzzed: Merchant):
    headers = {"Authorization": f"Bearer {fuzzed.api_key}"}
    if case.headers and "Authorization" in case.headers:
        headers = {}
    FIGURES.add("requests_sent")
    FIGURES.add("bad_inputs_tried")
    case.call_and_validate(base_url=gateway.info.api_url, headers=headers, checks=CHECKS, timeout=35)


# ----------------------------------------------------------------------------- hand-picked


def _post(gateway: Gateway, shop: Merchant, path: str, content: bytes, content_type: str | None) -> Any:
    headers = {"Authorization": f"Bearer {shop.api_key}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    FIGURES.add("bad_inputs_tried")
    return gateway.anonymous.post(f"{gateway.info.api_url}{path}", content=content, headers=headers)


BIG = json.dumps(bill_body("BIGBODY00001", optional={"x": "y" * 70_000})).encode()


@pytest.mark.parametrize(
    ("content", "content_type", "statuses"),
    [
        pytest.param(BIG, "application/json", {413}, id="65-KiB-plus"),
        pytest.param(b"{" * 11 * 1024 * 1024, "application/json", {413}, id="11-MB"),
        pytest.param(json.dumps(bill_body("CTYPE0000001")).encode(), "text/plain", {415}, id="text-plain"),
        pytest.param(b"bill_no=CTYPE0000002&total_fee=1", "application/x-www-form-urlencoded", {415}, id="form"),
        pytest.param(b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x", {415}, id="multipart"),
        pytest.param(json.dumps(bill_body("CTYPE0000003")).encode(), None, {415}, id="no-content-type"),
        pytest.param(b"\xff\xfe\x00{", "application/json", {400, 422}, id="not-utf8"),
        pytest.param(b'{"bill_no": ', "application/json", {400}, id="truncated"),
        pytest.param(b"[" * 5000 + b"]" * 5000, "application/json", {400, 422}, id="deeply-nested"),
        pytest.param(b'{"bill_no":"X","bill_no":"Y"}', "application/json", {422}, id="duplicate-keys"),
        pytest.param(b"null", "application/json", {400, 422}, id="null"),
        pytest.param(b'"a string"', "application/json", {400, 422}, id="string"),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(gateway: Gateway, fuzzed: Merchant, content, content_type, statuses):
    response = _post(gateway, fuzzed, "/bills", content, content_type)
    if response.status_code == 413 and not response.text.startswith('{"error"'):
        assert 413 in statuses  # API Gateway's own limit (10 MB) answers before the function
        return
    assert_error_shape(response, *statuses)


TITLES_OK = ["白开水", "a" * 32, "汉" * 16, "Café au lait", "ＡＢＣ全角"]
TITLES_BAD = [
    "",
    "a" * 33,
    "汉" * 17,
    "😀 emoji",
    "RTL \u202e override",
    "zero\u200bwidth",
    "nul\x00byte",
    "tab\tchar",
    "\ud800 lone surrogate",
    "𠀀 ext-B",
    "e\u0301 combining",
]


@pytest.mark.parametrize("title", TITLES_OK)
def test_unicode_titles_beecloud_accepts_create_a_bill(gateway: Gateway, fuzzed: Merchant, title: str):
    bill_no = f"UNIOK{TITLES_OK.index(title):07d}"
    FIGURES.add("bad_inputs_tried")
    response = fuzzed.http.post("/bills", json={**bill_body(bill_no), "title": title})
    assert response.status_code == 201, response.text
    assert response.json()["title"] == title


@pytest.mark.parametrize("title", TITLES_BAD, ids=range(len(TITLES_BAD)))
def test_unicode_titles_beecloud_would_refuse_are_422_and_write_nothing(gateway: Gateway, fuzzed: Merchant, title):
    bill_no = f"UNIBAD{TITLES_BAD.index(title):06d}"
    FIGURES.add("bad_inputs_tried")
    content = json.dumps({**bill_body(bill_no), "title": title}, ensure_ascii=True).encode()
    response = _post(gateway, fuzzed, "/bills", content, "application/json")
    assert_error_shape(response, 422)
    assert fuzzed.http.get(f"/bills/{bill_no}").status_code == 404


AMOUNTS_BAD: list[Any] = [0, -1, -(2**31), 2**31, 2**63, 2**64, 10**30, 1.0, 1.5, -0.0, 1e308, "100", True, None, [1]]


@pytest.mark.parametrize("amount", AMOUNTS_BAD, ids=[repr(a)[:20] for a in AMOUNTS_BAD])
def test_amounts_outside_int32_or_not_integers_are_422_everywhere(gateway: Gateway, fuzzed: Merchant, amount):
    n = AMOUNTS_BAD.index(amount)
    refund_no = f"{today()}AMT{n:03d}"
    bills = fuzzed.http.post("/bills", json={**bill_body(f"AMTBAD{n:06d}"), "total_fee": amount})
    refunds = fuzzed.http.post(
        "/refunds", json={"refund_no": refund_no, "bill_no": "FUZZPAID0001", "refund_fee": amount}
    )
    payouts = fuzzed.http.post(
        "/payouts",
        json={
            "out_order_no": f"AMTBAD-{n}",
            "amount": amount,
            "account_type": "Card",
            "account": "123456789",
            "account_owner": "A",
            "bank_code": "SBIN",
            "ifsc": "SBIN0001234",
            "address": "x",
            "email": "a@example.in",
            "mobile": "9876543210",
        },
    )
    FIGURES.add("bad_inputs_tried", 3)
    for response in (bills, refunds, payouts):
        assert_error_shape(response, 422)
    assert fuzzed.http.get(f"/bills/AMTBAD{n:06d}").status_code == 404
    assert fuzzed.http.get(f"/refunds/{refund_no}").status_code == 404
    assert fuzzed.http.get("/bills/FUZZPAID0001").json()["refunded_fee"] == 0


def test_amounts_at_the_int32_limit_are_accepted(gateway: Gateway, fuzzed: Merchant):
    FIGURES.add("bad_inputs_tried", 2)
    low = fuzzed.http.post("/bills", json=bill_body("AMTLIMIT0001", total_fee=1))
    high = fuzzed.http.post("/bills", json=bill_body("AMTLIMIT0002", total_fee=2**31 - 1))
    assert (low.status_code, high.status_code) == (201, 201), (low.text, high.text)
    assert high.json()["total_fee"] == 2_147_483_647
