"""Reconcile handler against moto and the real sandboxes: fix what the provider proves, report the rest."""

from __future__ import annotations

import json
import time

import boto3
import httpx
import pytest

from bench.samples import collection_body, payout_body
from paygate.clock import iso_from_ms, now_ms
from paygate.credentials import BeeCloudCredentials
from paygate.models import OrderKind
from paygate.providers.beecloud import BeeCloudClient
from paygate.store.orders import order_pk
from tests.support.clock import refund_no as todays_refund_no
from tests.support.functions import (
    add_fault,
    api_event,
    body_of,
    invoke,
    pay_in_sandbox,
    webhook_event,
)

pytestmark = pytest.mark.clock  # dates: run under shifted clocks by `make test-clock`


def _window():
    now = now_ms()
    return {"from": iso_from_ms(now - 3_600_000), "to": iso_from_ms(now + 60_000)}


def _reconcile(app_id, **extra):
    return invoke("reconcile", {"app_id": app_id, **_window(), **extra})


def _create_bill(merchant, bill_no, channel="WX_NATIVE", total_fee=100):
    body = {"bill_no": bill_no, "channel": channel, "total_fee": total_fee, "title": "白开水"}
    result = invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] == 201, result["body"]
    return body_of(result)


def _get(merchant, kind, order_no):
    resource = f"/{kind}s/{{{kind}_no}}"
    event = api_event(
        "GET",
        f"/{kind}s/{order_no}",
        resource=resource,
        headers={"Authorization": merchant.auth},
        path_params={f"{kind}_no": order_no},
    )
    result = invoke("query", event)
    assert result["statusCode"] == 200, result["body"]
    return body_of(result)


def _item(app_id, kind, order_no):
    key = {"pk": {"S": order_pk(kind, app_id, order_no)}}
    return boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]


def _types(events):
    return [e["detail-type"] for e in events]


def test_a_bill_paid_while_the_webhook_was_dropped_is_fixed_with_one_event_and_evidence(
    merchant, aws, beecloud_sandbox, clean_faults
):
    add_fault(beecloud_sandbox.url, scope="callback", kind="drop", path=f"{merchant.beecloud_app_id}/PAY/")
    _create_bill(merchant, "RECPAY000001")
    paid = httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/RECPAY000001/pay")
    assert paid.status_code == 200
    assert _get(merchant, "bill", "RECPAY000001")["status"] == "pending"  # the webhook never came
    aws.published_events()

    report = _reconcile(merchant.app_id)

    assert report["fixes"] == [
        {
            "app_id": merchant.app_id,
            "provider": "beecloud",
            "order_kind": "bill",
            "order_no": "RECPAY000001",
            "from_status": "pending",
            "to_status": "succeeded",
            "event": "bill.succeeded",
            "evidence": report["fixes"][0]["evidence"],
        }
    ]
    assert report["mismatches"] == []
    assert report["errors"] == []
    assert _get(merchant, "bill", "RECPAY000001")["status"] == "succeeded"
    evidence = _item(merchant.app_id, OrderKind.BILL, "RECPAY000001")["reconciled_by"]["M"]
    assert evidence["source"]["S"] == "beecloud /1/rest/bills"
    assert evidence["run_id"]["S"] == report["run_id"]
    assert evidence["record"]["M"]["spay_result"] == {"BOOL": True}
    assert evidence["record"]["M"]["total_fee"] == {"N": "100"}
    events = aws.published_events()
    assert _types(events) == ["bill.succeeded"]
    assert events[0]["detail"]["data"]["bill_no"] == "RECPAY000001"

    again = _reconcile(merchant.app_id)  # a second run finds nothing to fix...

    assert (again["fixes"], again["mismatches"], again["errors"]) == ([], [], [])
    # ...and publishes the reconciled bill's event again, with the same id (at-least-once, never lost).
    assert [e["detail"]["event_id"] for e in aws.published_events()] == [events[0]["detail"]["event_id"]]


