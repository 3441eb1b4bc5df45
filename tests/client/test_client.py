"""The client offline (httpx.MockTransport): retries reuse one Idempotency-Key, errors carry the API code."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from paygate_client import (
    AsyncPaygateClient,
    Bill,
    ConflictError,
    ConnectionFailedError,
    InvalidRequestError,
    NotFoundError,
    PaygateClient,
    ProviderTimeoutError,
    RetryPolicy,
)

BILL = {
    "object": "bill",
    "bill_no": "CLIENT000001",
    "channel": "WX_NATIVE",
    "total_fee": 100,
    "currency": "CNY",
    "title": "tea",
    "status": "pending",
    "payment": {"code_url": "http://pay"},
    "refunded_fee": 0,
    "created_at": "2026-11-25T09:00:00.000Z",
    "updated_at": "2026-11-25T09:00:00.000Z",
    "a_field_from_a_newer_server": True,
}
NO_WAIT = RetryPolicy(max_retries=3, backoff_s=0.0, max_backoff_s=0.0)


def _error(status, code, message="nope"):
    return httpx.Response(status, json={"error": {"code": code, "message": message, "request_id": "req-1"}})


class Script:
    """Answers in order; records every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _client(script, retry=NO_WAIT):
    return PaygateClient(
        "pgk.app_x.secret", "http://paygate.test/dev/", retry=retry, transport=httpx.MockTransport(script)
    )


def test_a_create_is_retried_after_5xx_timeouts_and_429_with_one_idempotency_key():
    script = Script(
        _error(502, "provider_unavailable"),
        httpx.ReadTimeout("slow"),
        _error(429, "provider_rate_limited"),
        _error(409, "request_in_progress"),
        httpx.Response(201, json=BILL),
    )
    with _client(script, RetryPolicy(max_retries=4, backoff_s=0.0, max_backoff_s=0.0)) as paygate:
        bill = paygate.create_bill("CLIENT000001", "WX_NATIVE", 100, "tea")

    assert isinstance(bill, Bill)
    assert bill.payment == {"code_url": "http://pay"}
    keys = {r.headers["Idempotency-Key"] for r in script.requests}
    assert len(script.requests) == 5
    assert len(keys) == 1
    assert all(r.url.path == "/dev/bills" for r in script.requests)
    assert json.loads(script.requests[0].content) == {
        "bill_no": "CLIENT000001",
        "channel": "WX_NATIVE",
        "total_fee": 100,
        "title": "tea",
    }
    assert script.requests[0].headers["Authorization"] == "Bearer pgk.app_x.secret"


def test_an_ali_wap_bill_sends_use_app_as_a_json_boolean():
    wap = {**BILL, "channel": "ALI_WAP", "payment": {"html": "<form/>", "url": "u"}}
    script = Script(httpx.Response(201, json=wap))
    with _client(script) as paygate:
        bill = paygate.create_bill("CLIENT000001", "ALI_WAP", 100, "tea", use_app=True)
    assert bill.channel == "ALI_WAP"
    assert json.loads(script.requests[0].content)["use_app"] is True
    with _client(Script()) as paygate, pytest.raises(ValueError, match="use_app"):
        paygate.create_bill("CLIENT000001", "ALI_WAP", 100, "tea", use_app="yes")  # type: ignore[arg-type]


def test_two_logical_creates_get_two_keys_and_a_given_key_is_used_as_is():
    script = Script(httpx.Response(201, json=BILL), httpx.Response(200, json=BILL), httpx.Response(200, json=BILL))
    with _client(script) as paygate:
        paygate.create_bill("CLIENT000001", "WX_NATIVE", 100, "tea")
        paygate.create_bill("CLIENT000001", "WX_NATIVE", 100, "tea")
        paygate.create_bill("CLIENT000001", "WX_NATIVE", 100, "tea", idempotency_key="order-17")
    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "order-17"


def test_retries_stop_at_the_limit_and_raise_the_typed_error_with_its_code():
    script = Script(*[_error(504, "provider_timeout", "BeeCloud did not answer")] * 4)
    with _client(script) as paygate, pytest.raises(ProviderTimeoutError) as raised:
        paygate.create_refund("20261125001", "CLIENT000001", 40)
    error = raised.value
    assert (error.status, error.code, error.request_id) == (504, "provider_timeout", "req-1")
    assert error.idempotency_key == script.requests[0].headers["Idempotency-Key"]
    assert len(script.requests) == 4


def test_caller_mistakes_are_not_retried():
    script = Script(_error(409, "bill_no_conflict"), _error(404, "bill_not_found"))
    with _client(script) as paygate:
        with pytest.raises(ConflictError) as conflict:
            paygate.create_bill("CLIENT000001", "WX_NATIVE", 200, "tea")
        with pytest.raises(NotFoundError):
            paygate.get_bill("NOPE00000001")
    assert conflict.value.code == "bill_no_conflict"
    assert len(script.requests) == 2


