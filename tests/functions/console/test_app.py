"""The console, as API Gateway invokes its function: sign-in, sessions, pages, and the actions.

Against moto and the BeeCloud sandbox. A console user of one app signs in with a password, gets
an HttpOnly Secure SameSite=Strict session cookie, sees only that app's bills and webhooks, and
(as an operator) refunds and resends, each written to the audit log; a viewer cannot act, a form
without the session's CSRF token or from another site changes nothing, and repeated wrong
passwords lock the user out.
"""

from __future__ import annotations

import json
import re
import uuid
from html import unescape
from urllib.parse import urlencode

import pytest

from tests.support.functions import api_event, body_of, invoke, pay_in_sandbox, result_headers, webhook_event

PASSWORD = "correct horse battery staple"
PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'"


def _event(method: str, path: str, *, cookie: str | None = None, form: dict | None = None, headers=None, query=None):
    resource = re.sub(r"^/console/(bills|events)/[^/]+", r"/console/\1/{id}", path)
    all_headers = {"Accept-Language": "en", "Content-Type": "", "Sec-Fetch-Site": "same-origin", **(headers or {})}
    if cookie:
        all_headers["Cookie"] = f"paygate_console={cookie}"
    body = None
    if form is not None:
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form)
    event = api_event(method, path, resource=resource, headers=all_headers, query=query)
    event["body"] = body
    return invoke("console", event)


def _user(merchant, role: str = "operator", email: str | None = None) -> str:
    from paygate.console.users import Role
    from paygate.deps import console_users

    email = email or f"{role}-{uuid.uuid4().hex[:8]}@shop.example"
    console_users().create(merchant.app_id, email, Role(role), PASSWORD)
    return email


def _cookies(result) -> list[str]:
    return list(result.get("multiValueHeaders", {}).get("Set-Cookie") or result.get("cookies") or [])


def _sign_in(email: str, password: str = PASSWORD, headers=None) -> dict:
    return _event("POST", "/console/login", form={"email": email, "password": password}, headers=headers)


def _session(merchant, role: str = "operator") -> tuple[str, str]:
    email = _user(merchant, role)
    result = _sign_in(email)
    assert result["statusCode"] == 303, result["body"]
    [cookie] = _cookies(result)
    return email, cookie.split(";")[0].split("=", 1)[1]


def _csrf(page: dict) -> str:
    return unescape(re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1))


def _paid_bill(merchant, beecloud_sandbox, bill_no: str, total_fee: int = 1000) -> None:
    created = invoke(
        "create_bill",
        api_event("POST", "/bills", body={"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": total_fee,
                                          "title": "水"}, headers={"Authorization": merchant.auth}),
    )  # fmt: skip
    assert created["statusCode"] == 201, created["body"]
    signed = pay_in_sandbox(beecloud_sandbox.url, merchant, bill_no)
    assert invoke("callback", webhook_event(merchant, signed))["body"] == "success"


def _audit_actions(cookie: str) -> list[tuple[str, str, str]]:
    page = _event("GET", "/console/audit", cookie=cookie)["body"]
    rows = re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td><td class=\"action\">([^<]*)</td><td>([^<]*)</td>", page)
    return [(unescape(actor), action, unescape(target)) for actor, action, target in rows]


def test_signing_in_sets_a_strict_session_cookie_and_opens_the_console(merchant, aws):
    email = _user(merchant)

    page = _event("GET", "/console/login")
    assert page["statusCode"] == 200
    assert result_headers(page)["Content-Security-Policy"].startswith(PAGE_CSP)
    assert result_headers(page)["X-Frame-Options"] == "DENY"
    signed_in = _sign_in(email.upper())  # the email is the login name, whatever its case

    assert signed_in["statusCode"] == 303
    assert result_headers(signed_in)["Location"] == "https://api.example.com/test/console"
    [cookie] = _cookies(signed_in)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "path", "max-age"} <= attributes
    assert "SameSite=Strict" in cookie
    assert "Path=/test/console" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    home = _event("GET", "/console", cookie=token)
    assert home["statusCode"] == 200
    assert email in home["body"]
    assert token not in home["body"]  # the session token is never in a page


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(merchant, aws):
    email = _user(merchant)

    wrong = _sign_in(email, "not the password at all")
    unknown = _sign_in("nobody@shop.example", "not the password at all")

    assert wrong["statusCode"] == unknown["statusCode"] == 401
    assert "Wrong email or password." in wrong["body"]
    assert _cookies(wrong) == []
    assert _cookies(unknown) == []
    assert wrong["body"] == unknown["body"]


