"""Hosted checkout in the client, offline: the two calls (httpx.MockTransport), their validation and
keys, and verify_checkout_return checked against the server's own signer (paygate.checkout.signing)."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from paygate.checkout.signing import signed_return_url
from paygate_client import (
    AsyncPaygateClient,
    Channel,
    CheckoutSession,
    CheckoutSessionStatus,
    CreateCheckoutSessionRequest,
    InvalidCheckoutReturn,
    NotFoundError,
    PaygateClient,
    PaygateError,
    RetryPolicy,
    verify_checkout_return,
)

SESSION_ID = "cs_0123456789abcdef01234567"
SESSION = {
    "object": "checkout.session",
    "id": SESSION_ID,
    "url": "http://paygate.test/dev/pay/" + "t" * 43,
    "status": "open",
    "total_fee": 1234,
    "currency": "CNY",
    "title": "测试订单",
    "channels": ["WX_NATIVE", "ALI_WEB"],
    "return_url": "https://shop.example/orders/42/paid",
    "bill_no_prefix": "SHOP",
    "metadata": {"order": 42},
    "created_at": "2026-11-25T09:00:00.000Z",
    "expires_at": "2026-11-25T09:30:00.000Z",
    "a_field_from_a_newer_server": True,
}
SECRET = "cks_the-checkout-secret-of-the-app"
NOW = 1_796_431_622
NO_WAIT = RetryPolicy(max_retries=3, backoff_s=0.0, max_backoff_s=0.0)


class Script:
    """Answers in order (an exception is raised instead); records every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _error(status, code, message="nope"):
    return httpx.Response(status, json={"error": {"code": code, "message": message, "request_id": "req-1"}})


def _client(script, retry=NO_WAIT):
    return PaygateClient(
        "pgk.app_x.secret", "http://paygate.test/dev/", retry=retry, transport=httpx.MockTransport(script)
    )


def _async_client(script):
    return AsyncPaygateClient(
        "pgk.app_x.secret", "http://paygate.test/dev", retry=NO_WAIT, transport=httpx.MockTransport(script)
    )


# ---------------------------------------------------------------- the calls


def test_create_checkout_session_posts_the_body_and_reads_the_session():
    script = Script(httpx.Response(201, json=SESSION))
    with _client(script) as paygate:
        session = paygate.create_checkout_session(
            1234,
            "测试订单",
            [Channel.WX_NATIVE, "ALI_WEB"],
            "https://shop.example/orders/42/paid",
            bill_no_prefix="SHOP",
            metadata={"order": 42},
            expires_in=900,
        )

    assert isinstance(session, CheckoutSession)
    assert (session.id, session.status, session.url) == (SESSION_ID, CheckoutSessionStatus.OPEN, SESSION["url"])
    assert (session.bill_no, session.completed_at) == (None, None)
    (request,) = script.requests
    assert (request.method, request.url.path) == ("POST", "/dev/checkout/sessions")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"]
    assert json.loads(request.content) == {
        "total_fee": 1234,
        "title": "测试订单",
        "channels": ["WX_NATIVE", "ALI_WEB"],
        "return_url": "https://shop.example/orders/42/paid",
        "bill_no_prefix": "SHOP",
        "metadata": {"order": 42},
        "expires_in": 900,
    }


def test_options_left_out_are_not_sent_so_the_api_defaults_apply():
    script = Script(httpx.Response(201, json=SESSION))
    with _client(script) as paygate:
        paygate.create_checkout_session(100, "tea", ["WX_NATIVE"], "https://shop.example/paid")
    assert json.loads(script.requests[0].content) == {
        "total_fee": 100,
        "title": "tea",
        "channels": ["WX_NATIVE"],
        "return_url": "https://shop.example/paid",
    }


