"""On the local stack, a reconciliation run after a dropped notify fixes the order and reports it."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from paygate.credentials import BeeCloudCredentials
from paygate.providers.beecloud import BeeCloudClient
from paygate_local.stack import REPO_ROOT
from tests.support.gateway import Merchant, last_hour
from tests.support.polling import eventually


def _shop(gateway):
    """A tenant whose BeeCloud secrets the test keeps (to act as 'someone else' on the same BeeCloud app)."""
    app = gateway.stack.create_app("recon-shop")
    merchant = Merchant(
        app_id=app["app_id"],
        http=httpx.Client(
            base_url=gateway.info.api_url, headers={"Authorization": f"Bearer {app['api_key']}"}, timeout=35
        ),
        beecloud_app_id=app["beecloud"]["app_id"],
        beilypay=app["beilypay"],
    )
    return merchant, BeeCloudCredentials(app["beecloud"]["app_id"], app["beecloud"]["app_secret"])


def test_a_reconciliation_run_after_a_dropped_notify_fixes_the_order_and_reports_it(gateway):
    shop, creds = _shop(gateway)
    beecloud = gateway.info.beecloud_url
    rule = {"scope": "callback", "kind": "drop", "path": f"{shop.beecloud_app_id}/PAY/E2ERECON0001"}
    assert httpx.post(f"{beecloud}/_sandbox/faults", json=rule).status_code == 201
    created = shop.http.post(
        "/bills", json={"bill_no": "E2ERECON0001", "channel": "WX_NATIVE", "total_fee": 100, "title": "白开水"}
    )
    assert created.status_code == 201, created.text
    assert httpx.get(created.json()["payment"]["code_url"]).status_code == 200  # the customer pays
    ref = f"{shop.beecloud_app_id}/PAY/E2ERECON0001"
    attempts = eventually(
        lambda: httpx.get(f"{beecloud}/_sandbox/notifications", params={"ref": ref}).json()["attempts"]
    )
    assert [(a["acked"], a["error"]) for a in attempts] == [(False, "dropped by fault injection")]
    assert shop.http.get("/bills/E2ERECON0001").json()["status"] == "pending"  # paygate never heard of it
    # Someone used the same BeeCloud app outside paygate: BeeCloud has a bill the ledger does not.
    with httpx.Client(timeout=10) as http:
        BeeCloudClient(beecloud, http).create_bill(
            creds, channel="UN_APP", bill_no="E2EGHOST0001", total_fee=700, title="elsewhere"
        )

    report = gateway.reconcile({"app_id": shop.app_id, **last_hour()})

    assert [(f["order_no"], f["from_status"], f["to_status"], f["event"]) for f in report["fixes"]] == [
        ("E2ERECON0001", "pending", "succeeded", "bill.succeeded")
    ]
    assert report["fixes"][0]["evidence"]["record"]["spay_result"] is True
    assert [(m["kind"], m["order_no"]) for m in report["mismatches"]] == [("missing_in_ledger", "E2EGHOST0001")]
    assert report["errors"] == []
    assert shop.http.get("/bills/E2ERECON0001").json()["status"] == "succeeded"
    paid = eventually(lambda: gateway.events("bill.succeeded", shop.app_id))
    assert [e["detail"]["data"]["bill_no"] for e in paid] == ["E2ERECON0001"]
    reported = eventually(lambda: gateway.events("reconciliation.mismatch", shop.app_id))
    assert [e["detail"]["data"]["order_no"] for e in reported] == ["E2EGHOST0001"]
    assert reported[0]["detail"]["data"]["run_id"] == report["run_id"]


def test_the_admin_cli_reconciles_on_the_local_stack_and_writes_the_report(gateway, tmp_path):
    shop, _ = _shop(gateway)
    rule = {"scope": "callback", "kind": "drop", "path": f"{shop.beecloud_app_id}/PAY/"}
    assert httpx.post(f"{gateway.info.beecloud_url}/_sandbox/faults", json=rule).status_code == 201
    created = shop.http.post(
        "/bills", json={"bill_no": "E2ERECCLI001", "channel": "WX_NATIVE", "total_fee": 300, "title": "tea"}
    )
    httpx.get(created.json()["payment"]["code_url"])
    window = last_hour()

    proc = subprocess.run(
        [sys.executable, "-m", "paygate.apps.admin", "reconcile", "--app-id", shop.app_id,
         "--from", window["from"], "--to", window["to"], "--out", str(tmp_path / "run")],
        env=gateway.stack.admin_env(), cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["fixes"], summary["mismatches"]) == (1, 0)
    saved = json.loads((tmp_path / "run.json").read_text())
    assert saved["fixes"][0]["order_no"] == "E2ERECCLI001"
    assert "E2ERECCLI001" in (tmp_path / "run.csv").read_text()
    assert shop.http.get("/bills/E2ERECCLI001").json()["status"] == "succeeded"