def test_five_wrong_passwords_lock_the_user_even_against_the_right_one(merchant, aws):
    email = _user(merchant)

    answers = [_sign_in(email, "wrong password 123")["statusCode"] for _ in range(5)]
    locked = _sign_in(email)

    assert answers == [401, 401, 401, 401, 429]  # the fifth failure locks
    assert locked["statusCode"] == 429
    assert "locked until" in locked["body"]
    assert _cookies(locked) == []


def test_one_address_trying_many_emails_is_slowed_down(merchant, aws, monkeypatch):
    from paygate.web.limits import KeyedRateLimit
    from tests.support.functions import load_function

    console = load_function("console")
    limit = console.sign_in_attempts  # as configured, on a clock that stands still (scrypt takes time)
    monkeypatch.setattr(
        console, "sign_in_attempts", KeyedRateLimit(rate=limit.rate, burst=limit.burst, clock=lambda: 0.0)
    )

    answers = [_sign_in(f"guess{i}@shop.example", "wrong password 123")["statusCode"] for i in range(12)]

    assert answers[:10] == [401] * 10
    assert answers[-1] == 429


def test_without_a_session_every_page_sends_the_browser_to_sign_in(merchant, aws):
    for path in ("/console", "/console/bills", "/console/bills/B1", "/console/webhooks", "/console/audit"):
        answer = _event("GET", path, cookie="made-up-token")
        assert answer["statusCode"] == 303, path
        assert result_headers(answer)["Location"] == "https://api.example.com/test/console/login"


def test_an_operator_refunds_a_paid_bill_and_the_audit_log_says_who(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox, "console0001", total_fee=1000)
    email, cookie = _session(merchant, "operator")

    page = _event("GET", "/console/bills/console0001", cookie=cookie)
    assert page["statusCode"] == 200
    assert 'id="refund-form"' in page["body"]
    assert "BeeCloud notification accepted: signature and ledger match" in page["body"]
    assert "Status became succeeded (by callback)" in page["body"]
    refund_no = re.search(r'name="refund_no" value="([0-9a-f]+)"', page["body"]).group(1)
    form = {"csrf": _csrf(page), "refund_no": refund_no, "amount": "2.50", "confirm": "yes"}
    done = _event("POST", "/console/bills/console0001/refund", cookie=cookie, form=form)

    assert done["statusCode"] == 303, done["body"]
    assert f"refund_no={refund_no}" in result_headers(done)["Location"]
    refund = body_of(invoke("query", api_event("GET", f"/refunds/{refund_no}", resource="/refunds/{refund_no}",
                                               path_params={"refund_no": refund_no},
                                               headers={"Authorization": merchant.auth})))  # fmt: skip
    assert (refund["bill_no"], refund["refund_fee"]) == ("console0001", 250)
    again = _event("POST", "/console/bills/console0001/refund", cookie=cookie, form=form)  # a double click
    assert again["statusCode"] == 303  # the same refund, not a second one
    bill = _event("GET", "/console/bills/console0001", cookie=cookie)["body"]
    assert bill.count(refund_no) >= 1
    assert (email, "bill.refund", "console0001") in _audit_actions(cookie)


@pytest.mark.parametrize(("amount", "confirm"), [("0", "yes"), ("1.234", "yes"), ("abc", "yes"), ("1", "")])
def test_a_refund_form_with_a_bad_amount_or_no_confirmation_refunds_nothing(
    merchant, aws, beecloud_sandbox, amount, confirm
):
    _paid_bill(merchant, beecloud_sandbox, "console0002")
    _, cookie = _session(merchant)
    page = _event("GET", "/console/bills/console0002", cookie=cookie)
    form = {"csrf": _csrf(page), "refund_no": re.search(r'name="refund_no" value="([0-9a-f]+)"', page["body"]).group(1),
            "amount": amount, "confirm": confirm}  # fmt: skip

    answer = _event("POST", "/console/bills/console0002/refund", cookie=cookie, form=form)

    assert answer["statusCode"] == 422
    assert 'id="error"' in answer["body"]
    assert "¥0.00" in re.search(r'id="bill-refunded">([^<]*)<', answer["body"]).group(1)


