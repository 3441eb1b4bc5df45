"""Paying a bill (pay page, control API) and the PAY webhook: body, signatures, retries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.beecloud.beecloud_support import APP_ID, APP_SECRET, MASTER_SECRET, Sandbox, md5, wait_until


def _verify(body: dict[str, Any]) -> None:
    """Check both signatures the way the webhook guide tells a merchant to."""
    assert body["sign"] == md5(f"{APP_ID}{APP_SECRET}{body['timestamp']}")
    signed = f"{APP_ID}{body['transaction_id']}{body['transaction_type']}{body['channel_type']}"
    assert body["signature"] == md5(f"{signed}{body['transaction_fee']}{MASTER_SECRET}")


def test_fetching_code_url_pays_and_sends_the_webhook(sandbox: Sandbox) -> None:
    code_url = sandbox.bill("WX_NATIVE", bill_no="pay00001", optional={"order": "42"})["code_url"]
    page = httpx.get(code_url)
    assert page.status_code == 200
    assert "Payment succeeded" in page.text
    [body] = sandbox.webhooks(1)
    _verify(body)
    assert body["transaction_id"] == body["transactionId"] == "pay00001"
    assert body["transaction_type"] == body["transactionType"] == "PAY"
    assert body["channel_type"] == body["channelType"] == "WX"
    assert body["sub_channel_type"] == "WX_NATIVE"
    assert body["transaction_fee"] == body["transactionFee"] == 100
    assert body["trade_success"] is body["tradeSuccess"] is True
    assert body["optional"] == {"order": "42"}
    assert body["message_detail"]["out_trade_no"] == "pay00001"
    assert body["message_detail"] == body["messageDetail"]
    assert isinstance(body["timestamp"], int)
    assert len(str(body["timestamp"])) == 13
    state = sandbox.control_bill("pay00001")
    assert state["paid"] is True
    assert body["channel_transaction_id"] == state["channel_trade_no"]
    assert body["id"] == state["id"]


def test_second_visit_says_already_paid_and_sends_nothing(sandbox: Sandbox) -> None:
    code_url = sandbox.bill("WX_NATIVE", bill_no="pay00002")["code_url"]
    httpx.get(code_url)
    sandbox.wait_attempts(f"{APP_ID}/PAY/pay00002", 1)
    wait_until(lambda: sandbox.emulator.notifier.in_flight() == 0, what="first delivery done")
    again = httpx.get(code_url)
    assert again.status_code == 200
    assert "already paid" in again.text
    assert sandbox.emulator.notifier.in_flight() == 0  # a new delivery would be waiting here
    assert len(sandbox.wait_attempts(f"{APP_ID}/PAY/pay00002", 1)) == 1


@pytest.mark.parametrize(
    ("channel", "detail_key", "detail_value"),
    [
        ("ALI_WEB", "trade_status", "TRADE_SUCCESS"),
        ("ALI_WAP", "trade_status", "TRADE_SUCCESS"),
        ("UN_WEB", "respCode", "00"),
        ("WX_JSAPI", "result_code", "SUCCESS"),
    ],
)
def test_webhook_per_channel(sandbox: Sandbox, channel: str, detail_key: str, detail_value: str) -> None:
    sandbox.paid_bill(channel, bill_no="chan0001")
    [body] = sandbox.webhooks(1)
    _verify(body)
    assert body["channel_type"] == channel.split("_")[0]
    assert body["sub_channel_type"] == channel
    assert body["message_detail"][detail_key] == detail_value
    assert body["optional"] == {}


def test_unionpay_form_posts_to_the_pay_page(sandbox: Sandbox) -> None:
    sandbox.bill("UN_WEB", bill_no="unweb001")
    response = sandbox.client.post(f"/pay/{APP_ID}/unweb001", data={"orderId": "unweb001"})
    assert response.status_code == 200
    assert sandbox.control_bill("unweb001")["paid"] is True
    assert "https://merchant.example/return" in response.text


def test_the_cashier_sends_the_payer_on_to_return_url_by_itself(sandbox: Sandbox) -> None:
    sandbox.bill("ALI_WEB", bill_no="aliret01", return_url="https://merchant.example/back?order=1&x=<2>")
    page = sandbox.client.post(f"/pay/{APP_ID}/aliret01").text
    assert "<meta http-equiv='refresh' content='1;url=https://merchant.example/back?order=1&amp;x=&lt;2&gt;'>" in page
    assert "href='https://merchant.example/back?order=1&amp;x=&lt;2&gt;'" in page


def test_a_bill_without_return_url_stays_on_the_receipt(sandbox: Sandbox) -> None:
    code_url = sandbox.bill("WX_NATIVE", bill_no="noret001")["code_url"]
    assert "refresh" not in httpx.get(code_url).text


def test_unknown_bill_pay_page_is_404(sandbox: Sandbox) -> None:
    assert sandbox.client.get(f"/pay/{APP_ID}/nosuchbill").status_code == 404


def test_control_pay(sandbox: Sandbox) -> None:
    sandbox.bill(bill_no="ctl00001")
    first = sandbox.client.post(f"/_sandbox/bills/{APP_ID}/ctl00001/pay").json()
    assert first["already_paid"] is False
    assert first["bill"]["paid"] is True
    second = sandbox.client.post(f"/_sandbox/bills/{APP_ID}/ctl00001/pay").json()
    assert second["already_paid"] is True
    assert sandbox.client.post(f"/_sandbox/bills/{APP_ID}/nosuch/pay").status_code == 404
    assert sandbox.client.get(f"/_sandbox/bills/{APP_ID}/nosuch").status_code == 404


def test_webhook_retried_until_acknowledged(sandbox: Sandbox) -> None:
    sandbox.receiver.queue_replies("fail", "FAIL")
    sandbox.paid_bill(bill_no="retry001")
    bodies = sandbox.webhooks(3)
    assert [body["transaction_id"] for body in bodies] == ["retry001"] * 3
    ref = f"{APP_ID}/PAY/retry001"
    attempts = sandbox.wait_attempts(ref, 3)
    assert [(a["attempt"], a["acked"]) for a in attempts] == [(1, False), (2, False), (3, True)]
    wait_until(lambda: sandbox.emulator.notifier.in_flight() == 0, what="delivery done")
    assert sandbox.control_bill("retry001")["notifications"] == attempts


def test_ack_tolerates_surrounding_whitespace_only(sandbox: Sandbox) -> None:
    sandbox.receiver.queue_replies("Array()success", "  success\r\n")
    sandbox.paid_bill(bill_no="ack00001")
    sandbox.webhooks(2)
    attempts = sandbox.wait_attempts(f"{APP_ID}/PAY/ack00001", 2)
    assert [a["acked"] for a in attempts] == [False, True]


def test_contains_mode_acknowledges_noisy_receivers(make_sandbox: Any) -> None:
    box = make_sandbox(webhook_ack_contains=True)
    box.receiver.queue_replies("Array()success")
    box.paid_bill(bill_no="ack00002")
    box.webhooks(1)
    assert [a["acked"] for a in box.wait_attempts(f"{APP_ID}/PAY/ack00002", 1)] == [True]


def test_retry_schedule_is_the_guides_powers_of_two(make_sandbox: Any) -> None:
    box = make_sandbox(time_scale=0.05)
    assert box.emulator.notifier.schedule == tuple(float(2**k) for k in range(18))
    box.receiver.queue_replies("no", "no", "no")
    box.paid_bill(bill_no="sched001")
    times = [a["at"] for a in box.wait_attempts(f"{APP_ID}/PAY/sched001", 4)]
    paid_at = box.control_bill("sched001")["paid_time"] / 1000
    # offsets 1, 2, 4, 8 s x 0.05: no attempt before its offset, and none seconds late
    for attempt_at, offset in zip(times, (0.05, 0.1, 0.2, 0.4), strict=True):
        assert attempt_at - paid_at >= offset - 0.005
    assert times[3] - paid_at < 2.0