def test_a_retried_create_reuses_one_idempotency_key_and_a_new_create_gets_a_new_one():
    script = Script(
        _error(503, "service_unavailable"),
        httpx.ReadTimeout("slow"),
        _error(409, "request_in_progress"),
        httpx.Response(201, json=SESSION),
        httpx.Response(201, json=SESSION),
        httpx.Response(200, json=SESSION),
    )
    with _client(script, RetryPolicy(max_retries=4, backoff_s=0.0, max_backoff_s=0.0)) as paygate:
        paygate.create_checkout_session(1234, "tea", ["WX_NATIVE"], "https://shop.example/paid")
        paygate.create_checkout_session(1234, "tea", ["WX_NATIVE"], "https://shop.example/paid")
        again = paygate.create_checkout_session(
            1234, "tea", ["WX_NATIVE"], "https://shop.example/paid", idempotency_key="order-42"
        )

    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert len(set(keys[:4])) == 1  # the first create and its three retries
    assert keys[4] != keys[0]  # the second logical create
    assert keys[5] == "order-42"
    assert {r.content for r in script.requests[:4]} == {script.requests[0].content}  # the same body every attempt
    assert again.id == SESSION_ID  # 200: the identical repeat


def test_get_checkout_session_reads_a_completed_session_and_404_is_typed():
    done = {**SESSION, "status": "complete", "url": None, "bill_no": "SHOP0000001", "completed_at": "2026-11-25T09:05Z"}
    script = Script(_error(503, "service_unavailable"), httpx.Response(200, json=done), _error(404, "not_found"))
    with _client(script) as paygate:
        session = paygate.get_checkout_session(SESSION_ID)
        with pytest.raises(NotFoundError) as missing:
            paygate.get_checkout_session("cs_ffffffffffffffffffffffff")

    assert (session.status, session.url, session.bill_no) == (CheckoutSessionStatus.COMPLETE, None, "SHOP0000001")
    assert missing.value.code == "not_found"
    assert [(r.method, r.url.path) for r in script.requests] == [
        ("GET", f"/dev/checkout/sessions/{SESSION_ID}"),
        ("GET", f"/dev/checkout/sessions/{SESSION_ID}"),
        ("GET", "/dev/checkout/sessions/cs_ffffffffffffffffffffffff"),
    ]
    assert "Idempotency-Key" not in script.requests[0].headers


def test_a_session_id_is_quoted_into_the_path():
    script = Script(_error(404, "not_found"))
    with _client(script) as paygate, pytest.raises(NotFoundError):
        paygate.get_checkout_session("../bills/x")
    assert script.requests[0].url.raw_path == b"/dev/checkout/sessions/..%2Fbills%2Fx"


def test_the_async_client_creates_and_reads_the_same_way():
    script = Script(_error(502, "bad_gateway"), httpx.Response(201, json=SESSION), httpx.Response(200, json=SESSION))

    async def run():
        async with _async_client(script) as paygate:
            created = await paygate.create_checkout_session(
                1234, "tea", ["WX_NATIVE", "ALI_WAP"], "https://shop.example/paid", expires_in=300
            )
            read = await paygate.get_checkout_session(created.id)
            return created, read

    created, read = asyncio.run(run())
    assert created.id == read.id == SESSION_ID
    assert script.requests[0].headers["Idempotency-Key"] == script.requests[1].headers["Idempotency-Key"]
    assert json.loads(script.requests[1].content)["expires_in"] == 300
    assert [(r.method, r.url.path) for r in script.requests] == [
        ("POST", "/dev/checkout/sessions"),
        ("POST", "/dev/checkout/sessions"),
        ("GET", f"/dev/checkout/sessions/{SESSION_ID}"),
    ]


# ---------------------------------------------------------------- request validation

VALID = {"total_fee": 100, "title": "tea", "channels": ["WX_NATIVE"], "return_url": "https://shop.example/paid"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_fee": 0}, "total_fee"),
        ({"total_fee": -1}, "total_fee"),
        ({"total_fee": 1.5}, "total_fee"),
        ({"total_fee": "100"}, "total_fee"),
        ({"total_fee": 2_147_483_648}, "total_fee"),
        ({"title": ""}, "title"),
        ({"channels": []}, "channels"),
        ({"channels": ["WX_APP"]}, "channels"),  # a channel of the merchant's own app: not on a web page
        ({"channels": ["WX_NATIVE", "WX_NATIVE"]}, "channels"),
        ({"channels": ["WX_NATIVE", "ALI_QRCODE", "ALI_WEB", "UN_WEB", "ALI_WAP", "WX_NATIVE"]}, "channels"),
        ({"bill_no_prefix": ""}, "bill_no_prefix"),
        ({"bill_no_prefix": "SHOP-1"}, "bill_no_prefix"),
        ({"bill_no_prefix": "A" * 11}, "bill_no_prefix"),
        ({"expires_in": 299}, "expires_in"),
        ({"expires_in": 86_401}, "expires_in"),
        ({"expires_in": "900"}, "expires_in"),
        ({"currency": "CNY"}, "currency"),  # unknown fields are refused
    ],
)
def test_a_bad_request_fails_before_anything_is_sent(change, field):
    with pytest.raises(ValueError, match=field):
        CreateCheckoutSessionRequest.model_validate({**VALID, **change})