def test_a_viewer_sees_the_bill_but_cannot_refund_it(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox, "console0003")
    email, cookie = _session(merchant, "viewer")

    page = _event("GET", "/console/bills/console0003", cookie=cookie)
    assert page["statusCode"] == 200
    assert 'id="refund-form"' not in page["body"]
    form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', page["body"]).group(1), "refund_no": "x",
            "amount": "1", "confirm": "yes"}  # fmt: skip
    refused = _event("POST", "/console/bills/console0003/refund", cookie=cookie, form=form)

    assert refused["statusCode"] == 403
    bill = _event("GET", "/console/bills/console0003", cookie=cookie)["body"]
    assert "¥0.00" in re.search(r'id="bill-refunded">([^<]*)<', bill).group(1)
    assert (email, "bill.refund", "console0003") in _audit_actions(cookie)  # the refusal is recorded too


def test_forms_without_the_csrf_token_or_from_another_site_change_nothing(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox, "console0004")
    _, cookie = _session(merchant)
    page = _event("GET", "/console/bills/console0004", cookie=cookie)
    form = {"refund_no": re.search(r'name="refund_no" value="([0-9a-f]+)"', page["body"]).group(1),
            "amount": "1", "confirm": "yes"}  # fmt: skip

    no_token = _event("POST", "/console/bills/console0004/refund", cookie=cookie, form=form)
    wrong_token = _event("POST", "/console/bills/console0004/refund", cookie=cookie, form={**form, "csrf": "guess"})
    cross_site = _event(
        "POST", "/console/bills/console0004/refund", cookie=cookie, form={**form, "csrf": _csrf(page)},
        headers={"Sec-Fetch-Site": "cross-site"},
    )  # fmt: skip

    assert [r["statusCode"] for r in (no_token, wrong_token, cross_site)] == [403, 403, 403]
    bill = _event("GET", "/console/bills/console0004", cookie=cookie)["body"]
    assert "¥0.00" in re.search(r'id="bill-refunded">([^<]*)<', bill).group(1)


def test_one_apps_user_cannot_open_another_apps_bill_by_its_url(merchant, aws, beecloud_sandbox):
    from paygate.apps.admin import create_app

    _paid_bill(merchant, beecloud_sandbox, "console0005")
    other, _, _ = create_app("other shop", beecloud=None, beilypay=None)  # another app, its own user
    _, their_cookie = _session(other)

    answer = _event("GET", "/console/bills/console0005", cookie=their_cookie)
    listed = _event("GET", "/console/bills", cookie=their_cookie)

    assert answer["statusCode"] == 404
    assert "console0005" not in listed["body"]


def test_signing_out_ends_the_session(merchant, aws):
    _email, cookie = _session(merchant)
    home = _event("GET", "/console", cookie=cookie)

    out = _event("POST", "/console/logout", cookie=cookie, form={"csrf": _csrf(home)})

    assert out["statusCode"] == 303
    assert any("Max-Age=0" in c for c in _cookies(out))
    assert _event("GET", "/console", cookie=cookie)["statusCode"] == 303


def test_an_operator_resends_a_webhook_delivery_and_it_is_audited(merchant, aws, webhooks):
    from paygate.deps import dispatcher

    endpoint = webhooks.create_endpoint(merchant, "https://shop.example.com/hooks", ["bill.*"])
    event_id = str(uuid.uuid4())
    detail = {"version": "1", "event_id": event_id, "type": "bill.succeeded", "app_id": merchant.app_id, "data": {}}
    assert dispatcher().fan_out(detail) == 1
    [task] = webhooks.records(webhooks.deliveries_queue_url)
    webhooks.dispatch([task])  # the first delivery (to an address that does not answer: it fails)
    email, cookie = _session(merchant)

    page = _event("GET", "/console/webhooks", cookie=cookie)
    assert page["statusCode"] == 200
    assert "https://shop.example.com/hooks" in page["body"]
    assert f'data-event="{event_id}"' in page["body"]
    resent = _event("POST", f"/console/events/{event_id}/resend", cookie=cookie,
                    form={"csrf": _csrf(page), "endpoint_id": endpoint["id"]})  # fmt: skip

    assert resent["statusCode"] == 303, resent["body"]
    [again] = webhooks.records(webhooks.deliveries_queue_url)
    assert json.loads(again["body"])["resend"] is True
    assert (email, "webhook.resend", event_id) in _audit_actions(cookie)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "QVVESVQjYXBwXzEjMQ", "%00", "A" * 900])
