"""The console in a real browser (headless Chromium), on the local stack.

An operator signs in, finds a bill paid through the BeeCloud sandbox, reads its timeline, refunds
it and sees the refund succeed, resends a webhook delivery, and finds both actions in the audit
log; a viewer gets no refund form; a user of another app cannot open the bill by its URL; repeated
wrong passwords lock the user out. No page breaks its CSP, throws, or reaches beyond loopback.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paygate_local.stack import LocalStack
from tests.paygate_local.helpers import free_ports_config
from tests.support.browser import BrowserPage, PageFactory
from tests.support.polling import eventually
from tests.support.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e

_bill_numbers = (f"CONSOLE{n:06d}" for n in itertools.count(1))
_emails = (f"user{n}@shop.example" for n in itertools.count(1))


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    overrides = {"WebhookAllowInsecureUrls": "true", "WebhookRetryBaseSeconds": "1", "WebhookRetryMaxSeconds": "1"}
    config = free_ports_config(name_prefix="browser-console", time_scale=0.01, parameter_overrides=overrides)
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="module")
def shop(stack: LocalStack, receiver: Receiver) -> dict:
    created = stack.create_app("茶叶店 Tea Shop")
    assert stack.info is not None
    endpoint = httpx.post(
        f"{stack.info.api_url}/webhook-endpoints",
        json={"url": receiver.script("/hooks", 200), "event_types": ["bill.*", "refund.*"]},
        headers={"Authorization": f"Bearer {created['api_key']}"},
    )
    assert endpoint.status_code == 201, endpoint.text
    return created


def _user(stack: LocalStack, shop: dict, role: str = "operator") -> tuple[str, str]:
    created = stack.create_console_user(shop["app_id"], next(_emails), role)
    return created["email"], created["password"]


def _paid_bill(stack: LocalStack, shop: dict, receiver: Receiver) -> str:
    assert stack.info is not None
    bill_no = next(_bill_numbers)
    created = httpx.post(
        f"{stack.info.api_url}/bills",
        json={"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": 1880, "title": "龙井 Longjing"},
        headers={"Authorization": f"Bearer {shop['api_key']}"},
    )
    assert created.status_code == 201, created.text
    assert httpx.get(created.json()["payment"]["code_url"]).status_code == 200  # the payer pays in the sandbox
    eventually(lambda: any(bill_no.encode() in r.body for r in receiver.requests), timeout=60)  # bill.succeeded
    return bill_no


def _sign_in(payer: BrowserPage, console_url: str, email: str, password: str) -> None:
    payer.goto(f"{console_url}/login")
    payer.page.fill("#email", email)
    payer.page.fill("#password", password)
    payer.page.click("#sign-in")
    payer.page.wait_for_load_state("load")


def _shot(browser_page: BrowserPage, screenshot_dir: Path, name: str) -> None:
    """Into .local/screenshots (docs/console/ holds copies of these, taken by the same test)."""
    browser_page.screenshot(screenshot_dir, name)


def test_an_operator_refunds_a_paid_bill_resends_its_webhook_and_the_audit_log_shows_both(
    stack, shop, receiver, page: PageFactory, screenshot_dir
):
    assert stack.info is not None
    console = f"{stack.info.api_url}/console"
    bill_no = _paid_bill(stack, shop, receiver)
    email, password = _user(stack, shop, "operator")
    operator = page("desktop", "zh-CN")

    operator.goto(f"{console}/login")
    _shot(operator, screenshot_dir, "console-zh-sign-in")
    _sign_in(operator, console, email, password)
    assert operator.page.url == console
    assert operator.page.locator("#merchant").inner_text() == "茶叶店 Tea Shop"
    assert bill_no in operator.page.locator("#bills").inner_text()
    operator.assert_clean()
    _shot(operator, screenshot_dir, "console-zh-overview")

    operator.page.click("#nav-bills")
    operator.page.fill("#q", bill_no)
    operator.page.press("#q", "Enter")
    operator.page.wait_for_url(re.compile(f".*/bills/{bill_no}$"))
    assert operator.page.locator("#bill-status").inner_text() == "成功"
    assert "BeeCloud 的通知,已验签并核对账本" in operator.page.locator("#timeline").inner_text()
    assert "bill.succeeded" in operator.page.locator("#timeline").inner_text()  # its webhook delivery
    operator.assert_clean()
    _shot(operator, screenshot_dir, "console-zh-bill")

    operator.page.fill("#amount", "8.80")
    operator.page.check("#confirm")
    operator.page.click("#refund")
    operator.page.wait_for_selector("#notice")
    assert "已提交" in operator.page.locator("#notice").inner_text()

    def refund_succeeded() -> bool:
        operator.page.reload()
        return "成功" in operator.page.locator("#refunds").inner_text()

    eventually(refund_succeeded, timeout=60)
    assert operator.page.locator("#bill-refunded").inner_text() == "¥8.80"
    assert "退款" in operator.page.locator("#timeline").inner_text()
    _shot(operator, screenshot_dir, "console-zh-refunded")

    operator.page.click("#nav-webhooks")
    before = len(receiver.requests)
    operator.page.locator("button.resend").first.click()
    operator.page.wait_for_selector("#notice")
    eventually(lambda: len(receiver.requests) > before, timeout=60)  # delivered again
    operator.assert_clean()
    _shot(operator, screenshot_dir, "console-zh-webhooks")

    operator.page.click("#nav-audit")
    audit = operator.page.locator("#audit").inner_text()
    assert "bill.refund" in audit
    assert "webhook.resend" in audit
    assert email in audit
    _shot(operator, screenshot_dir, "console-zh-audit")

    operator.page.click("#sign-out")
    operator.page.wait_for_url(re.compile(r".*/login\?m=out$"))
    operator.goto(f"{console}/bills/{bill_no}")  # the session is over
    assert operator.page.url.endswith("/console/login")
    operator.assert_clean()


def test_a_viewer_reads_in_english_on_a_phone_but_gets_no_refund_form(
    stack, shop, receiver, page: PageFactory, screenshot_dir
):
    assert stack.info is not None
    console = f"{stack.info.api_url}/console"
    bill_no = _paid_bill(stack, shop, receiver)
    email, password = _user(stack, shop, "viewer")
    viewer = page("phone", "en-US")

    _sign_in(viewer, console, email, password)
    viewer.goto(f"{console}/bills/{bill_no}")

    assert viewer.page.locator("#bill-status").inner_text() == "succeeded"
    assert viewer.page.locator("#refund-form").count() == 0
    assert viewer.page.locator("#refresh").count() == 0
    viewer.assert_clean()
    _shot(viewer, screenshot_dir, "console-en-phone-bill-viewer")


def test_another_apps_user_cannot_open_the_bill_by_its_url(stack, shop, receiver, page: PageFactory):
    assert stack.info is not None
    console = f"{stack.info.api_url}/console"
    bill_no = _paid_bill(stack, shop, receiver)
    other = stack.create_app("another shop")
    email, password = _user(stack, other, "operator")
    stranger = page("desktop", "en-US")

    _sign_in(stranger, console, email, password)
    response = stranger.page.goto(f"{console}/bills/{bill_no}")

    assert response is not None
    assert response.status == 404
    assert stranger.page.locator("#problem h1").inner_text() == "Not found"


def test_five_wrong_passwords_lock_the_user_out(stack, shop, page: PageFactory, screenshot_dir):
    assert stack.info is not None
    console = f"{stack.info.api_url}/console"
    email, password = _user(stack, shop, "operator")
    guesser = page("desktop", "en-US")

    for _ in range(5):
        _sign_in(guesser, console, email, "not the password, surely")
    _sign_in(guesser, console, email, password)

    assert "locked until" in guesser.page.locator("#error").inner_text()
    assert guesser.page.url.endswith("/console/login")
    _shot(guesser, screenshot_dir, "console-en-locked")


def test_payouts_with_the_balance_and_a_reconciliation_run_downloaded_as_csv(
    stack, shop, receiver, page: PageFactory, screenshot_dir, tmp_path
):
    import json

    from bench.samples import payout_body
    from paygate.clock import iso_from_ms, now_ms

    assert stack.info is not None
    assert stack.moto is not None
    assert stack.template is not None
    console = f"{stack.info.api_url}/console"
    api = {"Authorization": f"Bearer {shop['api_key']}"}
    payout = httpx.post(f"{stack.info.api_url}/payouts", json=payout_body("CONSOLE-PO-1"), headers=api)
    assert payout.status_code == 201, payout.text
    _paid_bill(stack, shop, receiver)
    now = now_ms()
    window = {"app_id": shop["app_id"], "from": iso_from_ms(now - 3_600_000), "to": iso_from_ms(now + 60_000)}
    reconcile = stack.template.functions["ReconcileFunction"].name
    answer = stack.moto.client("lambda").invoke(FunctionName=reconcile, Payload=json.dumps(window))
    assert "FunctionError" not in answer
    email, password = _user(stack, shop, "operator")
    operator = page("desktop", "en-US")

    _sign_in(operator, console, email, password)
    operator.page.click("#nav-payouts")
    assert "CONSOLE-PO-1" in operator.page.locator("#orders").inner_text()
    assert operator.page.locator("#balance .figure").inner_text().startswith("₹")
    operator.assert_clean()
    _shot(operator, screenshot_dir, "console-en-payouts")

    operator.page.click("#nav-reconciliation")
    operator.page.locator("#runs a").first.click()
    assert operator.page.locator("#run-errors").inner_text() == "0", operator.page.locator("#rows").inner_text()
    with operator.page.expect_download() as download:
        operator.page.click("#csv")
    saved = tmp_path / "run.csv"
    download.value.save_as(saved)
    assert saved.read_text().startswith("run_id,row,app_id,provider,order_kind,order_no,kind")
    operator.assert_clean()
    _shot(operator, screenshot_dir, "console-en-reconciliation")

    operator.page.click("#nav-overview")
    assert operator.page.locator("svg.chart").count() == 2
    assert operator.page.locator("#last-reconciliation a").count() == 2
    operator.assert_clean()
    _shot(operator, screenshot_dir, "console-en-overview")


def test_a_form_without_the_token_or_from_another_origin_refunds_nothing(stack, shop, receiver, page: PageFactory):
    assert stack.info is not None
    console = f"{stack.info.api_url}/console"
    bill_no = _paid_bill(stack, shop, receiver)
    email, password = _user(stack, shop, "operator")
    operator = page("desktop", "en-US")
    _sign_in(operator, console, email, password)
    operator.goto(f"{console}/bills/{bill_no}")
    refund_no = operator.page.get_attribute("input[name=refund_no]", "value")
    form = {"refund_no": refund_no or "", "amount": "1.00", "confirm": "yes"}

    # The browser's own cookie, but no CSRF token.
    without_token = operator.context.request.post(f"{console}/bills/{bill_no}/refund", form=form)
    # A page of another origin (a blank page of its own) posting a form into the console.
    operator.page.goto("about:blank")
    fields = "".join(f'<input name="{k}" value="{v}">' for k, v in {**form, "csrf": "guessed"}.items())
    operator.page.set_content(f'<form method="post" action="{console}/bills/{bill_no}/refund">{fields}'
                              '<button id="go">go</button></form>')  # fmt: skip
    with operator.page.expect_response(lambda r: r.url.endswith("/refund")) as posted:
        operator.page.click("#go")

    assert without_token.status == 403
    assert posted.value.status in (303, 403)  # no session cookie (SameSite=Strict) or refused as cross-site
    operator.goto(f"{console}/bills/{bill_no}")
    assert operator.page.locator("#bill-refunded").inner_text() == "¥0.00"
