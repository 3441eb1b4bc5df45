"""Every body the API accepts is one the provider adapter can build, sign and send.

Property-based: hypothesis generates create bodies for bills, refunds, payouts and collections,
biased towards the characters that break rules at the edges (blank and ideographic spaces, line
breaks, control characters, lone surrogates, non-GBK text, numbers that are not JSON). Each body
the API model accepts goes through the real adapter over an httpx MockTransport: the adapter must
send exactly one request, carrying the values the API accepted, and raise nothing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from paygate.models import Channel
from paygate.payments.requests import CreateBillRequest, CreateRefundRequest
from paygate.providers import limits
from paygate.providers.beecloud import BeeCloudClient
from paygate.providers.beilypay import BeilyPayClient
from paygate.transfers.requests import CreateCollectionRequest, CreatePayoutRequest
from tests.paygate.providers._providers_support import BEECLOUD_CREDS, FIXED_NOW_S
from tests.support.services import BEILYPAY_CREDS, beilypay_payment_answer, beilypay_trans_answer

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Characters that sit on the edge of some rule: whitespace by one definition and not another,
# controls, a BOM, lone surrogates, text outside GBK.
EDGE = st.sampled_from(
    [
        *(" ", "\u3000", "\t", "\n", "\r", "\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u200b", "\ufeff"),
        *("\x00", "\x7f", "\ud800", "\udfff", "😀", "☕", "é", "白"),
    ]
)
ANY_CHAR = st.characters(categories=["L", "N", "P", "S", "Z", "Cc", "Cf", "Cs"])


def edgy(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value padded with edge characters, edge characters alone, or any text at all."""
    padding = st.lists(EDGE, max_size=2).map("".join)
    return st.one_of(
        st.tuples(padding, valid, padding).map("".join),
        st.lists(EDGE, min_size=1, max_size=4).map("".join),
        st.text(ANY_CHAR, max_size=40),
    )


class Edgy:
    """A text field: `valid` values, made edgy in some examples."""

    def __init__(self, valid: st.SearchStrategy[str]) -> None:
        self.valid = valid


def body_of(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any] | Edgy]) -> dict[str, Any]:
    """Every text field valid but one, which is drawn `edgy` (so most bodies are worth checking)."""
    texts = [name for name, strategy in fields.items() if isinstance(strategy, Edgy)]
    odd = draw(st.sampled_from(texts)) if texts else None
    body = {
        name: draw(edgy(strategy.valid) if name == odd else strategy.valid)
        if isinstance(strategy, Edgy)
        else draw(strategy)
        for name, strategy in fields.items()
    }
    return {name: value for name, value in body.items() if value is not None}


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(ANY_CHAR, max_size=8),
)
OPTIONAL = st.one_of(
    st.none(),
    st.dictionaries(
        st.text(ANY_CHAR, max_size=6),
        st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=5),
        max_size=3,
    ),
)
# Out-of-range amounts are refused by both sides alike (tested with the handlers): the limits are drawn.
FEE = st.one_of(st.integers(min_value=1, max_value=limits.MAX_FEE), st.sampled_from([1, limits.MAX_FEE]))
URL = st.sampled_from(["https://shop.example/return", "http://127.0.0.1:8080/r?x=1", "HTTPS://a.b/c#d"])
OPENID = st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True)
GBK_TEXT = st.text(st.sampled_from("AZaz09 -_.白开水咖啡茶\u3000"), min_size=1, max_size=20)
BEECLOUD_ANSWER = {
    "result_code": 0,
    "result_msg": "OK",
    "err_detail": "",
    **dict.fromkeys(
        ["code_url", "order_string", "html", "url", "tn", "app_id", "partner_id", "package", "nonce_str"], "x"
    ),
    **dict.fromkeys(["timestamp", "pay_sign", "prepay_id", "sign_type", "id"], "x"),
}


