"""POST /collections against moto and the BeilyPay sandbox."""

from __future__ import annotations

import httpx

from bench.samples import collection_body
from tests.support.functions import api_event, body_of, invoke


def _post(merchant, body, headers=None):
    return invoke(
        "collect",
        api_event("POST", "/collections", body=body, headers={"Authorization": merchant.auth, **(headers or {})}),
    )


def test_a_collection_returns_the_pay_url_and_starts_its_poller(beilypay, aws):
    result = _post(beilypay, collection_body())

    assert result["statusCode"] == 201, result["body"]
    collection = body_of(result)
    assert (collection["object"], collection["status"], collection["paid"]) == ("collection", "pending", None)
    at_beilypay = beilypay.sandbox_order("CO-0001")
    assert collection["provider_order_no"] == at_beilypay["orderNo"]
    assert collection["pay_url"].endswith(f"/pay/{at_beilypay['orderNo']}")
    assert at_beilypay["details"]["frontCallback"] == "https://shop.example.in/thanks"
    assert [e["name"] for e in beilypay.executions()] == [f"collection-{beilypay.app_id}-CO-0001"]


def test_an_identical_repeat_returns_the_same_pay_url(beilypay, aws):
    first = body_of(_post(beilypay, collection_body()))
    repeat = _post(beilypay, collection_body())

    assert repeat["statusCode"] == 200
    assert body_of(repeat)["pay_url"] == first["pay_url"]
    orders = httpx.get(f"{beilypay.sandbox_url}/_sandbox/orders", params={"app_id": str(beilypay.beilypay_app_id)})
    assert len(orders.json()["orders"]) == 1


def test_another_body_under_the_same_out_order_no_is_a_conflict(beilypay, aws):
    _post(beilypay, collection_body())
    result = _post(beilypay, collection_body(amount=1))
    assert (result["statusCode"], body_of(result)["error"]["code"]) == (409, "out_order_no_conflict")


INVALID = [
    ("return_url", "ftp://shop.example.in"),
    ("return_url", "not a url"),
    ("mobile", "98765"),
    ("email", "ravi"),
    ("user_id", " "),
    ("user_name", ""),
    ("amount", 0),
]


def test_invalid_collections_are_refused(beilypay, aws):
    for field, value in INVALID:
        result = _post(beilypay, collection_body(**{field: value}))
        assert result["statusCode"] == 422, (field, value)
    assert beilypay.sandbox_order("CO-0001") is None


def test_a_lost_create_answer_makes_the_collection_unknown(beilypay, aws, beilypay_faults):
    httpx.post(
        f"{beilypay_faults}/_sandbox/faults",
        json={"scope": "request", "kind": "error", "status": 500, "path": "/v2/payment/create"},
    )

    result = _post(beilypay, collection_body())

    assert (result["statusCode"], body_of(result)["status"], body_of(result)["pay_url"]) == (202, "unknown", None)
    assert [e["detail-type"] for e in aws.published_events()] == ["collection.unknown"]


def test_idempotency_key_replays_the_first_answer(beilypay, aws):
    first = _post(beilypay, collection_body(), {"Idempotency-Key": "c-1"})
    replay = _post(beilypay, collection_body(), {"Idempotency-Key": "c-1"})
    assert body_of(first) == body_of(replay)