def test_an_event_lost_after_a_fix_is_published_by_the_next_run(
    merchant, aws, beecloud_sandbox, clean_faults, monkeypatch
):
    from paygate.bus import PublishError
    from paygate.deps import event_publisher

    add_fault(beecloud_sandbox.url, scope="callback", kind="drop", path=f"{merchant.beecloud_app_id}/PAY/")
    _create_bill(merchant, "RECLOST00001")
    httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/RECLOST00001/pay")
    aws.published_events()

    def refuse(*events):
        raise PublishError("EventBridge rejected 1 event(s): ['InternalFailure']")

    with monkeypatch.context() as patch:
        patch.setattr(event_publisher(), "publish", refuse)
        first = _reconcile(merchant.app_id)

    assert [f["order_no"] for f in first["fixes"]] == ["RECLOST00001"]  # the ledger write happened
    assert [(e["provider"], e["scope"]) for e in first["errors"]] == [("eventbridge", "bill.succeeded RECLOST00001")]
    assert aws.published_events() == []

    second = _reconcile(merchant.app_id)

    assert (second["fixes"], second["errors"]) == ([], [])
    assert _types(aws.published_events()) == ["bill.succeeded"]


def test_a_bill_beecloud_has_and_the_ledger_does_not_is_reported_as_a_mismatch(merchant, aws, beecloud_sandbox):
    creds = BeeCloudCredentials(merchant.beecloud_app_id, merchant.beecloud_app_secret)
    with httpx.Client(timeout=5) as http:
        BeeCloudClient(beecloud_sandbox.url, http).create_bill(
            creds, channel="ALI_APP", bill_no="RECGHOST0001", total_fee=2500, title="elsewhere"
        )
    httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/RECGHOST0001/pay")

    report = _reconcile(merchant.app_id)

    assert report["fixes"] == []
    [mismatch] = report["mismatches"]
    assert (mismatch["kind"], mismatch["order_no"], mismatch["ledger_status"], mismatch["provider_status"]) == (
        "missing_in_ledger",
        "RECGHOST0001",
        None,
        "paid",
    )
    assert mismatch["provider_amount"] == 2500
    events = aws.published_events()
    assert _types(events) == ["reconciliation.mismatch"]
    detail = events[0]["detail"]
    assert detail["app_id"] == merchant.app_id
    assert detail["data"]["kind"] == "missing_in_ledger"
    assert detail["data"]["run_id"] == report["run_id"]
    assert detail["data"]["provider_record"]["channel"] == "ALI_APP"
    assert set(detail["data"]) == {  # the fields docs/reconciliation.md documents
        "run_id", "period", "app_id", "provider", "order_kind", "order_no", "kind", "ledger_status",
        "provider_status", "ledger_amount", "provider_amount", "detail", "provider_record",
    }  # fmt: skip

    again = _reconcile(merchant.app_id)  # the same mismatch again: the same event id

    assert aws.published_events()[0]["detail"]["event_id"] == detail["event_id"]
    assert again["run_id"] != report["run_id"]


def test_an_amount_that_differs_is_reported_and_the_bill_left_pending(merchant, aws, beecloud_sandbox, clean_faults):
    add_fault(beecloud_sandbox.url, scope="callback", kind="drop", path=f"{merchant.beecloud_app_id}/PAY/")
    _create_bill(merchant, "RECAMT000001", total_fee=300)
    httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/RECAMT000001/pay")
    boto3.client("dynamodb").update_item(  # the ledger is wrong (a bug, a bad restore): never "fixed" by money
        TableName="orders",
        Key={"pk": {"S": order_pk(OrderKind.BILL, merchant.app_id, "RECAMT000001")}},
        UpdateExpression="SET total_fee = :fee",
        ExpressionAttributeValues={":fee": {"N": "299"}},
    )

    report = _reconcile(merchant.app_id)

    assert report["fixes"] == []
    assert [(m["kind"], m["ledger_amount"], m["provider_amount"]) for m in report["mismatches"]] == [
        ("amount_differs", 299, 300)
    ]
    assert _get(merchant, "bill", "RECAMT000001")["status"] == "pending"
    assert "reconciled_by" not in _item(merchant.app_id, OrderKind.BILL, "RECAMT000001")


