"""BeeCloudClient against a scripted provider: request shapes, envelopes, error mapping, retries."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import httpx
import pytest

from paygate.errors import (
    ProviderProtocolError,
    ProviderRejectedError,
    ProviderRequestError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RejectReason,
)
from paygate.providers.beecloud import BeeCloudBill, BeeCloudClient, BeeCloudRefund, RefundAccepted, app_sign
from paygate.providers.limits import BILL_CHANNELS
from tests.paygate.providers._providers_support import (
    BEECLOUD_CREDS,
    FIXED_NOW_MS,
    FIXED_NOW_S,
    ScriptedProvider,
)

BASE = "http://beecloud.test"
REFUSED = r"must|only applies|required|cannot encode"
OK = {"result_code": 0, "result_msg": "OK", "err_detail": ""}
SIGN = app_sign(BEECLOUD_CREDS.app_id, FIXED_NOW_MS, BEECLOUD_CREDS.app_secret)
AUTH = {"app_id": BEECLOUD_CREDS.app_id, "timestamp": FIXED_NOW_MS, "app_sign": SIGN}


def client_for(provider: ScriptedProvider, sleeps: list[float] | None = None) -> BeeCloudClient:
    return BeeCloudClient(
        BASE,
        provider.client(),
        clock=lambda: FIXED_NOW_S,
        sleep=(sleeps if sleeps is not None else []).append,
    )


def create_native(client: BeeCloudClient, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "channel": "WX_NATIVE",
        "bill_no": "201506101035040000001",
        "total_fee": 1,
        "title": "白开水",
    }
    return client.create_bill(BEECLOUD_CREDS, **(args | overrides))


def para_of(request: httpx.Request) -> dict[str, Any]:
    raw = request.url.query.decode()
    assert raw.startswith("para=")
    assert "&" not in raw
    para: dict[str, Any] = json.loads(unquote_plus(raw[len("para=") :]))
    return para


# -- create_bill ----------------------------------------------------------------------------------


def test_create_bill_sends_the_seed_body_and_returns_payment_params() -> None:
    provider = ScriptedProvider([{**OK, "code_url": "weixin://wxpay/bizpayurl?pr=abc", "id": "u-1"}])

    params = create_native(client_for(provider), optional={"order": "A1"})

    request = provider.requests[0]
    assert (request.method, request.url.path) == ("POST", "/1/rest/bill")
    assert request.headers["content-type"] == "application/json"
    assert provider.bodies[0] == {
        **AUTH,
        "channel": "WX_NATIVE",
        "total_fee": 1,
        "bill_no": "201506101035040000001",
        "title": "白开水",
        "optional": {"order": "A1"},
    }
    assert params == {"code_url": "weixin://wxpay/bizpayurl?pr=abc", "id": "u-1"}


def test_create_bill_never_sends_blank_optional_fields() -> None:
    provider = ScriptedProvider([{**OK, "code_url": "weixin://x"}])

    create_native(client_for(provider), optional={}, return_url="  ", openid=None, show_url="", qr_pay_mode=None)

    assert set(provider.bodies[0]) == {
        "app_id",
        "timestamp",
        "app_sign",
        "channel",
        "total_fee",
        "bill_no",
        "title",
    }


def test_create_bill_channel_fields() -> None:
    provider = ScriptedProvider([{**OK, "html": "<form/>", "url": "https://qr"}])

    client_for(provider).create_bill(
        BEECLOUD_CREDS,
        channel="ALI_QRCODE",
        bill_no="A2015061010350400",
        total_fee=100,
        title="water",
        return_url="https://shop/return",
        qr_pay_mode="1",
    )

    body = provider.bodies[0]
    assert body["return_url"] == "https://shop/return"
    assert body["qr_pay_mode"] == "1"


def test_create_ali_wap_bill_sends_use_app_as_a_boolean_and_returns_the_form() -> None:
    provider = ScriptedProvider([{**OK, "html": "<form/>", "url": "https://m.alipay"}])

    params = create_native(client_for(provider), channel="ALI_WAP", use_app=True)

    assert params == {"html": "<form/>", "url": "https://m.alipay"}
    body = provider.bodies[0]
    assert body["channel"] == "ALI_WAP"
    assert body["use_app"] is True
    assert "return_url" not in body  # optional for ALI_WAP


def test_every_channel_paygate_offers_is_one_the_beecloud_sandbox_serves() -> None:
    from sandbox.beecloud.protocol import ALI_PAY_CHANNELS, PAY_CHANNELS

    assert set(PAY_CHANNELS) >= BILL_CHANNELS
    assert {c for c in BILL_CHANNELS if c.startswith("ALI_")} <= ALI_PAY_CHANNELS


@pytest.mark.parametrize(
    "overrides",
    [
        {"channel": "WX"},
        {"channel": "wx_native"},
        {"bill_no": "1234567"},  # 7 chars
        {"bill_no": "x" * 33},
        {"bill_no": "2015-0610-1035"},
        {"total_fee": 0},
        {"total_fee": -1},
        {"total_fee": True},
        {"total_fee": 1.0},
        {"title": ""},
        {"title": "   "},
        {"title": "白" * 17},  # 34 GBK bytes
        {"title": "😀"},  # not GBK
        {"title": "\u3000"},  # only (ideographic) whitespace
        {"total_fee": 2**31},
        {"channel": "ALI_WEB", "return_url": "https://r/\n"},  # not a URL: trailing newline
        {"channel": "ALI_WEB", "return_url": "shop/return"},
        {"channel": "WX_JSAPI", "openid": "o" * 129},
        {"optional": {"k": float("nan")}},  # not JSON
        {"optional": {"k": "v" * 2048}},
        {"channel": "ALI_WEB"},  # return_url missing
        {"channel": "WX_JSAPI"},  # openid missing
        {"openid": "o-1"},  # WX_JSAPI only
        {"channel": "ALI_QRCODE", "return_url": "https://r", "qr_pay_mode": "2"},
        {"use_app": True},  # ALI_WAP only
        {"channel": "ALI_WAP", "use_app": "true"},  # a JSON boolean, never its spelling
        {"channel": "ALI_WAP", "use_app": 1},
    ],
)
def test_create_bill_refuses_to_send_what_the_seed_forbids(overrides: dict[str, Any]) -> None:
    provider = ScriptedProvider([{**OK, "code_url": "weixin://x"}])

    with pytest.raises(ValueError, match=REFUSED):
        create_native(client_for(provider), **overrides)

    assert provider.requests == []


def test_title_of_sixteen_cjk_characters_is_accepted() -> None:
    provider = ScriptedProvider([{**OK, "code_url": "weixin://x"}])
    create_native(client_for(provider), title="白" * 16)
    assert provider.bodies[0]["title"] == "白" * 16


@pytest.mark.parametrize(
    ("channel", "extra", "answer"),
    [
        ("WX_NATIVE", {}, {"err": 1}),
        ("ALI_APP", {}, {"order_string": ""}),
        ("UN_APP", {}, {"html": "x"}),
        ("ALI_WEB", {"return_url": "https://r"}, {}),
        ("ALI_WAP", {}, {"html": ""}),
        ("WX_APP", {}, {"app_id": "wx", "partner_id": "p", "package": "Sign=WXPay"}),
    ],
)
def test_create_bill_success_without_payment_params_is_a_protocol_error(
    channel: str, extra: dict[str, Any], answer: dict[str, Any]
) -> None:
    provider = ScriptedProvider([{**OK, **answer}])
    with pytest.raises(ProviderProtocolError) as info:
        create_native(client_for(provider), channel=channel, **extra)
    assert info.value.outcome_unknown


@pytest.mark.parametrize(
    ("code", "msg", "reason"),
    [
        (1, "APP_INVALID", RejectReason.AUTH),
        (2, "PAY_FACTOR_NOT_SET", RejectReason.AUTH),
        (3, "CHANNEL_INVALID", RejectReason.INVALID_REQUEST),
        (4, "MISS_PARAM", RejectReason.INVALID_REQUEST),
        (5, "PARAM_INVALID", RejectReason.INVALID_REQUEST),
        (6, "CERT_FILE_ERROR", RejectReason.AUTH),
        (7, "CHANNEL_ERROR", RejectReason.CHANNEL_ERROR),
        (17, "BILL_NO_DUPLICATE", RejectReason.CONFLICT),
    ],
)
def test_create_bill_business_errors(code: int, msg: str, reason: RejectReason) -> None:
    provider = ScriptedProvider([{"result_code": code, "result_msg": msg, "err_detail": "detail"}])

    with pytest.raises(ProviderRejectedError) as info:
        create_native(client_for(provider))

    err = info.value
    assert (err.code, err.reason, err.outcome_unknown, err.provider) == (code, reason, False, "beecloud")
    assert err.message == f"{msg} detail"


@pytest.mark.parametrize("spelling", ["RUN_TIME_ERROR", "RUNTIME_ERROR", "anything"])
def test_code_14_is_keyed_by_number_and_leaves_a_write_unknown(spelling: str) -> None:
    provider = ScriptedProvider([{"result_code": 14, "result_msg": spelling, "err_detail": ""}])

    with pytest.raises(ProviderRejectedError) as info:
        create_native(client_for(provider))

    assert info.value.reason is RejectReason.PROVIDER_INTERNAL
    assert info.value.outcome_unknown


def test_result_code_as_digit_string_is_tolerated() -> None:
    provider = ScriptedProvider([{"result_code": "0", "result_msg": "OK", "code_url": "weixin://x"}])
    assert create_native(client_for(provider))["code_url"] == "weixin://x"


@pytest.mark.parametrize(
    "reply",
    [
        (500, {"result_code": 14}),
        (502, "<html>bad gateway</html>"),
        (200, "not json"),
        (200, b"\xff\xfe"),
        (200, "[1, 2]"),
        {"result_msg": "OK"},  # no result_code
        {"result_code": 0.0},
        (400, "<html>bad request</html>"),
        (400, {"result_code": 0, "result_msg": "OK", "code_url": "x"}),  # 4xx claiming success
        (200, '{"result_code": 0, "code_url": "x", "prepay": NaN}'),  # NaN is not JSON
        RuntimeError("a transport failing in a way nobody classified"),
    ],
)
def test_broken_answers_are_protocol_errors_with_unknown_outcome(reply: Any) -> None:
    provider = ScriptedProvider([reply])
    with pytest.raises(ProviderProtocolError) as info:
        create_native(client_for(provider))
    assert info.value.outcome_unknown


def test_a_refused_input_is_a_request_error_with_a_known_outcome() -> None:
    provider = ScriptedProvider([{**OK, "code_url": "weixin://x"}])

    with pytest.raises(ProviderRequestError) as info:
        create_native(client_for(provider), title=" ")

    assert isinstance(info.value, ValueError)
    assert (info.value.outcome_unknown, info.value.unexpected) == (False, False)
    assert info.value.rule.startswith("title")
    assert provider.requests == []


def test_an_unforeseen_failure_while_building_is_an_unexpected_request_error(monkeypatch) -> None:
    from paygate.providers import beecloud

    def broken_sign(*args: object) -> str:
        raise KeyError("a bug")

    monkeypatch.setattr(beecloud, "app_sign", broken_sign)
    provider = ScriptedProvider([{**OK, "code_url": "weixin://x"}])

    with pytest.raises(ProviderRequestError) as info:
        create_native(client_for(provider))

    assert (info.value.outcome_unknown, info.value.unexpected) == (False, True)
    assert provider.requests == []


def test_a_4xx_with_a_business_envelope_is_a_rejection() -> None:
    provider = ScriptedProvider([(400, {"result_code": 5, "result_msg": "PARAM_INVALID", "err_detail": "x"})])
    with pytest.raises(ProviderRejectedError) as info:
        create_native(client_for(provider))
    assert info.value.reason is RejectReason.INVALID_REQUEST


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ReadTimeout("slow"), ProviderTimeoutError),
        (httpx.ConnectError("refused"), ProviderUnavailableError),
        (httpx.RemoteProtocolError("dropped"), ProviderProtocolError),
    ],
)
def test_creates_are_never_retried(exc: Exception, error: type[Exception]) -> None:
    provider = ScriptedProvider([exc, {**OK, "code_url": "weixin://x"}])
    with pytest.raises(error):
        create_native(client_for(provider))
    assert len(provider.requests) == 1


# -- refund ---------------------------------------------------------------------------------------


def test_refund_body_and_alipay_url() -> None:
    provider = ScriptedProvider([{**OK, "url": "https://alipay/refund", "id": "r-1"}])

    accepted = client_for(provider).refund(
        BEECLOUD_CREDS,
        channel="ALI_WEB",
        refund_no="20150703001",
        bill_no="201506101035040000001",
        refund_fee=1,
        optional={"why": "broken"},
    )

    assert accepted == RefundAccepted(url="https://alipay/refund", id="r-1")
    assert provider.requests[0].url.path == "/1/rest/refund"
    assert provider.bodies[0] == {
        **AUTH,
        "channel": "ALI",
        "refund_no": "20150703001",
        "bill_no": "201506101035040000001",
        "refund_fee": 1,
        "optional": {"why": "broken"},
    }


def test_refund_without_url() -> None:
    provider = ScriptedProvider([OK])
    accepted = client_for(provider).refund(
        BEECLOUD_CREDS, channel="WX", refund_no="20150703abc", bill_no="b1", refund_fee=5
    )
    assert accepted == RefundAccepted(url=None, id=None)
    assert provider.bodies[0]["channel"] == "WX"
    assert "optional" not in provider.bodies[0]


@pytest.mark.parametrize(
    "overrides",
    [
        {"channel": "PAYPAL"},
        {"channel": "WX_FOO"},
        {"refund_no": "2015070300"},  # serial too short
        {"refund_no": "20150703000"},  # serial "000"
        {"refund_no": "20151303001"},  # month 13
        {"refund_no": "20150703" + "1" * 25},
        {"refund_fee": 0},
        {"bill_no": ""},
    ],
)
def test_refund_refuses_malformed_input(overrides: dict[str, Any]) -> None:
    provider = ScriptedProvider([OK])
    args: dict[str, Any] = {
        "channel": "WX",
        "refund_no": "20150703001",
        "bill_no": "b1",
        "refund_fee": 1,
    } | overrides
    with pytest.raises(ValueError, match=REFUSED):
        client_for(provider).refund(BEECLOUD_CREDS, **args)
    assert provider.requests == []


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (8, RejectReason.NOT_FOUND),
        (9, RejectReason.NOT_REFUNDABLE),
        (10, RejectReason.NOT_REFUNDABLE),
        (11, RejectReason.CONFLICT),
        (12, RejectReason.NOT_REFUNDABLE),
        (13, RejectReason.NOT_FOUND),
        (16, RejectReason.CONFLICT),
    ],
)
def test_refund_errors(code: int, reason: RejectReason) -> None:
    provider = ScriptedProvider([{"result_code": code, "result_msg": "X", "err_detail": ""}])
    with pytest.raises(ProviderRejectedError) as info:
        client_for(provider).refund(BEECLOUD_CREDS, channel="UN", refund_no="20150703001", bill_no="b1", refund_fee=1)
    assert (info.value.reason, info.value.outcome_unknown) == (reason, False)


def test_refund_timeout_is_unknown_and_not_retried() -> None:
    provider = ScriptedProvider([httpx.ReadTimeout("slow"), OK])
    with pytest.raises(ProviderTimeoutError) as info:
        client_for(provider).refund(BEECLOUD_CREDS, channel="WX", refund_no="20150703001", bill_no="b1", refund_fee=1)
    assert info.value.outcome_unknown
    assert len(provider.requests) == 1


# -- queries ----------------------------------------------------------------------------------------

BILL: dict[str, Any] = {
    "bill_no": "201506101035040000001",
    "total_fee": 1,
    "channel": "WX_NATIVE",
    "title": "白开水",
    "spay_result": True,
    "created_time": 1435890530000,
}


def test_query_bills_para_is_compact_json_with_quote_plus() -> None:
    provider = ScriptedProvider([{**OK, "count": 1, "bills": [BILL]}])

    bills = client_for(provider).query_bills(
        BEECLOUD_CREDS,
        channel="WX",
        bill_no="201506101035040000001",
        start_time_ms=1,
        end_time_ms=2,
        limit=50,
    )

    assert bills == [BeeCloudBill(**BILL)]
    request = provider.requests[0]
    assert (request.method, request.url.path) == ("GET", "/1/rest/bills")
    expected_para = {
        **AUTH,
        "channel": "WX",
        "bill_no": "201506101035040000001",
        "start_time": 1,
        "end_time": 2,
        "skip": 0,
        "limit": 50,
    }
    assert request.url.query.decode() == "para=" + quote_plus(json.dumps(expected_para, separators=(",", ":")))
    assert para_of(request) == expected_para


def test_query_bills_omits_absent_filters() -> None:
    provider = ScriptedProvider([{**OK, "bills": []}])
    assert client_for(provider).query_bills(BEECLOUD_CREDS, channel="ALI_WEB", bill_no=" ") == []
    assert set(para_of(provider.requests[0])) == {
        "app_id",
        "timestamp",
        "app_sign",
        "channel",
        "skip",
        "limit",
    }


@pytest.mark.parametrize(
    "overrides", [{"limit": 51}, {"limit": 0}, {"skip": -1}, {"channel": "BC"}, {"start_time_ms": -5}]
)
def test_query_bills_refuses_bad_filters(overrides: dict[str, Any]) -> None:
    provider = ScriptedProvider([{**OK, "bills": []}])
    with pytest.raises(ValueError, match=REFUSED):
        client_for(provider).query_bills(BEECLOUD_CREDS, **({"channel": "WX"} | overrides))


def test_query_bills_tolerates_extra_and_stringly_fields() -> None:
    item = {**BILL, "total_fee": "1", "spay_result": "true", "id": "x", "sub_channel": "WX_NATIVE"}
    provider = ScriptedProvider([{**OK, "bills": [item]}])
    assert client_for(provider).query_bills(BEECLOUD_CREDS, channel="WX")[0].total_fee == 1


@pytest.mark.parametrize(
    "answer",
    [
        {**OK},  # no bills
        {**OK, "bills": [{**BILL, "total_fee": 1.5}]},
        {**OK, "bills": [{**BILL, "spay_result": "yes"}]},
        {**OK, "bills": [{k: v for k, v in BILL.items() if k != "bill_no"}]},
    ],
)
def test_query_bills_malformed_items(answer: dict[str, Any]) -> None:
    provider = ScriptedProvider([answer])
    with pytest.raises(ProviderProtocolError):
        client_for(provider).query_bills(BEECLOUD_CREDS, channel="WX")


def test_query_refunds() -> None:
    item: dict[str, Any] = {
        "bill_no": "b1",
        "refund_no": "20150703001",
        "total_fee": 10,
        "refund_fee": 5,
        "finish": True,
        "result": False,
        "created_time": 1435890530000,
        "channel": "WX_NATIVE",
        "title": "t",
    }
    provider = ScriptedProvider([{**OK, "count": 1, "refunds": [item]}])

    refunds = client_for(provider).query_refunds(BEECLOUD_CREDS, channel="WX", refund_no="20150703001")

    assert refunds == [BeeCloudRefund(**item)]
    assert provider.requests[0].url.path == "/1/rest/refunds"
    assert para_of(provider.requests[0])["refund_no"] == "20150703001"


def test_query_refunds_without_later_v1_fields() -> None:
    item: dict[str, Any] = {
        "bill_no": "b1",
        "refund_no": "r1",
        "total_fee": 1,
        "refund_fee": 1,
        "finish": False,
        "result": False,
    }
    provider = ScriptedProvider([{**OK, "refunds": [{**item, "created_time": 1}]}])
    refund = client_for(provider).query_refunds(BEECLOUD_CREDS, channel="WX")[0]
    assert (refund.channel, refund.title) == (None, None)


def test_refund_status() -> None:
    provider = ScriptedProvider([{**OK, "refund_status": "PROCESSING"}])
    assert client_for(provider).refund_status(BEECLOUD_CREDS, refund_no="20150703001") == "PROCESSING"
    assert provider.requests[0].url.path == "/1/rest/refund/status"
    assert para_of(provider.requests[0]) == {**AUTH, "channel": "WX", "refund_no": "20150703001"}


@pytest.mark.parametrize("answer", [{**OK}, {**OK, "refund_status": ""}, {**OK, "refund_status": 3}])
def test_refund_status_missing(answer: dict[str, Any]) -> None:
    with pytest.raises(ProviderProtocolError):
        client_for(ScriptedProvider([answer])).refund_status(BEECLOUD_CREDS, refund_no="20150703001")


def test_refund_status_unknown_refund() -> None:
    provider = ScriptedProvider([{"result_code": 13, "result_msg": "NO_SUCH_REFUND", "err_detail": ""}])
    with pytest.raises(ProviderRejectedError) as info:
        client_for(provider).refund_status(BEECLOUD_CREDS, refund_no="20150703001")
    assert info.value.reason is RejectReason.NOT_FOUND
    assert not info.value.outcome_unknown


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), (503, "busy"), httpx.ReadError("reset")],
)
def test_queries_retry_transient_failures_twice(failure: Any) -> None:
    sleeps: list[float] = []
    provider = ScriptedProvider([failure, failure, {**OK, "refund_status": "SUCCESS"}])

    status = client_for(provider, sleeps).refund_status(BEECLOUD_CREDS, refund_no="20150703001")

    assert status == "SUCCESS"
    assert len(provider.requests) == 3
    assert sleeps == [0.2, 0.4]


def test_queries_give_up_after_two_retries() -> None:
    provider = ScriptedProvider([httpx.ReadTimeout("slow")])
    with pytest.raises(ProviderTimeoutError):
        client_for(provider).query_bills(BEECLOUD_CREDS, channel="WX")
    assert len(provider.requests) == 3


@pytest.mark.parametrize(
    "answer",
    [(200, "not json"), {"result_code": 1, "result_msg": "APP_INVALID", "err_detail": ""}],
)
def test_queries_do_not_retry_answers(answer: Any) -> None:
    provider = ScriptedProvider([answer])
    with pytest.raises((ProviderProtocolError, ProviderRejectedError)):
        client_for(provider).query_bills(BEECLOUD_CREDS, channel="WX")
    assert len(provider.requests) == 1


def test_each_retry_is_signed_with_a_fresh_timestamp() -> None:
    now = iter([1.0, 2.0, 3.0])
    provider = ScriptedProvider([httpx.ConnectError("refused"), {**OK, "bills": []}])
    client = BeeCloudClient(BASE, provider.client(), clock=lambda: next(now), sleep=lambda _s: None)

    client.query_bills(BEECLOUD_CREDS, channel="WX")

    stamps = [para_of(r)["timestamp"] for r in provider.requests]
    assert stamps == [1000, 2000]
    assert para_of(provider.requests[1])["app_sign"] == app_sign(BEECLOUD_CREDS.app_id, 2000, BEECLOUD_CREDS.app_secret)


def test_base_url_trailing_slash() -> None:
    provider = ScriptedProvider([{**OK, "bills": []}])
    BeeCloudClient(BASE + "/", provider.client(), clock=lambda: FIXED_NOW_S).query_bills(BEECLOUD_CREDS, channel="UN")
    assert str(provider.requests[0].url).startswith("http://beecloud.test/1/rest/bills?para=")


def test_credentials_repr_hides_secrets() -> None:
    text = repr(BEECLOUD_CREDS)
    assert BEECLOUD_CREDS.app_secret not in text
    assert str(BEECLOUD_CREDS.master_secret) not in text