def test_the_client_validates_before_sending():
    script = Script()
    with _client(script) as paygate:
        with pytest.raises(ValueError, match="channels"):
            paygate.create_checkout_session(100, "tea", ["WX_JSAPI"], "https://shop.example/paid")
        with pytest.raises(ValueError, match="expires_in"):
            paygate.create_checkout_session(100, "tea", ["WX_NATIVE"], "https://shop.example/paid", expires_in=60)
    assert script.requests == []


def test_every_checkout_channel_and_both_expiry_bounds_are_accepted():
    every = ["WX_NATIVE", "ALI_QRCODE", "ALI_WEB", "UN_WEB", "ALI_WAP"]
    for expires_in in (300, 86_400):
        request = CreateCheckoutSessionRequest.model_validate({**VALID, "channels": every, "expires_in": expires_in})
        assert request.channels == every


# ---------------------------------------------------------------- the return signature


def _signed_query(session_id=SESSION_ID, timestamp=NOW, secret=SECRET, return_url="https://shop.example/paid"):
    """The query of the URL the server itself sends the payer back to."""
    return urlsplit(signed_return_url(return_url, secret, session_id, timestamp)).query


def _as_mapping(query):
    return {name: values[0] for name, values in parse_qs(query).items()}


def _replace(query, **changes):
    return urlencode({**_as_mapping(query), **changes})


def test_a_return_signed_by_the_server_is_accepted_as_a_string_or_a_mapping():
    query = _signed_query()
    assert verify_checkout_return(query, SECRET, now=NOW) == SESSION_ID
    assert verify_checkout_return("?" + query, SECRET, now=NOW + 1) == SESSION_ID
    assert verify_checkout_return(_as_mapping(query), SECRET, now=NOW - 1) == SESSION_ID
    assert verify_checkout_return(parse_qs(query), SECRET, now=NOW) == SESSION_ID  # type: ignore[arg-type]


def test_the_merchants_own_return_url_parameters_are_kept_apart():
    query = _signed_query(return_url="https://shop.example/paid?order=42&lang=zh")
    assert parse_qs(query)["order"] == ["42"]
    assert verify_checkout_return(query, SECRET, now=NOW) == SESSION_ID


def test_the_tolerance_is_inclusive_in_both_directions_and_configurable():
    query = _signed_query()
    assert verify_checkout_return(query, SECRET, now=NOW + 300) == SESSION_ID
    assert verify_checkout_return(query, SECRET, now=NOW - 300) == SESSION_ID
    with pytest.raises(InvalidCheckoutReturn, match="too old"):
        verify_checkout_return(query, SECRET, now=NOW + 301)
    with pytest.raises(InvalidCheckoutReturn, match="future"):
        verify_checkout_return(query, SECRET, now=NOW - 301)
    assert verify_checkout_return(query, SECRET, now=NOW + 3600, tolerance_s=3600) == SESSION_ID
    with pytest.raises(InvalidCheckoutReturn, match="too old"):
        verify_checkout_return(query, SECRET, now=NOW + 61, tolerance_s=60)


def test_the_current_time_is_the_default(monkeypatch):
    monkeypatch.setattr("paygate_client.checkout.time.time", lambda: NOW + 10.5)
    assert verify_checkout_return(_signed_query(), SECRET) == SESSION_ID
    monkeypatch.setattr("paygate_client.checkout.time.time", lambda: NOW + 3600.0)
    with pytest.raises(InvalidCheckoutReturn, match="too old"):
        verify_checkout_return(_signed_query(), SECRET)