def test_a_bill_the_ledger_has_paid_but_beecloud_does_not_is_reported(merchant, aws, beecloud_sandbox):
    from paygate.deps import orders_store

    _create_bill(merchant, "RECFAKE00001")
    orders_store().mark_bill_paid(merchant.app_id, "RECFAKE00001", total_fee=100, now_ms=now_ms())

    report = _reconcile(merchant.app_id)

    assert [(m["kind"], m["ledger_status"], m["provider_status"]) for m in report["mismatches"]] == [
        ("ledger_paid_provider_not", "succeeded", "unpaid")
    ]
    assert _types(aws.published_events()) == ["reconciliation.mismatch"]


def test_a_refund_settled_at_beecloud_whose_webhook_was_dropped_is_settled(
    merchant, aws, beecloud_sandbox, clean_faults
):
    _create_bill(merchant, "RECREF000001", channel="UN_APP", total_fee=800)
    signed = pay_in_sandbox(beecloud_sandbox.url, merchant, "RECREF000001")
    assert invoke("callback", webhook_event(merchant, signed))["body"] == "success"
    add_fault(beecloud_sandbox.url, scope="callback", kind="drop", path=f"{merchant.beecloud_app_id}/REFUND/")
    number = todays_refund_no("042")
    body = {"refund_no": number, "bill_no": "RECREF000001", "refund_fee": 300}
    created = invoke("refund", api_event("POST", "/refunds", body=body, headers={"Authorization": merchant.auth}))
    assert created.get("statusCode") == 201, created["body"]
    _until_refund_final(beecloud_sandbox.url, merchant.beecloud_app_id, number)
    aws.published_events()

    report = _reconcile(merchant.app_id)

    assert [(f["order_kind"], f["order_no"], f["to_status"]) for f in report["fixes"]] == [
        ("refund", number, "succeeded")
    ]
    assert report["mismatches"] == []
    refund = _get(merchant, "refund", number)
    assert refund["status"] == "succeeded"
    assert _get(merchant, "bill", "RECREF000001")["refunded_fee"] == 300
    evidence = _item(merchant.app_id, OrderKind.REFUND, number)["reconciled_by"]["M"]
    assert evidence["source"]["S"] == "beecloud /1/rest/refunds"
    assert evidence["record"]["M"]["result"] == {"BOOL": True}
    assert _types(aws.published_events()) == ["refund.succeeded"]


