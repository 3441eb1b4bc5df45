"""Every fault kind of sandbox.common as the BeeCloud emulator applies it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.sandbox.beecloud.beecloud_support import APP_ID, APP_SECRET, MASTER_SECRET, Sandbox, md5, wait_until

PAY_REF = f"{APP_ID}/PAY/"


def _fault(box: Sandbox, **rule: Any) -> dict[str, Any]:
    response = box.client.post("/_sandbox/faults", json=rule)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _bill_body(box: Sandbox, bill_no: str) -> dict[str, Any]:
    return {**box.auth(), "channel": "WX_NATIVE", "total_fee": 100, "bill_no": bill_no, "title": "t"}


def test_latency_delays_then_answers(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="request", kind="latency", path="/1/rest/bill", delay_s=20)  # 0.2 s scaled
    started = time.monotonic()
    answer = sandbox.client.post("/1/rest/bill", json=_bill_body(sandbox, "lat00001")).json()
    assert time.monotonic() - started >= 0.19
    assert answer["result_code"] == 0


def test_error_answers_the_status_without_processing(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="request", kind="error", path="/1/rest/bill", status=503)
    response = sandbox.client.post("/1/rest/bill", json=_bill_body(sandbox, "err00001"))
    assert response.status_code == 503
    assert sandbox.client.get(f"/_sandbox/bills/{APP_ID}/err00001").status_code == 404
    retry = sandbox.client.post("/1/rest/bill", json=_bill_body(sandbox, "err00001"))
    assert retry.json()["result_code"] == 0  # one-shot rule


def test_hang_processes_but_never_answers(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="request", kind="hang", path="/1/rest/bill", delay_s=100, process=True)
    with pytest.raises(httpx.ReadTimeout):
        sandbox.client.post("/1/rest/bill", json=_bill_body(sandbox, "hang0001"), timeout=0.3)
    assert sandbox.control_bill("hang0001")["bill_no"] == "hang0001"


def test_malformed_body_after_processing(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="request", kind="malformed", path="/1/rest/bill")
    response = sandbox.client.post("/1/rest/bill", json=_bill_body(sandbox, "mal00001"))
    assert response.status_code == 200
    with pytest.raises(ValueError, match=r"."):
        response.json()
    assert sandbox.control_bill("mal00001")["paid"] is False


def test_request_faults_spare_the_control_api(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="request", kind="error", status=500)
    assert sandbox.client.get("/_sandbox/health").status_code == 200
    assert sandbox.client.get("/1/rest/bills", params={"para": "{}"}).status_code == 500


def test_dropped_webhook_is_logged_not_sent(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="callback", kind="drop", path=PAY_REF)
    sandbox.paid_bill(bill_no="drop0001")
    [attempt] = sandbox.wait_attempts(PAY_REF + "drop0001", 1)
    assert attempt["fault"] == "drop"
    assert attempt["error"]
    wait_until(lambda: sandbox.emulator.notifier.in_flight() == 0, what="delivery done")
    assert sandbox.received_count() == 0


def test_duplicate_webhook_arrives_twice(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="callback", kind="duplicate", path=PAY_REF)
    sandbox.paid_bill(bill_no="dupw0001")
    first, second = sandbox.webhooks(2)
    assert first == second
    assert first["transaction_id"] == "dupw0001"


def test_out_of_order_webhook_arrives_after_the_next(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="callback", kind="out_of_order", path=PAY_REF + "late0001")
    sandbox.paid_bill(bill_no="late0001")
    sandbox.paid_bill(bill_no="next0001")
    bodies = sandbox.webhooks(2)
    assert [body["transaction_id"] for body in bodies] == ["next0001", "late0001"]


def test_bad_signature_breaks_both_signatures(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="callback", kind="bad_signature", path=PAY_REF)
    sandbox.paid_bill(bill_no="badsig01")
    [body] = sandbox.webhooks(1)
    good_sign = md5(f"{APP_ID}{APP_SECRET}{body['timestamp']}")
    good_signature = md5(f"{APP_ID}badsig01PAYWX100{MASTER_SECRET}")
    assert len(body["sign"]) == len(body["signature"]) == 32
    assert body["sign"] != good_sign
    assert body["signature"] != good_signature


def test_delayed_webhook(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="callback", kind="delay", path=PAY_REF, delay_s=30)  # 0.3 s scaled
    paid = sandbox.paid_bill(bill_no="delay001")
    [attempt] = sandbox.wait_attempts(PAY_REF + "delay001", 1)
    assert attempt["at"] - paid["paid_time"] / 1000 >= 0.3
    assert attempt["fault"] == "delay"


def test_callback_fault_scoped_to_refunds_spares_payments(sandbox: Sandbox) -> None:
    _fault(sandbox, scope="callback", kind="drop", path=f"{APP_ID}/REFUND/")
    sandbox.paid_bill(bill_no="scope001")
    [body] = sandbox.webhooks(1)
    assert body["transaction_type"] == "PAY"
    assert len(sandbox.client.get("/_sandbox/faults").json()["faults"]) == 1


@pytest.mark.parametrize("kind", ["missing_field", "wrong_type"])
def test_field_fault_creates_the_bill_and_breaks_one_field_of_valid_json(sandbox: Sandbox, kind: str) -> None:
    _fault(sandbox, scope="request", kind=kind, path="/1/rest/bill", field="code_url")
    answer = sandbox.client.post("/1/rest/bill", json=_bill_body(sandbox, f"fld{kind[:5]}1")).json()
    assert answer["result_code"] == 0
    if kind == "missing_field":
        assert "code_url" not in answer
    else:
        assert isinstance(answer["code_url"], list)
        assert isinstance(answer["code_url"][0], str)
    assert sandbox.control_bill(f"fld{kind[:5]}1")["bill_no"] == f"fld{kind[:5]}1"