class Capture:
    """A MockTransport that keeps every request and answers it with `answer(body)`."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        return httpx.Response(200, json=self.answer(body) if callable(self.answer) else self.answer)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


def _accepted(model: type[Any], body: dict[str, Any]) -> Any:
    """The API model's reading of `body` as the API parses it (Python's json, like Powertools:
    lone surrogates and NaN get through the parser), or the example is discarded."""
    try:
        return model.model_validate(json.loads(json.dumps(body)))
    except ValidationError:
        assume(False)


@st.composite
def bill_bodies(draw: st.DrawFn) -> dict[str, Any]:
    channel = draw(st.sampled_from(list(Channel)))
    values: dict[str, st.SearchStrategy[Any] | Edgy] = {
        "openid": Edgy(OPENID),
        "show_url": Edgy(URL),
        "qr_pay_mode": st.sampled_from([None, "0", "1", "3"]),
        "use_app": st.sampled_from([None, True, False, 1, "true"]),
    }
    assert set(values) == set(limits.CHANNEL_ONLY), "a channel-specific field without a strategy"
    extras: dict[str, st.SearchStrategy[Any] | Edgy] = {
        "return_url": Edgy(URL) if channel.value in limits.RETURN_URL_REQUIRED else st.one_of(st.none(), URL),
        **{name: values[name] if channel in only else st.none() for name, only in limits.CHANNEL_ONLY.items()},
    }
    return body_of(
        draw,
        {
            "bill_no": st.from_regex(limits.BILL_NO, fullmatch=True),
            "channel": st.just(channel.value),
            "total_fee": FEE,
            "title": Edgy(GBK_TEXT),
            "optional": OPTIONAL,
            **extras,
        },
    )


@given(bill_bodies())
@PROPERTY
def test_every_bill_the_api_accepts_is_sent_by_the_beecloud_adapter(body: dict[str, Any]) -> None:
    request = _accepted(CreateBillRequest, body)
    upstream = Capture(BEECLOUD_ANSWER)

    BeeCloudClient("http://beecloud.test", upstream.client(), clock=lambda: FIXED_NOW_S).create_bill(
        BEECLOUD_CREDS,
        channel=request.channel.value,
        bill_no=request.bill_no,
        total_fee=request.total_fee,
        title=request.title,
        optional=request.optional,
        return_url=request.return_url,
        openid=request.openid,
        show_url=request.show_url,
        qr_pay_mode=request.qr_pay_mode,
        use_app=request.use_app,
    )

    [sent] = upstream.bodies
    assert (sent["bill_no"], sent["total_fee"], sent["title"]) == (request.bill_no, request.total_fee, request.title)
    for name in ("return_url", *limits.CHANNEL_ONLY):
        assert sent.get(name) == getattr(request, name)


@st.composite
def refund_bodies(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
    serial = draw(st.from_regex(r"[0-9A-Za-z]{3,24}", fullmatch=True))
    return body_of(
        draw,
        {
            "refund_no": st.one_of(st.just(f"{day:%Y%m%d}{serial}"), st.from_regex(limits.REFUND_NO, fullmatch=True)),
            "bill_no": st.from_regex(limits.BILL_NO, fullmatch=True),
            "refund_fee": FEE,
            "optional": OPTIONAL,
        },
    )


@given(refund_bodies(), st.sampled_from(list(Channel)))
@PROPERTY
def test_every_refund_the_api_accepts_is_sent_by_the_beecloud_adapter(body: dict[str, Any], channel: Channel) -> None:
    request = _accepted(CreateRefundRequest, body)
    upstream = Capture({"result_code": 0, "result_msg": "OK", "err_detail": "", "id": "r-1"})

    BeeCloudClient("http://beecloud.test", upstream.client(), clock=lambda: FIXED_NOW_S).refund(
        BEECLOUD_CREDS,
        channel=channel.family,
        refund_no=request.refund_no,
        bill_no=request.bill_no,
        refund_fee=request.refund_fee,
        optional=request.optional,
    )

    [sent] = upstream.bodies
    assert (sent["refund_no"], sent["refund_fee"]) == (request.refund_no, request.refund_fee)


AMOUNT = st.one_of(st.integers(min_value=1, max_value=limits.MAX_AMOUNT), st.sampled_from([1, limits.MAX_AMOUNT]))
NAME = Edgy(st.text(st.characters(categories=["L", "Zs"]), min_size=1, max_size=30))
EMAIL = Edgy(st.sampled_from(["asha@example.in", "a.b+c@mail.example.co.in"]))
MOBILE = Edgy(st.from_regex(r"[6-9][0-9]{9}", fullmatch=True))
OUT_ORDER_NO = Edgy(st.from_regex(r"[0-9A-Za-z_-]{1,32}", fullmatch=True))


@st.composite
def payout_bodies(draw: st.DrawFn) -> dict[str, Any]:
    return body_of(
        draw,
        {
            "out_order_no": OUT_ORDER_NO,
            "amount": AMOUNT,
            "account_type": st.just("Card"),
            "account": Edgy(st.from_regex(r"[0-9]{6,20}", fullmatch=True)),
            "account_owner": NAME,
            "bank_code": Edgy(st.from_regex(r"[0-9A-Za-z_-]{1,32}", fullmatch=True)),
            "ifsc": Edgy(st.from_regex(r"[A-Z]{4}0[A-Z0-9]{6}", fullmatch=True)),
            "address": Edgy(st.text(min_size=1, max_size=60)),
            "email": EMAIL,
            "mobile": MOBILE,
        },
    )


@given(payout_bodies())
@PROPERTY
def test_every_payout_the_api_accepts_is_sent_by_the_beilypay_adapter(body: dict[str, Any]) -> None:
    request = _accepted(CreatePayoutRequest, body)
    upstream = Capture(beilypay_trans_answer)

    BeilyPayClient("http://beilypay.test", upstream.client()).create_payout(
        BEILYPAY_CREDS,
        out_order_no=request.out_order_no,
        amount=request.amount,
        account_type=request.account_type,
        account=request.account,
        account_owner=request.account_owner,
        bank_code=request.bank_code,
        ifsc=request.ifsc,
        address=request.address,
        email=request.email,
        mobile=request.mobile,
        notify_url="https://api.example.com/callbacks/beilypay/payout",
    )

    [sent] = upstream.bodies
    assert (sent["accountOwner"], sent["address"], sent["payAmount"]) == (
        request.account_owner,
        request.address,
        request.amount,
    )


@st.composite
def collection_bodies(draw: st.DrawFn) -> dict[str, Any]:
    return body_of(
        draw,
        {
            "out_order_no": OUT_ORDER_NO,
            "amount": AMOUNT,
            "user_id": Edgy(st.text(min_size=1, max_size=30)),
            "user_name": NAME,
            "email": EMAIL,
            "mobile": MOBILE,
            "return_url": Edgy(URL),
        },
    )


@given(collection_bodies())
@PROPERTY
def test_every_collection_the_api_accepts_is_sent_by_the_beilypay_adapter(body: dict[str, Any]) -> None:
    request = _accepted(CreateCollectionRequest, body)
    upstream = Capture(beilypay_payment_answer)

    BeilyPayClient("http://beilypay.test", upstream.client()).create_collection(
        BEILYPAY_CREDS,
        out_order_no=request.out_order_no,
        amount=request.amount,
        user_id=request.user_id,
        user_name=request.user_name,
        email=request.email,
        mobile=request.mobile,
        notify_url="https://api.example.com/callbacks/beilypay/collection",
        front_callback=request.return_url,
    )

    [sent] = upstream.bodies
    assert (sent["userId"], sent["userName"], sent["frontCallback"]) == (
        request.user_id,
        request.user_name,
        request.return_url,
    )