def test_a_made_up_page_cursor_is_a_bad_request_not_an_error(merchant, aws, cursor):
    _, cookie = _session(merchant)

    audit = _event("GET", "/console/audit", cookie=cookie, query={"before": cursor})
    bills = _event("GET", "/console/bills", cookie=cookie, query={"cursor": cursor})

    assert audit["statusCode"] == 400
    assert bills["statusCode"] == 400


def test_payouts_show_the_balance_and_an_unknown_payout_says_what_to_do(beilypay, aws):
    from bench.samples import payout_body
    from paygate.deps import transfers_store
    from paygate.models import OrderKind

    body = payout_body()
    created = invoke("payout", api_event("POST", "/payouts", body=body, headers={"Authorization": beilypay.auth}))
    assert created["statusCode"] in (201, 202), created["body"]
    order_no = body["out_order_no"]
    _, cookie = _session(beilypay, "viewer")

    listed = _event("GET", "/console/payouts", cookie=cookie)
    assert listed["statusCode"] == 200
    assert order_no in listed["body"]
    balance = re.search(r'id="balance">.*?<p class="figure">₹([0-9,.]+)</p>', listed["body"], re.S)
    assert balance, "the BeilyPay balance is shown"
    assert body["account"] not in listed["body"]  # only the masked account is ever kept

    state = transfers_store().get_transfer(OrderKind.PAYOUT, beilypay.app_id, order_no).provider_state
    transfers_store().mark_unknown(
        OrderKind.PAYOUT, beilypay.app_id, order_no, expected=state, reason="deadline passed", now_ms=1
    )
    page = _event("GET", f"/console/payouts/{order_no}", cookie=cookie)
    assert page["statusCode"] == 200
    assert 'id="unknown"' in page["body"]
    assert "never issue the payout again" in page["body"]
    assert _event("GET", "/console/payouts/NOSUCHORDER", cookie=cookie)["statusCode"] == 404


def test_the_overview_counts_the_last_30_days_by_day_and_channel(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox, "overview001", total_fee=1234)
    _paid_bill(merchant, beecloud_sandbox, "overview002", total_fee=100)
    created = invoke("create_bill", api_event("POST", "/bills", headers={"Authorization": merchant.auth}, body={
        "bill_no": "overview003", "channel": "WX_NATIVE", "total_fee": 999, "title": "未付"}))  # fmt: skip
    assert created["statusCode"] == 201
    _, cookie = _session(merchant, "viewer")

    page = _event("GET", "/console", cookie=cookie)["body"]

    assert re.search(r'id="total-bills">3<', page)
    assert re.search(r'id="total-volume">¥13.34<', page)
    assert re.search(r'id="total-rate">66.7%<', page)
    assert '<tr><td>WX_NATIVE</td><td class="num">3</td><td class="num">2</td>' in page
    assert page.count("<svg") == 2
    assert " style=" not in page.split("<main>", 1)[1]  # the CSP allows no inline style: charts use attributes


def test_an_operator_adds_an_endpoint_sees_its_secret_once_rotates_it_and_deletes_it(merchant, aws, webhooks):
    email, cookie = _session(merchant)
    page = _event("GET", "/console/webhooks", cookie=cookie)
    form = {"csrf": _csrf(page), "url": "https://shop.example.com/hooks", "event_types": "bill.*, refund.succeeded"}

    created = _event("POST", "/console/webhooks", cookie=cookie, form=form)

    assert created["statusCode"] == 201, created["body"]
    secret = re.search(r'id="secret">([^<]+)<', created["body"]).group(1)
    endpoint_id = re.search(r'id="endpoint-(we_[0-9a-f]+)"', created["body"]).group(1)
    again = _event("GET", "/console/webhooks", cookie=cookie)["body"]
    assert secret not in again  # shown once
    assert "bill.*, refund.succeeded" in again
    rotated = _event(
        "POST", f"/console/webhooks/{endpoint_id}/rotate-secret", cookie=cookie, form={"csrf": _csrf(page)}
    )
    new_secret = re.search(r'id="secret">([^<]+)<', rotated["body"]).group(1)
    assert new_secret != secret
    unconfirmed = _event("POST", f"/console/webhooks/{endpoint_id}/delete", cookie=cookie, form={"csrf": _csrf(page)})
    assert unconfirmed["statusCode"] == 422
    deleted = _event("POST", f"/console/webhooks/{endpoint_id}/delete", cookie=cookie,
                     form={"csrf": _csrf(page), "confirm": "yes"})  # fmt: skip
    assert deleted["statusCode"] == 303
    assert endpoint_id not in _event("GET", "/console/webhooks", cookie=cookie)["body"]
    actions = _audit_actions(cookie)
    for action in ("webhook_endpoint.create", "webhook_endpoint.rotate_secret", "webhook_endpoint.delete"):
        assert (email, action, endpoint_id) in actions
    assert not any(secret in str(entry) or new_secret in str(entry) for entry in actions)


