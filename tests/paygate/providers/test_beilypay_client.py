"""BeilyPayClient against a scripted provider: request shapes, signatures, envelopes, errors, retries."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from paygate.errors import (
    ProviderProtocolError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RejectReason,
)
from paygate.providers.beilypay import (
    BeilyPayClient,
    CollectionCreated,
    CollectionState,
    PayoutState,
    mask,
    sign,
)
from tests.paygate.providers._providers_support import BEILYPAY_CREDS, ScriptedProvider

BASE = "http://beilypay.test"
SECRET = BEILYPAY_CREDS.secret
REFUSED = r"must"

PAYOUT_ARGS: dict[str, Any] = {
    "out_order_no": "987654321",
    "amount": 123,
    "account_type": "Card",
    "account": "account",
    "account_owner": "owner",
    "bank_code": "bankcode",
    "ifsc": "ifsc",
    "address": "",
    "email": "9876543210@gmail.com",
    "mobile": "9876543210",
    "notify_url": "http://www.baidu.com/notifyUrl",
}
COLLECTION_ARGS: dict[str, Any] = {
    "out_order_no": "123456789",
    "amount": 111,
    "user_id": "userId111",
    "user_name": "userName111",
    "email": "9876543210@gmail.com",
    "mobile": "9876543210",
    "notify_url": "http://www.baidu.com/",
    "front_callback": "http://www.baidu.com/",
}


def signed(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "sign": sign(data, SECRET)}


def ok(data: dict[str, Any] | None) -> dict[str, Any]:
    return {"code": 200, "msg": "SUCC", "data": data}


TRANS_VO = {
    "appId": 1183601355,
    "merchantId": 3,
    "outOrderNo": "987654321",
    "payAmount": 123,
    "status": 1,
    "orderNo": "2108000001",
    "transTime": "2021-08-11 15:57:06",
}
TRANS_ORDER_VO = {k: v for k, v in TRANS_VO.items() if k != "transTime"} | {"status": 2}
PAY_VO = {
    "outOrderNo": "123456789",
    "payAmount": 111,
    "payUrl": "http://dev.beilypay.com/pay/abc",
    "orderNo": "2108PAY1",
}
PAYMENT_ORDER_VO = {
    "outOrderNo": "123456789",
    "paid": 111,
    "payAmount": 111,
    "status": 2,
    "orderNo": "2108PAY1",
    "transTime": "2021-08-11 15:57:06",
}


def client_for(provider: ScriptedProvider, sleeps: list[float] | None = None) -> BeilyPayClient:
    return BeilyPayClient(BASE, provider.client(), sleep=(sleeps if sleeps is not None else []).append)


# -- payouts --------------------------------------------------------------------------------------


def test_create_payout_sends_the_seed_body_signed_upper_case() -> None:
    provider = ScriptedProvider([ok(signed(TRANS_VO))])

    state = client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)

    assert state == PayoutState(
        order_no="2108000001",
        out_order_no="987654321",
        amount=123,
        status=1,
        trans_time="2021-08-11 15:57:06",
    )
    request = provider.requests[0]
    assert (request.method, str(request.url)) == ("POST", "http://beilypay.test/v2/trans/create")
    assert request.headers["content-type"] == "application/json"
    body = provider.bodies[0]
    # Protocols §2.7 #3: the empty address is not sent, so every SDK variant signs the same string.
    assert body == {
        "appId": 1183601355,
        "merchantId": 3,
        "outOrderNo": "987654321",
        "payAmount": 123,
        "accountType": "Card",
        "account": "account",
        "accountOwner": "owner",
        "bankCode": "bankcode",
        "ifsc": "ifsc",
        "notifyUrl": "http://www.baidu.com/notifyUrl",
        "email": "9876543210@gmail.com",
        "mobile": "9876543210",
        "sign": "78C177035F76386CE7E9E22115F75B64",
    }
    assert isinstance(body["appId"], int)
    assert isinstance(body["payAmount"], int)


def test_blank_soft_fields_are_omitted() -> None:
    provider = ScriptedProvider([ok(signed(TRANS_VO))])
    client_for(provider).create_payout(BEILYPAY_CREDS, **(PAYOUT_ARGS | {"email": "  ", "mobile": "", "address": " "}))
    assert {"email", "mobile", "address"}.isdisjoint(provider.bodies[0])


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": 0},
        {"amount": -5},
        {"amount": 2**31},
        {"amount": True},
        {"amount": 1.5},
        {"account": ""},
        {"account": " 123"},
        {"ifsc": "   "},
        {"out_order_no": ""},
        {"notify_url": ""},
        {"email": " a@b.c "},
        {"account_owner": "owner\x01"},  # BeilyPay's Java verifier would trim it off
        {"account_owner": "\u3000"},
        {"account_owner": "own\ud800er"},  # cannot be sent as UTF-8
    ],
)
def test_create_payout_refuses_malformed_input(overrides: dict[str, Any]) -> None:
    provider = ScriptedProvider([ok(signed(TRANS_VO))])
    with pytest.raises(ValueError, match=REFUSED):
        client_for(provider).create_payout(BEILYPAY_CREDS, **(PAYOUT_ARGS | overrides))
    assert provider.requests == []


def test_an_answer_that_breaks_signature_checking_is_a_protocol_error_not_a_crash() -> None:
    # A nested decimal in data: rendering it for the signature check must not raise TypeError.
    data = json.dumps({**TRANS_VO, "extra": [1.5], "sign": "0" * 32})
    provider = ScriptedProvider([(200, f'{{"code": 200, "msg": "SUCC", "data": {data}}}')])

    with pytest.raises(ProviderProtocolError) as info:
        client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)

    assert info.value.outcome_unknown


def test_an_unforeseen_transport_failure_leaves_a_create_unknown() -> None:
    provider = ScriptedProvider([RuntimeError("a transport failing in a way nobody classified")])

    with pytest.raises(ProviderProtocolError) as info:
        client_for(provider).create_collection(BEILYPAY_CREDS, **COLLECTION_ARGS)

    assert info.value.outcome_unknown
    assert len(provider.requests) == 1


@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_response_sign_is_verified_case_insensitively(case) -> None:
    data = signed(TRANS_VO)
    provider = ScriptedProvider([ok({**data, "sign": case(data["sign"])})])
    assert client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS).status == 1


def test_response_sign_over_documented_fields_only_is_accepted() -> None:
    provider = ScriptedProvider([ok({**signed(TRANS_VO), "newField": "unsigned"})])
    assert client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS).order_no == "2108000001"


@pytest.mark.parametrize("unsigned", [TRANS_VO, {**TRANS_VO, "sign": ""}, {**TRANS_VO, "sign": None}])
def test_an_order_answer_without_its_sign_is_a_protocol_error(unsigned: dict[str, Any]) -> None:
    """Order answers document `data.sign`: an unsigned one could say anything about money."""
    provider = ScriptedProvider([ok(unsigned)])
    with pytest.raises(ProviderProtocolError, match=r"data\.sign is missing") as info:
        client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)
    assert info.value.outcome_unknown


@pytest.mark.parametrize(
    "data",
    [
        {**signed(TRANS_VO), "status": 2},  # tampered after signing
        {**TRANS_VO, "sign": "0" * 32},
        {**TRANS_VO, "sign": sign(TRANS_VO, "another-secret")},
    ],
)
def test_bad_response_sign_is_a_protocol_error(data: dict[str, Any]) -> None:
    provider = ScriptedProvider([ok(data)])
    with pytest.raises(ProviderProtocolError, match="sign") as info:
        client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)
    assert info.value.outcome_unknown


@pytest.mark.parametrize(
    "data",
    [
        None,
        {**TRANS_VO, "outOrderNo": "other"},
        {**TRANS_VO, "payAmount": 124},
        {**TRANS_VO, "status": 7},
        {**TRANS_VO, "payAmount": 123.0},
        {k: v for k, v in TRANS_VO.items() if k != "orderNo"},
        {**TRANS_VO, "orderNo": ""},
    ],
)
def test_malformed_payout_answers_are_protocol_errors(data: dict[str, Any] | None) -> None:
    provider = ScriptedProvider([ok(data)])
    with pytest.raises(ProviderProtocolError) as info:
        client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)
    assert info.value.outcome_unknown


def test_stringly_numbers_and_null_time_are_tolerated() -> None:
    data = {**TRANS_VO, "payAmount": "123", "appId": "1183601355", "status": "1", "transTime": None}
    provider = ScriptedProvider([ok(signed(data))])
    state = client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)
    assert (state.amount, state.status, state.trans_time) == (123, 1, None)


@pytest.mark.parametrize(
    ("code", "reason", "unknown"),
    [
        (10001, RejectReason.AUTH, False),
        (10002, RejectReason.AUTH, False),
        (10003, RejectReason.NOT_FOUND, False),
        (10004, RejectReason.AUTH, False),
        (10005, RejectReason.INSUFFICIENT_FUNDS, False),
        (10006, RejectReason.RATE_LIMITED, False),
        (10007, RejectReason.AUTH, False),
        (10008, RejectReason.PROVIDER_INTERNAL, False),
        (10009, RejectReason.ALREADY_FINAL, False),
        (10010, RejectReason.ALREADY_FINAL, False),
        (10011, RejectReason.INVALID_REQUEST, False),
        (10012, RejectReason.CHANNEL_ERROR, False),
        (10013, RejectReason.INVALID_REQUEST, False),
        (20001, RejectReason.PROVIDER_INTERNAL, True),
        (500, RejectReason.PROVIDER_INTERNAL, True),
        (0, RejectReason.PROVIDER_INTERNAL, True),  # the doc's template `code: 0` is not success
    ],
)
def test_payout_error_codes(code: int, reason: RejectReason, unknown: bool) -> None:
    provider = ScriptedProvider([{"code": code, "msg": "some text", "data": None}])

    with pytest.raises(ProviderRejectedError) as info:
        client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)

    err = info.value
    assert (err.code, err.reason, err.outcome_unknown, err.message, err.provider) == (
        code,
        reason,
        unknown,
        "some text",
        "beilypay",
    )
    assert len(provider.requests) == 1


def test_indeterminate_codes_on_queries_are_not_unknown() -> None:
    provider = ScriptedProvider([{"code": 20001, "msg": "unknow error"}])
    with pytest.raises(ProviderRejectedError) as info:
        client_for(provider).query_payout(BEILYPAY_CREDS, order_no="2108000001")
    assert not info.value.outcome_unknown


@pytest.mark.parametrize(
    "reply",
    [
        (500, {"code": 500, "msg": "x"}),
        (502, "<html/>"),
        (200, "SUCC"),
        (200, "[]"),
        {"msg": "SUCC", "data": {}},
        {"code": "two hundred"},
        (400, {"code": 200, "msg": "SUCC", "data": TRANS_VO}),
        (404, "<html>not found</html>"),
    ],
)
def test_broken_answers_are_protocol_errors(reply: Any) -> None:
    provider = ScriptedProvider([reply])
    with pytest.raises(ProviderProtocolError) as info:
        client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)
    assert info.value.outcome_unknown


@pytest.mark.parametrize(
    ("exc", "error", "unknown"),
    [
        (httpx.ReadTimeout("slow"), ProviderTimeoutError, True),
        (httpx.WriteTimeout("slow"), ProviderTimeoutError, True),
        (httpx.RemoteProtocolError("dropped"), ProviderProtocolError, True),
        (httpx.ConnectError("refused"), ProviderUnavailableError, False),
        (httpx.ConnectTimeout("syn"), ProviderUnavailableError, False),
    ],
)
def test_payout_create_is_never_retried(exc: Exception, error: type[Exception], unknown: bool) -> None:
    provider = ScriptedProvider([exc, ok(signed(TRANS_VO))])
    with pytest.raises(error) as info:
        client_for(provider).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)
    assert getattr(info.value, "outcome_unknown") is unknown  # noqa: B009
    assert len(provider.requests) == 1


def test_query_payout() -> None:
    provider = ScriptedProvider([ok(signed(TRANS_ORDER_VO))])

    state = client_for(provider).query_payout(BEILYPAY_CREDS, order_no="2108000001")

    assert state == PayoutState(order_no="2108000001", out_order_no="987654321", amount=123, status=2, trans_time=None)
    assert str(provider.requests[0].url) == "http://beilypay.test/v2/trans/query"
    query = {"appId": 1183601355, "merchantId": 3, "orderNo": "2108000001"}
    assert provider.bodies[0] == {**query, "sign": sign(query, SECRET)}


def test_query_payout_for_another_order_is_a_protocol_error() -> None:
    provider = ScriptedProvider([ok(signed({**TRANS_ORDER_VO, "orderNo": "other"}))])
    with pytest.raises(ProviderProtocolError):
        client_for(provider).query_payout(BEILYPAY_CREDS, order_no="2108000001")


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), (500, "oops"), httpx.ReadError("reset")],
)
def test_queries_retry_transient_failures(failure: Any) -> None:
    sleeps: list[float] = []
    provider = ScriptedProvider([failure, failure, ok(signed(TRANS_ORDER_VO))])

    state = client_for(provider, sleeps).query_payout(BEILYPAY_CREDS, order_no="2108000001")

    assert state.status == 2
    assert len(provider.requests) == 3
    assert sleeps == [0.2, 0.4]
    assert provider.bodies[0] == provider.bodies[2]


def test_queries_give_up_after_two_retries() -> None:
    provider = ScriptedProvider([(503, "busy")])
    with pytest.raises(ProviderProtocolError):
        client_for(provider).query_collection(BEILYPAY_CREDS, order_no="2108PAY1")
    assert len(provider.requests) == 3


def test_queries_do_not_retry_rejections() -> None:
    provider = ScriptedProvider([{"code": 10003, "msg": "orderNo not exist"}])
    with pytest.raises(ProviderRejectedError) as info:
        client_for(provider).query_payout(BEILYPAY_CREDS, order_no="nope")
    assert info.value.reason is RejectReason.NOT_FOUND
    assert len(provider.requests) == 1


# -- collections ----------------------------------------------------------------------------------


def test_create_collection_body_matches_the_reference_vector() -> None:
    provider = ScriptedProvider([ok(signed(PAY_VO))])

    created = client_for(provider).create_collection(BEILYPAY_CREDS, **COLLECTION_ARGS)

    assert created == CollectionCreated(
        order_no="2108PAY1", out_order_no="123456789", amount=111, pay_url="http://dev.beilypay.com/pay/abc"
    )
    assert str(provider.requests[0].url) == "http://beilypay.test/v2/payment/create"
    body = provider.bodies[0]
    assert body["sign"] == "308ACBB8F1B7C3D1FB9D2E882D2FF943"  # protocols §2.7 #2
    assert set(body) == {
        "appId",
        "merchantId",
        "payAmount",
        "mobile",
        "email",
        "notifyUrl",
        "frontCallback",
        "outOrderNo",
        "userId",
        "userName",
        "sign",
    }


@pytest.mark.parametrize(
    "data",
    [
        {**PAY_VO, "payUrl": ""},
        {**PAY_VO, "outOrderNo": "x"},
        {**PAY_VO, "payAmount": 112},
        {k: v for k, v in PAY_VO.items() if k != "payUrl"},
    ],
)
def test_malformed_collection_answers(data: dict[str, Any]) -> None:
    with pytest.raises(ProviderProtocolError):
        client_for(ScriptedProvider([ok(data)])).create_collection(BEILYPAY_CREDS, **COLLECTION_ARGS)


def test_create_collection_is_not_retried() -> None:
    provider = ScriptedProvider([httpx.ReadTimeout("slow"), ok(signed(PAY_VO))])
    with pytest.raises(ProviderTimeoutError):
        client_for(provider).create_collection(BEILYPAY_CREDS, **COLLECTION_ARGS)
    assert len(provider.requests) == 1


def test_query_collection() -> None:
    provider = ScriptedProvider([ok(signed(PAYMENT_ORDER_VO))])

    state = client_for(provider).query_collection(BEILYPAY_CREDS, order_no="2108PAY1")

    assert state == CollectionState(
        order_no="2108PAY1",
        out_order_no="123456789",
        amount=111,
        paid=111,
        status=2,
        trans_time="2021-08-11 15:57:06",
    )
    assert str(provider.requests[0].url) == "http://beilypay.test/v2/payment/query"


def test_query_collection_pending_without_paid() -> None:
    data = {**PAYMENT_ORDER_VO, "status": 0, "transTime": None}
    del data["paid"]
    state = client_for(ScriptedProvider([ok(signed(data))])).query_collection(BEILYPAY_CREDS, order_no="2108PAY1")
    assert (state.status, state.paid, state.trans_time) == (0, None, None)


# Signed, so only the content is wrong; status 2 (paid) without `paid` would leave the amount to a guess.
@pytest.mark.parametrize("patch", [{"status": 4}, {"paid": -1}, {"paid": 1.5}, {"paid": None}])
def test_query_collection_malformed(patch: dict[str, Any]) -> None:
    provider = ScriptedProvider([ok(signed({**PAYMENT_ORDER_VO, **patch}))])
    with pytest.raises(ProviderProtocolError):
        client_for(provider).query_collection(BEILYPAY_CREDS, order_no="2108PAY1")


# -- balance --------------------------------------------------------------------------------------


def balance_reply(amount_literal: str, *, signed_answer: bool = False) -> httpx.Response:
    data = f'{{"merchantId":3,"settlementAmount":{amount_literal}}}'
    if signed_answer:
        sig = sign({"merchantId": 3, "settlementAmount": Decimal(amount_literal)}, SECRET)
        data = data[:-1] + f',"sign":"{sig}"}}'
    body = f'{{"code":200,"msg":"SUCC","data":{data}}}'
    return httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("literal", ["99.99", "0.10", "12345678901234567890.01", "0"])
def test_balance_is_exact_inr(literal: str) -> None:
    provider = ScriptedProvider([lambda _r: balance_reply(literal)])

    balance = client_for(provider).balance(BEILYPAY_CREDS)

    assert balance == Decimal(literal)
    assert str(balance) == literal
    assert str(provider.requests[0].url) == "http://beilypay.test/merchant/accountInfo"
    assert provider.bodies[0] == {
        "appId": 1183601355,
        "merchantId": 3,
        "sign": sign(provider.bodies[0], SECRET),
    }


def test_balance_signed_answer_verifies_on_the_literal_text() -> None:
    provider = ScriptedProvider([lambda _r: balance_reply("99.90", signed_answer=True)])
    assert client_for(provider).balance(BEILYPAY_CREDS) == Decimal("99.90")


@pytest.mark.parametrize(
    "data",
    [
        {"merchantId": 4, "settlementAmount": 1},
        {"merchantId": 3},
        {"settlementAmount": "lots"},
        {"settlementAmount": True},
    ],
)
def test_balance_malformed(data: dict[str, Any]) -> None:
    with pytest.raises(ProviderProtocolError):
        client_for(ScriptedProvider([ok(data)])).balance(BEILYPAY_CREDS)


def test_balance_is_retried() -> None:
    provider = ScriptedProvider([httpx.ConnectError("refused"), ok({"merchantId": 3, "settlementAmount": 5})])
    assert client_for(provider).balance(BEILYPAY_CREDS) == Decimal(5)
    assert len(provider.requests) == 2


@pytest.mark.parametrize(("value", "masked"), [("123456789012", "********9012"), ("1234", "****"), ("", "")])
def test_mask_keeps_only_the_last_four(value: str, masked: str) -> None:
    assert mask(value) == masked


def test_credentials_repr_hides_the_secret() -> None:
    assert SECRET not in repr(BEILYPAY_CREDS)


def test_request_bytes_are_compact_json_numbers() -> None:
    provider = ScriptedProvider([ok(signed(TRANS_ORDER_VO))])
    client_for(provider).query_payout(BEILYPAY_CREDS, order_no="2108000001")
    raw = provider.requests[0].content.decode()
    assert raw.startswith('{"appId":1183601355,"merchantId":3,"orderNo":"2108000001","sign":"')
    assert json.loads(raw)["sign"].isupper()
