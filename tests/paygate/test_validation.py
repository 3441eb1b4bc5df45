"""Request models: free-form `optional` stays storable, and every field a person reads is human-readable text."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, ValidationError

from bench.samples import collection_body, payout_body
from paygate.models import Channel
from paygate.payments.requests import CreateBillRequest, CreateRefundRequest
from paygate.providers import limits
from paygate.strict_json import MAX_FREE_FORM_DEPTH
from paygate.transfers.requests import CreateCollectionRequest, CreatePayoutRequest
from paygate.webhooks.requests import CreateWebhookEndpointRequest
from tests.support.bad_input import nested_value

BILL = {"bill_no": "BILL00000001", "channel": "WX_NATIVE", "total_fee": 100, "title": "tea"}
REFUND = {"refund_no": "20260101001", "bill_no": "BILL00000001", "refund_fee": 1}
ENDPOINT = {"url": "https://shop.example.com/hooks", "event_types": ["*"], "description": "ops"}


def _fields_with_error(model: type[BaseModel], body: dict) -> set[str]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    return {".".join(str(p) for p in e["loc"]) for e in raised.value.errors()}


# ------------------------------------------------------------------ channels and their own fields
def test_the_api_offers_exactly_the_channels_the_limits_define():
    assert {channel.value for channel in Channel} == limits.BILL_CHANNELS
    assert "ALI_WAP" in limits.BILL_CHANNELS  # Alipay mobile web, as the v1 SDKs send it


@pytest.mark.parametrize("use_app", [None, True, False])
def test_an_ali_wap_bill_takes_use_app_and_needs_no_return_url(use_app):
    body = {**BILL, "channel": "ALI_WAP"} | ({} if use_app is None else {"use_app": use_app})
    request = CreateBillRequest.model_validate(body)
    assert (request.channel, request.use_app, request.return_url) == (Channel.ALI_WAP, use_app, None)


@pytest.mark.parametrize(
    "extra",
    [
        {"channel": "ALI_WAP", "use_app": "true"},  # BeeCloud takes a JSON boolean, not its spelling
        {"channel": "ALI_WAP", "use_app": 1},
        {"channel": "ALI_WAP", "use_app": None, "show_url": "https://shop.example.com/item"},  # ALI_WEB's
        {"channel": "WX_NATIVE", "use_app": True},  # ALI_WAP's only
        {"channel": "ALI_WEB", "return_url": "https://shop.example.com/r", "use_app": False},
    ],
)
def test_use_app_is_a_boolean_for_ali_wap_only(extra):
    with pytest.raises(ValidationError):
        CreateBillRequest.model_validate({**BILL, **extra})


@pytest.mark.parametrize("field", sorted(limits.CHANNEL_ONLY))
def test_each_channel_specific_field_documents_the_channels_that_take_it(field):
    description = CreateBillRequest.model_fields[field].description or ""
    assert all(channel in description for channel in limits.CHANNEL_ONLY[field])


# ------------------------------------------------------------------ optional (free-form JSON)
FREE_FORM = [(CreateBillRequest, BILL), (CreateRefundRequest, REFUND)]


@pytest.mark.parametrize(("model", "body"), FREE_FORM, ids=["bill", "refund"])
@pytest.mark.parametrize(
    "optional",
    [
        nested_value(MAX_FREE_FORM_DEPTH + 1),
        nested_value(32),
        nested_value(200),
        {"": 1},
        {"n": 10**38},
        {"n": 1e200},
        {"n": 1e-200},
    ],
    ids=["depth-9", "depth-32", "depth-200", "empty-key", "39-digits", "1e200", "1e-200"],
)
def test_optional_values_dynamodb_cannot_store_are_refused(model, body, optional):
    assert _fields_with_error(model, {**body, "optional": optional}) == {"optional"}


@pytest.mark.parametrize(("model", "body"), FREE_FORM, ids=["bill", "refund"])
def test_optional_at_the_documented_limits_is_accepted(model, body):
    optional = {"deep": nested_value(MAX_FREE_FORM_DEPTH - 1), "n": 10**38 - 1, "f": 1e125, "g": 1e-130}
    assert model.model_validate({**body, "optional": optional}).optional == optional


# ------------------------------------------------------------------ human-readable text
# (model, valid body, field, takes line breaks). Every str field of a request model is either here
# or in MACHINE_FIELDS.
HUMAN_FIELDS = [
    (CreateBillRequest, BILL, "title", False),
    (CreatePayoutRequest, payout_body(), "account_owner", False),
    (CreatePayoutRequest, payout_body(), "address", False),
    (CreateCollectionRequest, collection_body(), "user_id", False),
    (CreateCollectionRequest, collection_body(), "user_name", False),
    (CreateWebhookEndpointRequest, ENDPOINT, "description", True),
]
MACHINE_FIELDS = {
    CreateBillRequest: {"bill_no", "channel", "return_url", "openid", "show_url", "qr_pay_mode"},
    CreateRefundRequest: {"refund_no", "bill_no"},
    CreatePayoutRequest: {"out_order_no", "account_type", "account", "bank_code", "ifsc", "email", "mobile"},
    CreateCollectionRequest: {"out_order_no", "email", "mobile", "return_url"},
    CreateWebhookEndpointRequest: {"url", "event_types"},
}
HIDDEN = {
    "NUL": "\x00",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 NEL": "\x85",
    "tab": "\t",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "LRM": "\u200e",
    "RLM": "\u200f",
    "ALM": "\u061c",
    "lone surrogate": "\ud800",
}
IDS = [f"{m.__name__}.{f}" for m, _, f, _ in HUMAN_FIELDS]


def test_every_text_field_of_a_request_is_classified():
    for model in MACHINE_FIELDS:
        annotations = {name: str(info.annotation) for name, info in model.model_fields.items()}
        # `str` as a word: StrictBool's annotation spells "strict=True" and is no text field.
        text_fields = {
            n for n, a in annotations.items() if (re.search(r"\bstr\b", a) or "Literal" in a) and "dict" not in a
        }
        human = {f for m, _, f, _ in HUMAN_FIELDS if m is model}
        assert text_fields - human - MACHINE_FIELDS[model] == set(), model.__name__


@pytest.mark.parametrize("char", HIDDEN.values(), ids=HIDDEN.keys())
@pytest.mark.parametrize(("model", "body", "field", "_lines"), HUMAN_FIELDS, ids=IDS)
def test_control_and_bidi_characters_are_refused_in_human_text(model, body, field, _lines, char):
    assert _fields_with_error(model, {**body, field: f"Asha{char}Rao"}) == {field}


@pytest.mark.parametrize(("model", "body", "field", "lines"), HUMAN_FIELDS, ids=IDS)
def test_line_breaks_only_where_a_field_takes_them(model, body, field, lines):
    value = "first line\nsecond\r\nthird"
    if lines:
        assert getattr(model.model_validate({**body, field: value}), field) == value
    else:
        assert _fields_with_error(model, {**body, field: value}) == {field}


@pytest.mark.parametrize(("model", "body", "field", "_lines"), HUMAN_FIELDS[1:], ids=IDS[1:])
def test_scripts_people_write_names_in_are_accepted(model, body, field, _lines):
    for name in ("José Müller", "आशा वर्मा", "محمد علي", "שרה כהן", "李雷"):
        assert getattr(model.model_validate({**body, field: name}), field) == name