@pytest.mark.parametrize(
    ("url", "types"),
    [("http://169.254.169.254/latest", "*"), ("https://10.0.0.1/x", "*"), ("https://shop.example.com/x", "nope.*")],
)
def test_an_endpoint_the_api_would_refuse_is_refused_here_too(merchant, aws, webhooks, monkeypatch, url, types):
    from paygate import deps

    monkeypatch.setenv("WEBHOOK_ALLOW_INSECURE_URLS", "false")  # production's rules: public https only
    deps.clear_caches()
    _, cookie = _session(merchant)
    page = _event("GET", "/console/webhooks", cookie=cookie)

    refused = _event("POST", "/console/webhooks", cookie=cookie, form={"csrf": _csrf(page), "url": url,
                                                                       "event_types": types})  # fmt: skip

    assert refused["statusCode"] in (400, 422)
    assert 'id="error"' in refused["body"]
    assert 'id="endpoint-we_' not in refused["body"]


def test_a_reconciliation_run_shows_its_mismatch_to_the_apps_console_and_downloads_as_csv(
    merchant, aws, beecloud_sandbox
):
    from paygate.clock import iso_from_ms, now_ms
    from paygate.deps import orders_store

    created = invoke("create_bill", api_event("POST", "/bills", headers={"Authorization": merchant.auth}, body={
        "bill_no": "RECCONSOLE01", "channel": "WX_NATIVE", "total_fee": 100, "title": "水"}))  # fmt: skip
    assert created["statusCode"] == 201
    orders_store().mark_bill_paid(merchant.app_id, "RECCONSOLE01", total_fee=100, now_ms=now_ms())  # BeeCloud: unpaid
    now = now_ms()
    report = invoke("reconcile", {"app_id": merchant.app_id, "from": iso_from_ms(now - 3_600_000),
                                  "to": iso_from_ms(now + 60_000)})  # fmt: skip
    assert len(report["mismatches"]) == 1
    _, cookie = _session(merchant, "viewer")

    runs = _event("GET", "/console/reconciliation", cookie=cookie)
    assert runs["statusCode"] == 200
    run_url = re.search(r'<td><a href="https://api.example.com/test(/console/reconciliation/[^"]+)">', runs["body"])
    page = _event("GET", run_url.group(1), cookie=cookie)
    csv_answer = _event("GET", run_url.group(1) + "/csv", cookie=cookie)

    assert re.search(r'id="run-mismatches">1<', page["body"])
    assert "ledger_paid_provider_not" in page["body"]
    assert "RECCONSOLE01" in page["body"]
    assert result_headers(csv_answer)["Content-Type"].startswith("text/csv")
    assert "attachment" in result_headers(csv_answer)["Content-Disposition"]
    header, row = csv_answer["body"].strip().splitlines()
    assert header.startswith("run_id,row,app_id,provider,order_kind,order_no,kind")
    assert ",mismatch," in row
    assert "RECCONSOLE01" in row
    from paygate.apps.admin import create_app

    other, _, _ = create_app("other", beecloud=None, beilypay=None)
    _, their_cookie = _session(other)
    assert _event("GET", run_url.group(1), cookie=their_cookie)["statusCode"] == 404  # another app's run