def test_invalid_input_fails_before_anything_is_sent():
    script = Script()
    with _client(script) as paygate, pytest.raises(ValueError, match="total_fee"):
        paygate.create_bill("CLIENT000001", "WX_NATIVE", 1.5, "tea")  # type: ignore[arg-type]
    assert script.requests == []


def test_a_422_carries_the_field_details():
    script = Script(
        httpx.Response(
            422,
            json={"error": {"code": "invalid_request", "message": "bad", "details": [{"field": "title"}]}},
        )
    )
    with _client(script) as paygate, pytest.raises(InvalidRequestError) as raised:
        paygate.create_bill("CLIENT000001", "WX_NATIVE", 100, "x" * 40)
    assert raised.value.details == [{"field": "title"}]


def test_connection_failures_become_one_error_after_the_retries():
    script = Script(*[httpx.ConnectError("refused")] * 4)
    with _client(script) as paygate, pytest.raises(ConnectionFailedError) as raised:
        paygate.create_bill("CLIENT000001", "WX_NATIVE", 100, "tea")
    assert raised.value.idempotency_key == script.requests[0].headers["Idempotency-Key"]


def test_list_filters_and_paging_follow_next_cursor():
    page1 = {"object": "list", "data": [BILL], "next_cursor": "c2"}
    page2 = {"object": "list", "data": [BILL], "next_cursor": None}
    script = Script(httpx.Response(200, json=page1), httpx.Response(200, json=page2))
    with _client(script) as paygate:
        bills = list(paygate.iter_bills(status="pending", limit=1))
    assert len(bills) == 2
    assert dict(script.requests[0].url.params) == {"status": "pending", "limit": "1"}
    assert dict(script.requests[1].url.params) == {"status": "pending", "limit": "1", "cursor": "c2"}


def test_retry_after_is_honoured_and_backoff_grows_with_jitter():
    import random

    policy = RetryPolicy(max_retries=5, backoff_s=0.5, max_backoff_s=4.0, rng=random.Random(7))
    waits = [policy.delay(n) for n in range(1, 6)]
    for n, wait in enumerate(waits, start=1):
        ceiling = min(4.0, 0.5 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling
    assert policy.delay(1, httpx.Response(429, headers={"Retry-After": "3"})) == 3.0


def test_the_async_client_retries_the_same_way():
    script = Script(_error(503, "service_unavailable"), httpx.Response(201, json=BILL))

    async def run():
        async with AsyncPaygateClient(
            "pgk.app_x.secret", "http://paygate.test", retry=NO_WAIT, transport=httpx.MockTransport(script)
        ) as paygate:
            return await paygate.create_bill("CLIENT000001", "WX_NATIVE", 100, "tea")

    bill = asyncio.run(run())
    assert bill.bill_no == "CLIENT000001"
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1
    assert len(script.requests) == 2


def test_an_unknown_route_is_a_not_found_error():
    from paygate_client import NotFoundError as Missing

    script = Script(httpx.Response(403, json={"message": "Missing Authentication Token"}))
    with _client(script) as paygate, pytest.raises(Missing) as raised:
        paygate.get_balance()
    assert raised.value.code == "route_not_found"


def test_refresh_bill_posts_to_the_bills_refresh_route_and_is_retried_as_an_idempotent_call():
    paid = {**BILL, "status": "succeeded", "paid_at": "2026-11-25T09:05:00.000Z"}
    script = Script(_error(503, "service_unavailable"), httpx.Response(200, json=paid))
    with _client(script) as paygate:
        bill = paygate.refresh_bill("CLIENT000001")
    assert (bill.status, bill.paid_at) == ("succeeded", "2026-11-25T09:05:00.000Z")
    assert [(r.method, r.url.path) for r in script.requests] == [("POST", "/dev/bills/CLIENT000001/refresh")] * 2
    assert "Idempotency-Key" not in script.requests[0].headers  # asking again is harmless


def test_refresh_bill_raises_the_provider_mismatch_conflict_sync_and_async():
    script = Script(_error(409, "provider_mismatch"), _error(409, "provider_mismatch"))
    with _client(script) as paygate, pytest.raises(ConflictError) as raised:
        paygate.refresh_bill("CLIENT000001")
    assert raised.value.code == "provider_mismatch"

    async def run():
        async with AsyncPaygateClient(
            "pgk.app_x.secret", "http://paygate.test", retry=NO_WAIT, transport=httpx.MockTransport(script)
        ) as paygate:
            return await paygate.refresh_bill("CLIENT000001")

    with pytest.raises(ConflictError) as raised_async:
        asyncio.run(run())
    assert raised_async.value.code == "provider_mismatch"
    assert [r.url.path for r in script.requests] == ["/dev/bills/CLIENT000001/refresh", "/bills/CLIENT000001/refresh"]