def test_a_wrong_secret_is_refused():
    with pytest.raises(InvalidCheckoutReturn, match="signature"):
        verify_checkout_return(_signed_query(), SECRET + "x", now=NOW)
    with pytest.raises(InvalidCheckoutReturn, match="signature"):
        verify_checkout_return(_signed_query(secret="another-app"), SECRET, now=NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"session_id": "cs_ffffffffffffffffffffffff"},  # another session of the same app
        {"timestamp": str(NOW + 1)},  # a fresher time on an old signature
        {"timestamp": f"0{NOW}"},  # the same number, written otherwise: the signed text is what counts
        {"signature": "0" * 64},
        {"signature": "f" * 64},
    ],
    ids=["session_id", "timestamp", "timestamp_padded", "signature_zeros", "signature_other"],
)
def test_a_tampered_return_is_refused(changes):
    with pytest.raises(InvalidCheckoutReturn, match="signature"):
        verify_checkout_return(_replace(_signed_query(), **changes), SECRET, now=NOW)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"session_id": "bill_0123456789abcdef01234567"}, "session_id"),
        ({"session_id": "cs_0123456789ABCDEF01234567"}, "session_id"),
        ({"session_id": ""}, "session_id"),
        ({"timestamp": "soon"}, "timestamp"),
        ({"timestamp": f"{NOW}.0"}, "timestamp"),
        ({"timestamp": f"-{NOW}"}, "timestamp"),
        ({"timestamp": f"+{NOW}"}, "timestamp"),
        ({"timestamp": ""}, "timestamp"),
        ({"timestamp": "9" * 5000}, "timestamp"),
        ({"signature": ""}, "signature"),
        ({"signature": "é" * 64}, "signature"),  # not ASCII: refused, never a TypeError from compare_digest
    ],
)
def test_a_malformed_parameter_is_refused(changes, message):
    with pytest.raises(InvalidCheckoutReturn, match=message):
        verify_checkout_return(_replace(_signed_query(), **changes), SECRET, now=NOW)


def test_an_uppercase_signature_is_refused():
    query = _as_mapping(_signed_query())
    query["signature"] = query["signature"].upper()
    with pytest.raises(InvalidCheckoutReturn, match="signature"):
        verify_checkout_return(query, SECRET, now=NOW)


@pytest.mark.parametrize("missing", ["session_id", "timestamp", "signature"])
def test_a_missing_parameter_is_refused(missing):
    mapping = _as_mapping(_signed_query())
    del mapping[missing]
    with pytest.raises(InvalidCheckoutReturn, match=f"{missing} is missing"):
        verify_checkout_return(mapping, SECRET, now=NOW)
    with pytest.raises(InvalidCheckoutReturn, match=f"{missing} is missing"):
        verify_checkout_return(urlencode(mapping), SECRET, now=NOW)
    with pytest.raises(InvalidCheckoutReturn, match="missing"):
        verify_checkout_return("", SECRET, now=NOW)


@pytest.mark.parametrize("repeated", ["session_id", "timestamp", "signature"])
def test_a_repeated_parameter_is_refused_even_with_the_same_value(repeated):
    query = _signed_query()
    value = _as_mapping(query)[repeated]
    for extra in (value, "other"):
        with pytest.raises(InvalidCheckoutReturn, match=f"{repeated} is given 2 times"):
            verify_checkout_return(f"{query}&{urlencode({repeated: extra})}", SECRET, now=NOW)
    with pytest.raises(InvalidCheckoutReturn, match=f"{repeated} is given 2 times"):
        verify_checkout_return({**_as_mapping(query), repeated: [value, value]}, SECRET, now=NOW)  # type: ignore[dict-item]


def test_the_error_is_a_value_error_and_a_paygate_error_and_misuse_is_not_a_bad_return():
    with pytest.raises(InvalidCheckoutReturn) as raised:
        verify_checkout_return("", SECRET, now=NOW)
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, PaygateError)
    with pytest.raises(ValueError, match="secret") as no_secret:
        verify_checkout_return(_signed_query(), "", now=NOW)
    assert not isinstance(no_secret.value, InvalidCheckoutReturn)
    with pytest.raises(TypeError, match="bytes"):
        verify_checkout_return(_signed_query().encode(), SECRET, now=NOW)  # type: ignore[arg-type]
