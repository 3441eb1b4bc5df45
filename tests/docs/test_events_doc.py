"""docs/events.md: its schemas are current, and real events of every detail-type validate against them."""

from __future__ import annotations

import json
import re

import pytest

from paygate import events
from paygate.models import (
    Bill,
    BillStatus,
    Channel,
    CheckoutSession,
    CheckoutStatus,
    Collection,
    Payout,
    Refund,
    RefundStatus,
    TransferStatus,
)
from scripts import event_schemas
from tests.support.template import ROOT

jsonschema = pytest.importorskip("jsonschema")

DOC = (ROOT / "docs" / "events.md").read_text()
NOW = 1_795_599_000_000


def _documented_schemas() -> dict[str, dict]:
    blocks = re.findall(r"#### `([a-z._]+)`\n\n```json\n(.*?)\n```", DOC, re.DOTALL)
    return {name: json.loads(text) for name, text in blocks}


def test_the_document_is_current():
    assert event_schemas.main(["--check"]) == 0


def test_every_detail_type_has_a_schema_and_a_catalogue_row():
    published = {v for k, v in vars(events).items() if k.isupper() and isinstance(v, str) and "." in v}
    assert set(_documented_schemas()) == published
    for detail_type in published:
        assert f"| `{detail_type}` |" in DOC


def _payout(status: TransferStatus, **extra) -> Payout:
    return Payout(
        app_id="app_0123456789abcdef", out_order_no="PO-1", amount=150_000, account_type="Card",
        account_last4="1234", account_owner="Asha", bank_code="SBIN", ifsc="SBIN0001234", status=status,
        provider_state="created", provider_order_no="261125512000000001", request_hash="h",
        created_at_ms=NOW, updated_at_ms=NOW, **extra,
    )  # fmt: skip


def _collection(status: TransferStatus, **extra) -> Collection:
    return Collection(
        app_id="app_0123456789abcdef", out_order_no="CO-1", amount=49_900, user_id="u", user_name="Ravi",
        return_url="https://shop.example.in/", status=status, provider_state="created",
        provider_order_no="261125512000000002", pay_url="http://pay/1", request_hash="h",
        created_at_ms=NOW, updated_at_ms=NOW, **extra,
    )  # fmt: skip


def _bill(status: BillStatus, **extra) -> Bill:
    return Bill(
        app_id="app_0123456789abcdef", bill_no="20261125000001", channel=Channel.WX_NATIVE, total_fee=100,
        title="水", status=status, payment_params={"code_url": "weixin://x"}, request_hash="h",
        provider_state="created", created_at_ms=NOW, updated_at_ms=NOW, **extra,
    )  # fmt: skip


def _refund(status: RefundStatus, **extra) -> Refund:
    return Refund(
        app_id="app_0123456789abcdef", refund_no="20261125001", bill_no="20261125000001",
        channel=Channel.WX_NATIVE, refund_fee=50, status=status, request_hash="h",
        created_at_ms=NOW, updated_at_ms=NOW, finished_at_ms=NOW, **extra,
    )  # fmt: skip


def _session(status: CheckoutStatus, **extra) -> CheckoutSession:
    return CheckoutSession(
        app_id="app_0123456789abcdef", session_id="cs_" + "0" * 24, url="https://x/pay/t", total_fee=100,
        title="水", channels=["WX_NATIVE"], return_url="https://shop.example/", status=status, request_hash="h",
        created_at_ms=NOW, expires_at_ms=NOW + 1_800_000, **extra,
    )  # fmt: skip


SAMPLES = [
    events.bill_succeeded(_bill(BillStatus.SUCCEEDED, paid_at_ms=NOW)),
    events.bill_failed(_bill(BillStatus.FAILED, failure_code="channel_error", failure_message="refused")),
    events.refund_finished(_refund(RefundStatus.SUCCEEDED)),
    events.refund_finished(_refund(RefundStatus.FAILED, failure_code="refund_failed", failure_message="no")),
    events.transfer_event(_payout(TransferStatus.SUCCEEDED, finished_at_ms=NOW)),
    events.transfer_event(_payout(TransferStatus.FAILED, failure_code="payout_failed", failure_message="bank")),
    events.transfer_event(_payout(TransferStatus.UNKNOWN, unknown_reason="create_timeout", unknown_at_ms=NOW)),
    events.transfer_event(_collection(TransferStatus.SUCCEEDED, paid=40_000, finished_at_ms=NOW)),
    events.transfer_event(_collection(TransferStatus.FAILED, paid=0, failure_code="collection_failed")),
    events.transfer_event(_collection(TransferStatus.UNKNOWN, unknown_reason="poll_deadline")),
    events.checkout_session_event(_session(CheckoutStatus.COMPLETE, paid_bill_no="B1", completed_at_ms=NOW)),
    events.checkout_session_event(_session(CheckoutStatus.EXPIRED)),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.detail_type)
def test_real_events_validate_against_their_schema(event):
    schema = _documented_schemas()[event.detail_type]
    jsonschema.validate(event.detail(), schema, format_checker=jsonschema.FormatChecker())


def test_a_schema_refuses_a_detail_of_another_type():
    schema = _documented_schemas()["payout.succeeded"]
    detail = events.transfer_event(_payout(TransferStatus.FAILED, failure_code="payout_failed")).detail()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(detail, schema)


def test_events_never_carry_the_pay_url_or_payment_parameters():
    for event in SAMPLES:
        assert "pay_url" not in event.data
        assert "payment" not in event.data
