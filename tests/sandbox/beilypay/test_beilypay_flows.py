"""End-to-end flows: payUrl, payout outcome rules, balances, signed notifies and their retries."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx

from tests.sandbox.beilypay.beilypay_support import (
    APP_ID,
    BALANCE,
    MERCHANT_ID,
    NOTIFY_SCHEDULE,
    PAYOUT_DELAY_S,
    TIME_SCALE,
    Sandbox,
    verify_seed_sign,
)

COLLECTION_NOTIFY = {"outOrderNo", "orderNo", "paid", "status", "payTime", "sign"}
PAYOUT_NOTIFY = {"appId", "merchantId", "outOrderNo", "orderNo", "payAmount", "status", "payTime", "sign"}
JAVA_LOCAL_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")
QUIET_PERIOD_S = NOTIFY_SCHEDULE[1] * TIME_SCALE * 2  # longer than the first retry gap


def pay(sandbox: Sandbox, pay_url: str) -> httpx.Response:
    return httpx.get(pay_url, timeout=5.0)


def test_pay_url_pays_in_full_and_notifies(sandbox: Sandbox) -> None:
    created = sandbox.create_collection("C-pay")["data"]

    page = pay(sandbox, created["payUrl"])

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Payment successful" in page.text
    assert "INR 500.00" in page.text
    assert "https://shop.example.com/done" in page.text  # link back to frontCallback
    notify = sandbox.receiver.wait_for(1)[0]
    assert notify.content_type == "application/json"
    body = notify.json()
    assert set(body) == COLLECTION_NOTIFY
    assert (body["orderNo"], body["outOrderNo"], body["paid"], body["status"]) == (
        created["orderNo"],
        "C-pay",
        50_000,
        2,
    )
    assert JAVA_LOCAL_DATE_TIME.fullmatch(body["payTime"])
    assert body["sign"] == body["sign"].upper()
    assert verify_seed_sign(body)
    data = sandbox.query("/v2/payment/query", created["orderNo"])["data"]
    assert (data["status"], data["paid"], data["payAmount"]) == (2, 50_000, 50_000)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", data["transTime"])
    assert verify_seed_sign(data)


def test_second_visit_says_already_paid_and_sends_nothing(sandbox: Sandbox) -> None:
    created = sandbox.create_collection("C-twice")["data"]
    pay(sandbox, created["payUrl"])
    sandbox.wait_attempts(created["orderNo"], 1)

    again = pay(sandbox, created["payUrl"])
    time.sleep(QUIET_PERIOD_S)  # proving a negative: nothing may arrive in this window

    assert "Already paid" in again.text
    assert len(sandbox.attempts(created["orderNo"])) == 1
    assert len(sandbox.receiver.received) == 1
    assert sandbox.balance() == (BALANCE + 50_000) / 100  # credited once


def test_unknown_pay_url_is_404(sandbox: Sandbox) -> None:
    response = httpx.get(f"{sandbox.server.url}/pay/000000000000000000")

    assert response.status_code == 404


def test_pay_url_of_a_payout_is_404(sandbox: Sandbox) -> None:
    order_no = sandbox.create_payout("P-url")["data"]["orderNo"]

    assert httpx.get(f"{sandbox.server.url}/pay/{order_no}").status_code == 404


def test_public_url_builds_the_pay_url(sandbox: Sandbox, make_sandbox: Callable[..., Sandbox]) -> None:
    custom = make_sandbox(public_url="https://pay.sandbox.example/")

    data = custom.create_collection("C-public")["data"]

    assert data["payUrl"] == f"https://pay.sandbox.example/pay/{data['orderNo']}"


def test_underpayment_through_the_control_api(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("C-under")["data"]["orderNo"]

    response = sandbox.client.post(f"/_sandbox/collections/{order_no}/complete", json={"status": 2, "paid": 30_000})

    assert response.status_code == 200
    body = sandbox.receiver.wait_for(1)[0].json()
    assert (body["status"], body["paid"]) == (2, 30_000)
    data = sandbox.query("/v2/payment/query", order_no)["data"]
    assert (data["paid"], data["payAmount"]) == (30_000, 50_000)
    assert sandbox.balance() == (BALANCE + 30_000) / 100


def test_failed_collection_notifies_with_paid_zero(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("C-fail")["data"]["orderNo"]

    sandbox.client.post(f"/_sandbox/collections/{order_no}/complete", json={"status": 3})

    body = sandbox.receiver.wait_for(1)[0].json()
    assert (body["status"], body["paid"]) == (3, 0)
    assert verify_seed_sign(body)  # paid=0 is signed, as the doc says
    assert sandbox.balance() == BALANCE / 100
    assert "failed" in httpx.get(f"{sandbox.server.url}/pay/{order_no}").text


def test_failed_collection_can_stay_silent(sandbox: Sandbox, make_sandbox: Callable[..., Sandbox]) -> None:
    quiet = make_sandbox(notify_on_collection_failure=False)
    order_no = quiet.create_collection("C-quiet")["data"]["orderNo"]

    quiet.client.post(f"/_sandbox/collections/{order_no}/complete", json={"status": 3})
    time.sleep(QUIET_PERIOD_S)

    assert quiet.order_state(order_no)["status"] == 3
    assert quiet.attempts(order_no) == []


def test_payout_succeeds_after_the_delay_and_notifies(sandbox: Sandbox) -> None:
    started = time.monotonic()
    created = sandbox.create_payout("P-ok")["data"]

    state = sandbox.wait_order_status(created["orderNo"], 2)

    assert time.monotonic() - started >= PAYOUT_DELAY_S * TIME_SCALE * 0.9
    assert state["paid"] is None
    body = sandbox.receiver.wait_for(1)[0].json()
    assert set(body) == PAYOUT_NOTIFY
    assert (body["appId"], body["merchantId"], body["outOrderNo"], body["orderNo"]) == (
        APP_ID,
        MERCHANT_ID,
        "P-ok",
        created["orderNo"],
    )
    assert (body["payAmount"], body["status"]) == (12_345, 2)
    assert JAVA_LOCAL_DATE_TIME.fullmatch(body["payTime"])
    assert verify_seed_sign(body)
    data = sandbox.query("/v2/trans/query", created["orderNo"])["data"]
    assert data["status"] == 2
    assert "transTime" not in data
    assert sandbox.balance() == (BALANCE - 12_345) / 100


def test_payout_to_an_account_ending_0000_fails_and_refunds(
    sandbox: Sandbox, make_sandbox: Callable[..., Sandbox]
) -> None:
    sandbox = make_sandbox(payout_delay_s=30)  # 0.3 s: time to see the balance drawn
    created = sandbox.create_payout("P-fail", account="1234560000")["data"]
    assert sandbox.balance() == (BALANCE - 12_345) / 100  # drawn at creation

    sandbox.wait_order_status(created["orderNo"], 3)
    sandbox.wait_attempts(created["orderNo"], 1)

    body = sandbox.receiver.wait_for(1)[0].json()
    assert (body["status"], body["payAmount"]) == (3, 12_345)
    assert sandbox.query("/v2/trans/query", created["orderNo"])["data"]["status"] == 3
    assert sandbox.balance() == BALANCE / 100


def test_payout_to_an_account_ending_9999_waits_for_the_control_api(sandbox: Sandbox) -> None:
    order_no = sandbox.create_payout("P-manual", account="8888889999")["data"]["orderNo"]
    time.sleep(PAYOUT_DELAY_S * TIME_SCALE * 3)  # well past the automatic completion time

    assert sandbox.query("/v2/trans/query", order_no)["data"]["status"] == 1
    assert sandbox.attempts(order_no) == []

    done = sandbox.client.post(f"/_sandbox/payouts/{order_no}/complete", json={"status": 3})

    assert done.status_code == 200
    assert sandbox.receiver.wait_for(1)[0].json()["status"] == 3
    assert sandbox.balance() == BALANCE / 100
    again = sandbox.client.post(f"/_sandbox/payouts/{order_no}/complete", json={"status": 2})
    assert again.status_code == 409
    assert again.json()["code"] == 10009


def test_forcing_a_payout_before_its_timer_wins(sandbox: Sandbox, make_sandbox: Callable[..., Sandbox]) -> None:
    slow = make_sandbox(payout_delay_s=20)  # 0.2 s once scaled
    order_no = slow.create_payout("P-force")["data"]["orderNo"]

    slow.client.post(f"/_sandbox/payouts/{order_no}/complete", json={"status": 3})
    time.sleep(20 * TIME_SCALE * 1.5)  # the cancelled timer would have fired by now

    assert slow.order_state(order_no)["status"] == 3
    assert len(slow.attempts(order_no)) == 1


def test_balance_arithmetic_across_payouts_and_collections(
    sandbox: Sandbox, make_sandbox: Callable[..., Sandbox]
) -> None:
    sandbox = make_sandbox(payout_delay_s=30)  # 0.3 s: time to see the balance drawn
    ok = sandbox.create_payout("B-1", payAmount=100_000)["data"]["orderNo"]
    failed = sandbox.create_payout("B-2", payAmount=200_000, account="000000")["data"]["orderNo"]
    assert sandbox.balance() == (BALANCE - 300_000) / 100
    collection = sandbox.create_collection("B-3", payAmount=33_333)["data"]
    pay(sandbox, collection["payUrl"])
    sandbox.wait_order_status(ok, 2)
    sandbox.wait_order_status(failed, 3)

    assert sandbox.balance() == (BALANCE - 100_000 + 33_333) / 100
    raw = sandbox.client.post(
        "/merchant/accountInfo",
        json={"appId": APP_ID, "merchantId": MERCHANT_ID, "sign": _sign_account_info()},
    )
    assert '"settlementAmount":9333.33' in raw.text


def _sign_account_info() -> str:
    from tests.sandbox.beilypay.beilypay_support import SECRET, seed_sign

    return seed_sign({"appId": APP_ID, "merchantId": MERCHANT_ID}, SECRET)


def test_notify_is_retried_until_the_answer_contains_succ(sandbox: Sandbox) -> None:
    sandbox.receiver.queue_replies("FAIL", "error: try later")
    created = sandbox.create_collection("C-retry")["data"]

    pay(sandbox, created["payUrl"])
    attempts = sandbox.wait_attempts(created["orderNo"], 3)

    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["acked"] for a in attempts] == [False, False, True]
    assert len(sandbox.receiver.wait_for(3)) == 3
    gaps = [b["at"] - attempts[0]["at"] for b in attempts[1:]]
    assert gaps[0] >= (NOTIFY_SCHEDULE[1] - NOTIFY_SCHEDULE[0]) * TIME_SCALE * 0.5
    time.sleep(QUIET_PERIOD_S)
    assert len(sandbox.attempts(created["orderNo"])) == 3  # acknowledged: no more attempts


def test_any_answer_containing_succ_acknowledges(sandbox: Sandbox) -> None:
    sandbox.receiver.queue_replies('{"result": "SUCC"}')
    created = sandbox.create_collection("C-json-ack")["data"]

    pay(sandbox, created["payUrl"])
    attempts = sandbox.wait_attempts(created["orderNo"], 1)
    time.sleep(QUIET_PERIOD_S)

    assert attempts[0]["acked"] is True
    assert len(sandbox.attempts(created["orderNo"])) == 1


def test_notify_gives_up_after_the_schedule(sandbox: Sandbox) -> None:
    sandbox.receiver.default_reply = "nope"
    created = sandbox.create_collection("C-giveup")["data"]

    pay(sandbox, created["payUrl"])
    attempts = sandbox.wait_attempts(created["orderNo"], len(NOTIFY_SCHEDULE))
    time.sleep(QUIET_PERIOD_S)

    assert len(sandbox.attempts(created["orderNo"])) == len(NOTIFY_SCHEDULE)
    assert not any(a["acked"] for a in attempts)


def test_settlement_amount_is_exact(sandbox: Sandbox) -> None:
    sandbox.client.post(f"/_sandbox/apps/{APP_ID}/balance", json={"balance": 10})

    assert Decimal(str(sandbox.balance())) == Decimal("0.10")


def test_head_on_the_pay_url_changes_nothing(sandbox: Sandbox) -> None:
    created = sandbox.create_collection("C-head")["data"]

    response = httpx.head(created["payUrl"])

    assert response.status_code == 200
    assert sandbox.order_state(created["orderNo"])["status"] == 1
    assert sandbox.attempts(created["orderNo"]) == []


def test_concurrent_visits_pay_once(sandbox: Sandbox) -> None:
    created = sandbox.create_collection("C-race")["data"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(lambda _: httpx.get(created["payUrl"]).text, range(8)))
    sandbox.wait_attempts(created["orderNo"], 1)
    time.sleep(QUIET_PERIOD_S)

    assert sum("Payment successful" in text for text in pages) == 1
    assert sum("Already paid" in text for text in pages) == 7
    assert len(sandbox.attempts(created["orderNo"])) == 1
    assert sandbox.balance() == (BALANCE + 50_000) / 100