def _until_refund_final(sandbox_url, beecloud_app_id, refund_no, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = httpx.get(f"{sandbox_url}/_sandbox/refunds/{beecloud_app_id}/{refund_no}").json()
        if state.get("finish") and state.get("result"):
            return
        time.sleep(0.05)
    raise AssertionError(f"the sandbox never finished refund {refund_no}")


def test_a_payout_beilypay_finished_while_its_notify_was_lost_is_settled(beilypay, aws):
    created = invoke(
        "payout", api_event("POST", "/payouts", body=payout_body("PO-REC-1"), headers={"Authorization": beilypay.auth})
    )
    assert created["statusCode"] == 201, created["body"]
    _until(lambda: (beilypay.sandbox_order("PO-REC-1") or {}).get("status") == 2)
    aws.published_events()

    report = _reconcile(beilypay.app_id)

    assert [(f["provider"], f["order_kind"], f["order_no"], f["to_status"]) for f in report["fixes"]] == [
        ("beilypay", "payout", "PO-REC-1", "succeeded")
    ]
    item = _item(beilypay.app_id, OrderKind.PAYOUT, "PO-REC-1")
    assert item["status"]["S"] == "succeeded"
    assert item["reconciled_by"]["M"]["source"]["S"] == "beilypay /v2/trans/query"
    assert _types(aws.published_events()) == ["payout.succeeded"]


def _until(probe, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met")
        time.sleep(0.05)


def test_a_bad_request_and_an_unknown_app_are_answered_not_raised(aws):
    assert invoke("reconcile", {"from": "yesterday"})["error"]["code"] == "invalid_request"
    assert invoke("reconcile", {"app_id": "app_" + "0" * 26})["error"]["code"] == "app_not_found"


def test_the_admin_cli_runs_the_same_reconciliation_and_writes_json_and_csv(
    merchant, aws, beecloud_sandbox, clean_faults, tmp_path, capsys
):
    from paygate.apps.admin import main

    add_fault(beecloud_sandbox.url, scope="callback", kind="drop", path=f"{merchant.beecloud_app_id}/PAY/")
    _create_bill(merchant, "RECCLI000001")
    httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/RECCLI000001/pay")
    window = _window()
    capsys.readouterr()  # what the functions above printed (their logs and metrics) is not the CLI's

    status = main(
        ["reconcile", "--app-id", merchant.app_id, "--from", window["from"], "--to", window["to"],
         "--out", str(tmp_path / "daily")]
    )  # fmt: skip

    assert status == 0
    summary = __import__("json").loads(capsys.readouterr().out)
    assert (summary["fixes"], summary["mismatches"], summary["errors"]) == (1, 0, 0)
    assert (tmp_path / "daily.json").exists()
    rows = (tmp_path / "daily.csv").read_text().splitlines()
    assert rows[0].startswith("run_id,row,app_id,provider,order_kind,order_no,kind")
    assert "fix" in rows[1]
    assert "RECCLI000001" in rows[1]
    assert _get(merchant, "bill", "RECCLI000001")["status"] == "succeeded"


def test_the_events_file_is_the_schedule_input_and_runs_over_every_app(merchant, aws, beecloud_sandbox):
    from tests.support.functions import load_event
    from tests.support.template import template

    schedule = template()["Resources"]["ReconcileFunction"]["Properties"]["Events"]["Daily"]["Properties"]
    assert json.loads(schedule["Input"]) == load_event("reconcile")

    report = invoke("reconcile", load_event("reconcile"))

    assert report["apps"] == [merchant.app_id]
    assert (report["fixes"], report["mismatches"], report["errors"]) == ([], [], [])
    assert report["checked"] == {"bills.ledger": 0, "bills.provider": 0, "refunds.ledger": 0, "refunds.provider": 0}


def test_beecloud_listings_are_paged_with_skip_until_a_short_page(merchant, aws, beecloud_sandbox, clean_faults):
    from paygate.deps import (
        beecloud_client,
        beilypay_client,
        event_publisher,
        orders_store,
        transfer_ledger,
        transfers_store,
    )
    from paygate.payments.refunds import RefundService
    from paygate.reconciliation import Period, Reconciler
    from paygate.reconciliation.runner import accounts

    add_fault(beecloud_sandbox.url, scope="callback", kind="drop", path=f"{merchant.beecloud_app_id}/PAY/")
    bill_nos = [f"RECPAGE{n:05d}" for n in range(5)]
    for bill_no in bill_nos:
        _create_bill(merchant, bill_no, channel="WX_NATIVE" if bill_no[-1] in "024" else "ALI_APP")
        httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/{bill_no}/pay")
    reconciler = Reconciler(
        transfers_store(),
        RefundService(orders_store(), beecloud_client(), event_publisher()),
        transfer_ledger(),
        event_publisher(),
        beecloud_client(),
        beilypay_client(),
        page_size=2,
    )
    now = now_ms()

    report = reconciler.run(accounts(merchant.app_id), Period(now - 3_600_000, now + 60_000))

    assert sorted(f.order_no for f in report.fixes) == bill_nos
    assert report.checked["bills.provider"] == 5
    assert report.mismatches == []
    assert _types(aws.published_events()) == ["bill.succeeded"] * 5


def test_an_unknown_payout_without_beilypays_order_number_is_reported_unverifiable(beilypay, aws, beilypay_faults):
    fault = {"scope": "request", "path": "/v2/trans/create", "kind": "malformed", "process": True}
    httpx.post(f"{beilypay_faults}/_sandbox/faults", json=fault)
    created = invoke(
        "payout", api_event("POST", "/payouts", body=payout_body("PO-REC-2"), headers={"Authorization": beilypay.auth})
    )
    assert body_of(created)["status"] == "unknown"
    aws.published_events()

    report = _reconcile(beilypay.app_id)

    assert report["fixes"] == []
    assert [(m["kind"], m["order_kind"], m["order_no"], m["ledger_status"]) for m in report["mismatches"]] == [
        ("unverifiable", "payout", "PO-REC-2", "unknown")
    ]
    assert _item(beilypay.app_id, OrderKind.PAYOUT, "PO-REC-2")["status"]["S"] == "unknown"  # nothing changed
    assert _types(aws.published_events()) == ["reconciliation.mismatch"]


def test_a_bill_beecloud_has_paid_but_the_ledger_has_failed_is_reported_never_revived(
    merchant, aws, beecloud_sandbox, clean_faults
):
    add_fault(beecloud_sandbox.url, scope="callback", kind="drop", path=f"{merchant.beecloud_app_id}/PAY/")
    _create_bill(merchant, "RECFAIL00001")
    httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/RECFAIL00001/pay")
    boto3.client("dynamodb").update_item(  # as if BeeCloud's answer had been read as a refusal
        TableName="orders",
        Key={"pk": {"S": order_pk(OrderKind.BILL, merchant.app_id, "RECFAIL00001")}},
        UpdateExpression="SET #s = :failed",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":failed": {"S": "failed"}},
    )

    report = _reconcile(merchant.app_id)

    assert report["fixes"] == []
    assert [(m["kind"], m["ledger_status"], m["provider_status"]) for m in report["mismatches"]] == [
        ("provider_paid_ledger_failed", "failed", "paid")
    ]
    assert _get(merchant, "bill", "RECFAIL00001")["status"] == "failed"


def test_when_the_webhook_wins_the_race_nothing_is_fixed_and_the_event_keeps_its_id(merchant, aws, beecloud_sandbox):
    from paygate.deps import orders_store
    from paygate.providers.beecloud import BeeCloudBill
    from paygate.reconciliation import Report
    from paygate.reconciliation.core import _App
    from paygate.reconciliation.runner import reconciler

    _create_bill(merchant, "RECRACE00001")
    stale = orders_store().get_bill(merchant.app_id, "RECRACE00001")  # what the run listed: pending
    signed = pay_in_sandbox(beecloud_sandbox.url, merchant, "RECRACE00001")
    assert invoke("callback", webhook_event(merchant, signed))["body"] == "success"  # the webhook lands first
    webhook_event_id = aws.published_events()[0]["detail"]["event_id"]
    record = BeeCloudBill("RECRACE00001", 100, "WX_NATIVE", "白开水", True, now_ms())
    report = Report("rec_race", 0, now_ms(), now_ms())

    _App(reconciler(), _app(merchant), report)._bill(stale, record, "RECRACE00001")

    assert (report.fixes, report.mismatches, report.errors) == ([], [], [])
    assert [e["detail"]["event_id"] for e in aws.published_events()] == [webhook_event_id]
    assert "reconciled_by" not in _item(merchant.app_id, OrderKind.BILL, "RECRACE00001")


def _app(merchant):
    from paygate.deps import apps_store

    return apps_store().get(merchant.app_id)


def test_a_collection_paid_while_its_notify_was_lost_is_settled_with_what_was_paid(beilypay, aws):
    body = collection_body("CO-REC-1")
    created = invoke("collect", api_event("POST", "/collections", body=body, headers={"Authorization": beilypay.auth}))
    assert created["statusCode"] == 201, created["body"]
    assert httpx.get(body_of(created)["pay_url"]).status_code == 200  # the payer pays; the notify goes nowhere
    aws.published_events()

    report = _reconcile(beilypay.app_id)

    assert [(f["order_kind"], f["order_no"], f["to_status"], f["event"]) for f in report["fixes"]] == [
        ("collection", "CO-REC-1", "succeeded", "collection.succeeded")
    ]
    item = _item(beilypay.app_id, OrderKind.COLLECTION, "CO-REC-1")
    assert (item["status"]["S"], item["paid"]["N"]) == ("succeeded", "49900")
    assert item["reconciled_by"]["M"]["source"]["S"] == "beilypay /v2/payment/query"
    assert _types(aws.published_events()) == ["collection.succeeded"]