def test_the_bills_list_filters_by_status_and_channel_and_the_search_opens_a_bill(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox, "filter00001")
    created = invoke("create_bill", api_event("POST", "/bills", headers={"Authorization": merchant.auth}, body={
        "bill_no": "filter00002", "channel": "ALI_WEB", "total_fee": 200, "title": "未付",
        "return_url": "https://shop.example/back"}))  # fmt: skip
    assert created["statusCode"] == 201, created["body"]
    _, cookie = _session(merchant, "viewer")

    paid = _event("GET", "/console/bills", cookie=cookie, query={"status": "succeeded"})["body"]
    alipay = _event("GET", "/console/bills", cookie=cookie, query={"channel": "ALI_WEB"})["body"]
    today = _event("GET", "/console/bills", cookie=cookie, query={"from": "2000-01-01", "to": "2000-01-02"})["body"]
    search = _event("GET", "/console/bills", cookie=cookie, query={"q": "filter00002"})

    assert "filter00001" in paid
    assert "filter00002" not in paid
    assert "filter00002" in alipay
    assert "filter00001" not in alipay
    assert "No bills match." in today
    assert search["statusCode"] == 303
    assert result_headers(search)["Location"].endswith("/console/bills/filter00002")


def test_an_operator_refreshes_a_bill_from_the_provider_and_it_is_audited(merchant, aws, beecloud_sandbox):
    import httpx

    created = invoke("create_bill", api_event("POST", "/bills", headers={"Authorization": merchant.auth}, body={
        "bill_no": "refresh0001", "channel": "WX_NATIVE", "total_fee": 300, "title": "水"}))  # fmt: skip
    assert created["statusCode"] == 201
    # Paid at BeeCloud, but its webhook never reached paygate (the sandbox sends it to a dead address).
    assert httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/refresh0001/pay").is_success
    email, cookie = _session(merchant)
    page = _event("GET", "/console/bills/refresh0001", cookie=cookie)
    assert 'id="bill-status">pending<' in page["body"]

    refreshed = _event("POST", "/console/bills/refresh0001/refresh", cookie=cookie, form={"csrf": _csrf(page)})

    assert refreshed["statusCode"] == 303, refreshed["body"]
    assert 'id="bill-status">succeeded<' in _event("GET", "/console/bills/refresh0001", cookie=cookie)["body"]
    assert (email, "bill.refresh", "refresh0001") in _audit_actions(cookie)


def test_collections_are_listed_and_open_with_what_the_payer_paid(beilypay, aws):
    from bench.samples import collection_body

    body = collection_body("CONSOLE-CO-1")
    created = invoke("collect", api_event("POST", "/collections", body=body, headers={"Authorization": beilypay.auth}))
    assert created["statusCode"] == 201, created["body"]
    _, cookie = _session(beilypay, "viewer")

    listed = _event("GET", "/console/collections", cookie=cookie)
    page = _event("GET", "/console/collections/CONSOLE-CO-1", cookie=cookie)

    assert "CONSOLE-CO-1" in listed["body"]
    assert 'id="balance"' not in listed["body"]  # the balance is the payouts' float
    assert page["statusCode"] == 200
    assert re.search(r'id="order-amount">₹[0-9,.]+<', page["body"])
    assert "Order created" in page["body"]


def test_the_stylesheet_is_served_for_good_and_only_the_consoles_assets(aws):
    from paygate.web.pages import static_assets

    css = static_assets()["console.css"]
    served = _event("GET", f"/console/assets/{css.name}")
    other = _event("GET", "/console/assets/checkout.js")

    assert served["statusCode"] == 200
    assert result_headers(served)["Content-Type"].startswith("text/css")
    assert "immutable" in result_headers(served)["Cache-Control"]
    assert other["statusCode"] == 404


def test_a_forged_notification_for_a_bill_shows_in_its_timeline_as_refused_with_the_reason(
    merchant, aws, beecloud_sandbox
):
    _paid_bill(merchant, beecloud_sandbox, "forged00001")
    forged = {"sign": "0" * 32, "timestamp": 1, "transaction_type": "PAY", "transaction_id": "forged00001",
              "transaction_fee": 1000, "channel_type": "WX", "trade_success": True}  # fmt: skip
    assert invoke("callback", webhook_event(merchant, forged))["statusCode"] >= 400
    _, cookie = _session(merchant, "viewer")

    page = _event("GET", "/console/bills/forged00001", cookie=cookie)["body"]

    refused = re.findall(r"<span>(BeeCloud notification refused: [^<]+)</span>", page)
    assert len(refused) == 1, page[page.find('id="timeline"') :][:2000]
    assert "Status became succeeded" in page  # the forgery changed nothing
