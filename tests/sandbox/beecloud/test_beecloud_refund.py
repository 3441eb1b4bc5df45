"""``POST /1/rest/refund`` and ``GET /1/rest/refund/status``: rules, outcomes, REFUND webhook."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from sandbox.beecloud.config import BeeCloudAppConfig, BeeCloudConfig
from sandbox.beecloud.service import BeeCloudEmulator, china_today
from sandbox.beecloud.validation import parse_bill_request, parse_refund_request
from sandbox.common.faults import FaultPlan
from tests.sandbox.beecloud.beecloud_support import (
    APP_ID,
    APP_SECRET,
    MASTER_SECRET,
    Sandbox,
    md5,
    today_refund_prefix,
    wait_until,
)

pytestmark = pytest.mark.clock  # dates: run under shifted clocks by `make test-clock`

SLOW = {"refund_delay_s": 1000.0, "wx_refund_processing_s": 1000.0}  # 10 s scaled: stays PROCESSING


def _status(box: Sandbox, refund_no: str, channel: str = "WX") -> dict[str, Any]:
    return box.get("/1/rest/refund/status", {"channel": channel, "refund_no": refund_no})


@pytest.mark.parametrize("channel", ["ALI_WEB", "ALI_WAP"])
def test_ali_refund_returns_url_and_succeeds_after_the_delay(sandbox: Sandbox, channel: str) -> None:
    sandbox.paid_bill(channel, bill_no="rf000001", optional={"a": 1})
    sandbox.webhooks(1)
    refund_no = today_refund_prefix() + "0001"
    answer = sandbox.refund("rf000001", refund_fee=60, refund_no=refund_no, optional={"why": "broken"})
    assert (answer["result_code"], answer["result_msg"], answer["err_detail"]) == (0, "OK", "")
    assert answer["url"] == f"{sandbox.url}/refund/{APP_ID}/{refund_no}"
    assert answer["id"]
    _, body = sandbox.webhooks(2)
    assert body["transaction_type"] == body["transactionType"] == "REFUND"
    assert body["transaction_id"] == refund_no
    assert body["transaction_fee"] == 60
    assert body["channel_type"] == "ALI"
    assert body["sub_channel_type"] == channel
    assert body["optional"] == {"why": "broken"}
    assert body["sign"] == md5(f"{APP_ID}{APP_SECRET}{body['timestamp']}")
    assert body["signature"] == md5(f"{APP_ID}{refund_no}REFUNDALI60{MASTER_SECRET}")
    assert sandbox.control_refund(refund_no)["status"] == "SUCCESS"


def test_non_ali_refunds_have_no_url(sandbox: Sandbox) -> None:
    sandbox.paid_bill("UN_APP", bill_no="rf000002")
    answer = sandbox.refund("rf000002", channel="UN")
    assert answer["result_code"] == 0
    assert "url" not in answer


def test_refund_signed_with_master_secret(sandbox: Sandbox) -> None:
    sandbox.paid_bill(bill_no="rf000003")
    body = {"refund_no": today_refund_prefix() + "001", "bill_no": "rf000003", "refund_fee": 1}
    assert sandbox.post("/1/rest/refund", body, secret=MASTER_SECRET)["result_code"] == 0


def test_wx_refund_processing_until_the_delay_then_success(make_sandbox: Any) -> None:
    # 2 s scaled: long enough that the first status query lands inside it on a loaded machine
    # (the timing-free rule is pinned by test_settle_if_due_needs_no_timer below).
    box = make_sandbox(wx_refund_processing_s=200.0)
    box.paid_bill("WX_APP", bill_no="wxrf0001")
    refund_no = today_refund_prefix() + "001"
    assert box.refund("wxrf0001", channel="WX", refund_no=refund_no)["result_code"] == 0
    assert _status(box, refund_no)["refund_status"] == "PROCESSING"
    wait_until(lambda: _status(box, refund_no)["refund_status"] == "SUCCESS", timeout_s=15.0, what="WX refund success")
    bodies = box.webhooks(2)
    assert bodies[1]["transaction_id"] == refund_no
    assert bodies[1]["message_detail"]["refund_status"] == "SUCCESS"


@pytest.mark.parametrize(("processing_s", "expected"), [(0.0, "SUCCESS"), (1000.0, "PROCESSING")])
def test_settle_if_due_needs_no_timer(processing_s: float, expected: str) -> None:
    """refund/status settles a due WX refund even when the timer has not fired yet."""

    async def scenario() -> str:
        app = BeeCloudAppConfig(APP_ID, APP_SECRET, MASTER_SECRET, "http://127.0.0.1:9/unused")
        config = BeeCloudConfig(apps=[app], time_scale=1.0, wx_refund_processing_s=processing_s)
        emulator = BeeCloudEmulator(config, FaultPlan())
        params = {"channel": "WX_APP", "total_fee": 10, "bill_no": "lazy0001", "title": "t"}
        bill = emulator.create_bill(app, parse_bill_request(params, min_bill_no_len=1))
        emulator.store.mark_paid(bill, bill.created_ms, "4200000")
        refund_params = {"refund_no": today_refund_prefix() + "001", "bill_no": "lazy0001", "refund_fee": 10}
        refund = emulator.create_refund(app, parse_refund_request(refund_params, today=china_today(), tolerance_days=1))
        emulator._refund_timers[refund.id].cancel()  # same loop, no await yet: the timer never ran
        emulator.settle_if_due(refund)
        status = refund.status.value
        await emulator.aclose()
        return status

    assert asyncio.run(scenario()) == expected


def test_control_forces_failure_and_the_bill_is_refundable_again(make_sandbox: Any) -> None:
    box = make_sandbox(**SLOW)
    box.paid_bill("WX_NATIVE", bill_no="fail0001")
    box.webhooks(1)
    day = today_refund_prefix()
    first, third = day + "001", day + "003"
    assert box.refund("fail0001", refund_no=first)["result_code"] == 0
    blocked = box.refund("fail0001", refund_no=day + "002")
    assert (blocked["result_code"], blocked["result_msg"]) == (11, "ALREADY_REFUNDING")
    failed = box.client.post(f"/_sandbox/refunds/{APP_ID}/{first}/complete", json={"result": False})
    assert failed.status_code == 200
    assert failed.json()["status"] == "FAIL"
    assert _status(box, first)["refund_status"] == "FAIL"
    conflict = box.client.post(f"/_sandbox/refunds/{APP_ID}/{first}/complete", json={"result": True})
    assert conflict.status_code == 409
    same = box.client.post(f"/_sandbox/refunds/{APP_ID}/{first}/complete", json={"result": False})
    assert same.status_code == 200
    assert box.refund("fail0001", refund_no=third)["result_code"] == 0
    succeeded = box.client.post(f"/_sandbox/refunds/{APP_ID}/{third}/complete", json={})
    assert succeeded.json()["status"] == "SUCCESS"
    bodies = box.webhooks(2)
    assert bodies[1]["transaction_id"] == third
    box.wait_attempts(f"{APP_ID}/REFUND/{third}", 1)
    wait_until(lambda: box.emulator.notifier.in_flight() == 0, what="deliveries done")
    assert box.attempts(f"{APP_ID}/REFUND/{first}") == []  # a failed refund sends no webhook
    again = box.refund("fail0001", refund_no=day + "004")
    assert (again["result_code"], again["result_msg"]) == (11, "ALREADY_REFUNDING")


def test_control_complete_errors(sandbox: Sandbox) -> None:
    missing = sandbox.client.post(f"/_sandbox/refunds/{APP_ID}/nosuch/complete", json={"result": True})
    assert missing.status_code == 404
    assert sandbox.client.get(f"/_sandbox/refunds/{APP_ID}/nosuch").status_code == 404
    sandbox.paid_bill(bill_no="ctlrf001")
    refund_no = today_refund_prefix() + "001"
    sandbox.refund("ctlrf001", refund_no=refund_no)
    bad = sandbox.client.post(f"/_sandbox/refunds/{APP_ID}/{refund_no}/complete", json={"result": "yes"})
    assert bad.status_code == 400


def test_ali_confirmation_page_confirms_the_refund(make_sandbox: Any) -> None:
    box = make_sandbox(**SLOW)
    box.paid_bill("ALI_QRCODE", bill_no="alirf001")
    refund_no = today_refund_prefix() + "001"
    url = box.refund("alirf001", refund_no=refund_no)["url"]
    page = box.client.get(url)
    assert page.status_code == 200
    assert "Refund confirmed" in page.text
    assert box.control_refund(refund_no)["status"] == "SUCCESS"
    assert "Refund success" in box.client.get(url).text
    assert box.client.get(f"/refund/{APP_ID}/nosuch").status_code == 404


RULE_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown bill", {"bill_no": "nosuch01"}, 8, "NO_SUCH_BILL"),
    ("channel of another bill", {"channel": "ALI"}, 8, "NO_SUCH_BILL"),
    ("sub-channel", {"channel": "WX_NATIVE"}, 3, "CHANNEL_INVALID"),
    ("garbage channel", {"channel": "wx"}, 5, "PARAM_INVALID"),
    ("too large", {"refund_fee": 101}, 12, "REFUND_AMOUNT_TOO_LARGE"),
    ("zero fee", {"refund_fee": 0}, 5, "PARAM_INVALID"),
    ("string fee", {"refund_fee": "1"}, 5, "PARAM_INVALID"),
    ("missing fee", {"refund_fee": None}, 4, "MISS_PARAM"),
    ("missing bill_no", {"bill_no": None}, 4, "MISS_PARAM"),
    ("missing refund_no", {"refund_no": None}, 4, "MISS_PARAM"),
    ("serial 000", {"refund_no": "{today}000"}, 5, "PARAM_INVALID"),
    ("serial too short", {"refund_no": "{today}01"}, 5, "PARAM_INVALID"),
    ("serial too long", {"refund_no": "{today}" + "1" * 25}, 5, "PARAM_INVALID"),
    ("serial punctuation", {"refund_no": "{today}00-1"}, 5, "PARAM_INVALID"),
    ("not a date", {"refund_no": "20151399001"}, 5, "PARAM_INVALID"),
    ("old date", {"refund_no": "20150610001"}, 5, "PARAM_INVALID"),
    ("optional not a map", {"optional": "x"}, 5, "PARAM_INVALID"),
    ("exact amount", {"refund_fee": 100}, 0, "OK"),
    ("serial 24 letters", {"refund_no": "{today}" + "a" * 24}, 0, "OK"),
]


@pytest.mark.parametrize(("change", "code", "msg"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_refund_rules(sandbox: Sandbox, change: dict[str, Any], code: int, msg: str) -> None:
    sandbox.paid_bill("WX_NATIVE", bill_no="rule0001")
    day = today_refund_prefix()
    body = {"refund_no": day + "001", "bill_no": "rule0001", "refund_fee": 50, "channel": "WX"}
    body.update({key: value.format(today=day) if isinstance(value, str) else value for key, value in change.items()})
    answer = sandbox.post("/1/rest/refund", body)
    assert (answer["result_code"], answer["result_msg"]) == (code, msg), answer


@pytest.mark.parametrize("days", [-1, 1])
def test_refund_date_tolerates_one_day_around_beijing_today(sandbox: Sandbox, days: int) -> None:
    sandbox.paid_bill(bill_no="date0001")
    today = datetime.strptime(today_refund_prefix(), "%Y%m%d")
    day = (today + timedelta(days=days)).strftime("%Y%m%d")
    body = {"refund_no": day + "001", "bill_no": "date0001", "refund_fee": 1}
    assert sandbox.post("/1/rest/refund", body)["result_code"] == 0


def test_refund_of_unpaid_bill(sandbox: Sandbox) -> None:
    sandbox.bill(bill_no="unpaid01")
    answer = sandbox.refund("unpaid01")
    assert (answer["result_code"], answer["result_msg"]) == (9, "BILL_UNSUCCESS")


def test_duplicate_refund_no(make_sandbox: Any) -> None:
    box = make_sandbox(**SLOW)
    box.paid_bill(bill_no="dupr0001")
    box.paid_bill(bill_no="dupr0002")
    assert box.refund("dupr0001")["result_code"] == 0
    answer = box.refund("dupr0002")  # same refund_no, other bill
    assert (answer["result_code"], answer["err_detail"]) == (5, "退款单号重复")


def test_one_successful_refund_per_bill(sandbox: Sandbox) -> None:
    sandbox.paid_bill(bill_no="once0001")
    refund_no = today_refund_prefix() + "001"
    assert sandbox.refund("once0001", refund_fee=10, refund_no=refund_no)["result_code"] == 0
    wait_until(lambda: sandbox.control_refund(refund_no)["status"] == "SUCCESS", what="refund success")
    answer = sandbox.refund("once0001", refund_fee=10, serial="002")
    assert (answer["result_code"], answer["result_msg"]) == (11, "ALREADY_REFUNDING")
    assert "succeeded" in answer["err_detail"]


STATUS_CASES: list[tuple[str, dict[str, Any], int, str]] = [
    ("channel ALI", {"channel": "ALI"}, 3, "CHANNEL_INVALID"),
    ("channel sub", {"channel": "WX_APP"}, 3, "CHANNEL_INVALID"),
    ("channel garbage", {"channel": "wx"}, 5, "PARAM_INVALID"),
    ("channel missing", {"channel": None}, 4, "MISS_PARAM"),
    ("refund_no missing", {"refund_no": None}, 4, "MISS_PARAM"),
    ("refund_no number", {"refund_no": 1}, 5, "PARAM_INVALID"),
    ("unknown refund", {"refund_no": "20150610999"}, 13, "NO_SUCH_REFUND"),
]


@pytest.mark.parametrize(("change", "code", "msg"), [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES])
def test_refund_status_errors(sandbox: Sandbox, change: dict[str, Any], code: int, msg: str) -> None:
    para = {"channel": "WX", "refund_no": "20150610001", **change}
    answer = sandbox.get("/1/rest/refund/status", {k: v for k, v in para.items() if v is not None})
    assert (answer["result_code"], answer["result_msg"]) == (code, msg)
    assert "refund_status" not in answer


def test_refund_status_of_a_non_wx_refund_is_no_such_refund(sandbox: Sandbox) -> None:
    sandbox.paid_bill("UN_WEB", bill_no="unrf0001")
    refund_no = today_refund_prefix() + "001"
    sandbox.refund("unrf0001", refund_no=refund_no)
    answer = _status(sandbox, refund_no)
    assert (answer["result_code"], answer["result_msg"]) == (13, "NO_SUCH_REFUND")
