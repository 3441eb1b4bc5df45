"""The ``/_sandbox`` page: a person acts as payer and provider from the browser, without curl."""

from __future__ import annotations

import re

from tests.sandbox.beecloud.beecloud_support import Sandbox, today_refund_prefix, wait_until
from tests.support.sandbox_page import SandboxPage


def test_the_page_lists_bills_and_paying_one_sends_its_webhook(sandbox: Sandbox):
    assert sandbox.bill("WX_NATIVE", "page0001")["result_code"] == 0
    page = SandboxPage.open(sandbox.client)
    row = page.row(kind="bill", key=f"{sandbox.app_id} page0001")

    assert row.cells[1:6] == ["page0001", "WX_NATIVE", "白开水", "¥1.00", "unpaid"]
    assert page.labels(kind="bill", key=f"{sandbox.app_id} page0001") == ["Pay"]

    after = page.press("Pay", kind="bill", key=f"{sandbox.app_id} page0001")

    assert after.flash == {"done": "bill page0001 paid; its webhook is on its way"}
    assert after.row(kind="bill", key=f"{sandbox.app_id} page0001").cells[5] == "paid"
    assert after.labels(kind="bill", key=f"{sandbox.app_id} page0001") == []  # a paid bill offers nothing
    (webhook,) = sandbox.webhooks(1)
    assert (webhook["transaction_type"], webhook["transaction_id"]) == ("PAY", "page0001")


def test_refunds_can_be_succeeded_or_failed_once(make_sandbox):
    sandbox = make_sandbox(wx_refund_processing_s=3600.0)  # no refund settles by itself meanwhile
    sandbox.paid_bill("WX_NATIVE", "page0002")
    sandbox.paid_bill("WX_NATIVE", "page0003")
    ok, ko = today_refund_prefix() + "101", today_refund_prefix() + "102"
    assert sandbox.refund("page0002", serial="101")["result_code"] == 0
    assert sandbox.refund("page0003", serial="102")["result_code"] == 0
    sandbox.webhooks(2)  # the two PAY webhooks
    page = SandboxPage.open(sandbox.client)
    assert page.labels(kind="refund", key=f"{sandbox.app_id} {ok}") == ["Succeed", "Fail"]

    page = page.press("Succeed", kind="refund", key=f"{sandbox.app_id} {ok}")
    page = page.press("Fail", kind="refund", key=f"{sandbox.app_id} {ko}")

    assert sandbox.control_refund(ok)["status"] == "SUCCESS"
    assert sandbox.control_refund(ko)["status"] == "FAIL"
    assert page.flash == {"done": f"refund {ko} failed"}
    assert page.labels(kind="refund", key=f"{sandbox.app_id} {ok}") == []
    webhooks = sandbox.webhooks(3)  # a failed refund sends none
    assert [(w["transaction_type"], w["transaction_id"]) for w in webhooks[2:]] == [("REFUND", ok)]


def test_a_stale_button_says_why_it_did_nothing(sandbox: Sandbox):
    sandbox.bill("WX_NATIVE", "page0004")
    page = SandboxPage.open(sandbox.client)
    sandbox.client.post(f"/_sandbox/bills/{sandbox.app_id}/page0004/pay")  # paid elsewhere meanwhile

    after = page.press("Pay", kind="bill", key=f"{sandbox.app_id} page0004")

    assert after.flash == {"error": "bill page0004 is already paid"}
    assert len(sandbox.webhooks(1)) == 1  # no second webhook


def test_redeliver_sends_the_signed_notification_again_without_its_fault(sandbox: Sandbox):
    ref = f"{sandbox.app_id}/PAY/page0005"
    fault = sandbox.client.post("/_sandbox/faults", json={"scope": "callback", "kind": "bad_signature", "path": ref})
    assert fault.status_code == 201, fault.text
    sandbox.paid_bill("WX_NATIVE", "page0005")
    (forged,) = sandbox.webhooks(1)
    sandbox.wait_attempts(ref, 1)  # logged once the receiver's answer is read, just after it arrived
    page = SandboxPage.open(sandbox.client)
    (first,) = [r for r in page.parsed.rows if r.attrs.get("ref") == ref]

    after = page.press("Redeliver", delivery=first.attrs["delivery"])

    assert re.fullmatch(rf"notification {first.attrs['delivery']} sent again as d\d+", after.flash["done"])
    genuine = sandbox.webhooks(2)[1]
    assert genuine["signature"] != forged["signature"]
    assert {k: v for k, v in genuine.items() if k not in ("signature", "sign")} == {
        k: v for k, v in forged.items() if k not in ("signature", "sign")
    }

    def both_listed() -> list | None:
        rows = [r for r in SandboxPage.open(sandbox.client).parsed.rows if r.attrs.get("ref") == ref]
        return rows if len(rows) == 2 else None

    listed = wait_until(both_listed, what="the redelivery listed")
    assert [r.cells[6] for r in listed] == ["yes", "yes"]  # newest first, both acknowledged


def test_forms_from_another_origin_or_without_the_page_token_are_refused(sandbox: Sandbox):
    sandbox.bill("WX_NATIVE", "page0006")
    page = SandboxPage.open(sandbox.client)
    (button,) = page.row(kind="bill", key=f"{sandbox.app_id} page0006").buttons
    tokenless = {k: v for k, v in button.fields.items() if k != "token"}

    attempts = [
        sandbox.client.post(button.action, data=button.fields, headers={"Origin": "https://evil.example"}),
        sandbox.client.post(button.action, data=button.fields, headers={"Sec-Fetch-Site": "cross-site"}),
        sandbox.client.post(button.action, data=tokenless),
        sandbox.client.post(button.action, data={**button.fields, "token": "x" * 43}),
    ]

    assert [a.status_code for a in attempts] == [403] * 4
    assert sandbox.control_bill("page0006")["paid"] is False


def test_the_page_escapes_what_merchants_sent_and_loads_nothing_from_elsewhere(sandbox: Sandbox):
    sandbox.bill("WX_NATIVE", "page0007", title="<script>alert(1)</script>")
    page = SandboxPage.open(sandbox.client)

    assert "<script>" not in page.response.text
    assert page.row(kind="bill", key=f"{sandbox.app_id} page0007").cells[3] == "<script>alert(1)</script>"
    assert page.parsed.scripts == 0
    assert page.parsed.stylesheets == ["/_sandbox/page.css"]
    assert sandbox.client.get("/_sandbox/page.css").headers["content-type"].startswith("text/css")
    headers = page.response.headers
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert (headers["x-frame-options"], headers["referrer-policy"]) == ("DENY", "no-referrer")
