"""Checkout: the merchant's session API and the payer's page, as API Gateway invokes the function.

Against moto and the BeeCloud sandbox: a session is created with the API key, its page is
served to anyone holding its URL (and only the page and state of that session), choosing a
channel creates that channel's bill once, and the session completes when the bill is paid.
"""

from __future__ import annotations

import json
import re
import time
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from paygate.checkout.signing import verify_return
from tests.support.functions import api_event, body_of, invoke, pay_in_sandbox, result_headers, webhook_event

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SESSION = {
    "total_fee": 1234,
    "title": "测试订单",
    "channels": ["WX_NATIVE", "ALI_WEB"],
    "return_url": "https://shop.example/done?order=42",
}


def _create(merchant, body=None, headers=None) -> dict:
    event = api_event(
        "POST", "/checkout/sessions", body=body or SESSION, headers={"Authorization": merchant.auth, **(headers or {})}
    )
    return invoke("checkout", event)


def _token(session: dict) -> str:
    return urlsplit(session["url"]).path.rsplit("/", 1)[1]


def _page(token: str, *, query=None, language="en") -> dict:
    event = api_event(
        "GET", f"/pay/{token}", resource="/pay/{token}", path_params={"token": token}, query=query,
        headers={"Accept-Language": language, "Content-Type": ""},
    )  # fmt: skip
    return invoke("checkout", event)


def _choose(token: str, channel: str, headers=None) -> dict:
    event = api_event(
        "POST", f"/pay/{token}/channels/{channel}", resource="/pay/{token}/channels/{channel}",
        path_params={"token": token, "channel": channel},
        headers={"Sec-Fetch-Site": "same-origin", "Content-Type": "", **(headers or {})},
    )  # fmt: skip
    return invoke("checkout", event)


def _status(token: str) -> dict:
    event = api_event(
        "GET", f"/pay/{token}/status", resource="/pay/{token}/status", path_params={"token": token},
        headers={"Content-Type": ""},
    )  # fmt: skip
    return body_of(invoke("checkout", event))


def test_a_session_is_created_with_a_page_url_and_read_back_by_its_merchant_only(merchant, aws):
    created = _create(merchant)

    assert created["statusCode"] == 201, created["body"]
    session = body_of(created)
    assert session["status"] == "open"
    assert re.fullmatch(r"https://api\.example\.com/test/pay/[A-Za-z0-9_-]{43}", session["url"])  # stage "test"
    assert (session["total_fee"], session["currency"], session["channels"]) == (1234, "CNY", ["WX_NATIVE", "ALI_WEB"])
    read = invoke(
        "checkout",
        api_event(
            "GET", f"/checkout/sessions/{session['id']}", resource="/checkout/sessions/{session_id}",
            path_params={"session_id": session["id"]}, headers={"Authorization": merchant.auth},
        ),
    )  # fmt: skip
    assert body_of(read) == session


def test_another_apps_key_cannot_read_the_session(merchant, aws):
    from paygate.apps.admin import create_app

    session = body_of(_create(merchant))
    _, other_key, _ = create_app("other", beecloud=None, beilypay=None)

    read = invoke(
        "checkout",
        api_event(
            "GET", f"/checkout/sessions/{session['id']}", resource="/checkout/sessions/{session_id}",
            path_params={"session_id": session["id"]}, headers={"Authorization": f"Bearer {other_key}"},
        ),
    )  # fmt: skip
    assert read["statusCode"] == 404
    assert body_of(read)["error"]["code"] == "checkout_session_not_found"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channels": []}, "channels"),
        ({"channels": ["WX_NATIVE", "WX_NATIVE"]}, "channels"),
        ({"channels": ["WX_APP"]}, "channels"),
        ({"expires_in": 60}, "expires_in"),
        ({"expires_in": 86_401}, "expires_in"),
        ({"total_fee": 0}, "total_fee"),
        ({"title": "一二三四五六七八九十一二三四五六七"}, "title"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"bill_no_prefix": "has-dash"}, "bill_no_prefix"),
    ],
)
def test_invalid_sessions_are_refused_with_the_field(merchant, aws, change, field):
    refused = _create(merchant, {**SESSION, **change})

    assert refused["statusCode"] == 422
    assert field in {detail["field"].split(".")[0] for detail in body_of(refused)["error"]["details"]}


def test_the_idempotency_key_makes_a_retried_create_return_the_same_session(merchant, aws):
    first = _create(merchant, headers={"Idempotency-Key": "checkout-retry-1"})
    again = _create(merchant, headers={"Idempotency-Key": "checkout-retry-1"})

    assert (first["statusCode"], again["statusCode"]) == (201, 201)  # the first answer, replayed
    assert body_of(first)["id"] == body_of(again)["id"]


def test_the_page_shows_the_session_in_the_payers_language_with_strictresult_headers(merchant, aws):
    token = _token(body_of(_create(merchant, {**SESSION, "title": "<b>Mug</b>"})))

    chinese, english = _page(token, language="zh-CN,zh;q=0.9,en;q=0.5"), _page(token, language="en-GB")

    for page in (chinese, english):
        assert page["statusCode"] == 200
        headers = result_headers(page)
        assert headers["Content-Security-Policy"] == PAGE_CSP
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
        html = page["body"]
        assert "&lt;b&gt;Mug&lt;/b&gt;" in html  # the merchant's title is text, never markup
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None  # no inline script
        assert "style=" not in html
        assert "¥</span>12.34" in html
        assert merchant.api_key not in html
    assert "选择支付方式" in chinese["body"]
    assert 'lang="zh-CN"' in chinese["body"]
    assert "Choose how to pay" in english["body"]


def test_an_unknown_token_gets_a_page_that_says_so(aws):
    page = _page("A" * 43)

    assert page["statusCode"] == 404
    assert "Payment not found" in page["body"]


def test_choosing_a_channel_creates_its_bill_once_and_shows_a_qr_code(merchant, aws):
    session = body_of(_create(merchant, {**SESSION, "bill_no_prefix": "SHOP"}))
    token = _token(session)

    chosen = [_choose(token, "WX_NATIVE") for _ in range(2)]

    assert [c["statusCode"] for c in chosen] == [303, 303]
    location = result_headers(chosen[0])["Location"]
    assert location == f"{session['url']}?channel=WX_NATIVE"
    shown = _page(token, query={"channel": "WX_NATIVE"})["body"]
    assert "<svg" in shown
    qr_content = unescape(re.search(r'data-qr-content="([^"]+)"', shown).group(1))
    bills = invoke("query", api_event("GET", "/bills", headers={"Authorization": merchant.auth}))
    listed = body_of(bills)["data"]
    assert len(listed) == 1  # the second choice found the same bill
    (bill,) = listed
    assert bill["bill_no"].startswith("SHOP")
    assert (bill["channel"], bill["total_fee"], bill["title"]) == ("WX_NATIVE", 1234, "测试订单")
    assert bill["optional"] == {"checkout_session": session["id"]}
    assert qr_content == bill["payment"]["code_url"]


def test_a_web_cashier_is_a_form_to_the_provider_and_the_csp_allows_only_that_target(merchant, aws, beecloud_sandbox):
    token = _token(body_of(_create(merchant)))

    _choose(token, "ALI_WEB")
    page = _page(token, query={"channel": "ALI_WEB"})

    form_action = unescape(re.search(r'<form id="provider-form"[^>]*action="([^"]+)"', page["body"]).group(1))
    assert form_action.startswith(beecloud_sandbox.url)
    target = f"{urlsplit(form_action).scheme}://{urlsplit(form_action).netloc}"
    assert result_headers(page)["Content-Security-Policy"].count("form-action 'self' " + target + ";") == 1
    assert "<script>" not in page["body"]  # BeeCloud's own auto-submit script is not carried over


def test_a_cross_site_post_cannot_start_a_bill(merchant, aws):
    token = _token(body_of(_create(merchant)))

    refused = _choose(token, "WX_NATIVE", headers={"Sec-Fetch-Site": "cross-site"})

    assert refused["statusCode"] == 403
    assert body_of(invoke("query", api_event("GET", "/bills", headers={"Authorization": merchant.auth})))["data"] == []


def test_paying_the_bill_completes_the_session_and_sends_the_payer_back(merchant, aws, beecloud_sandbox):
    session = body_of(_create(merchant))
    token = _token(session)
    _choose(token, "WX_NATIVE")
    assert _status(token) == {"status": "open", "return_to": None}
    bill_no = body_of(invoke("query", api_event("GET", "/bills", headers={"Authorization": merchant.auth})))["data"][0][
        "bill_no"
    ]

    signed = pay_in_sandbox(beecloud_sandbox.url, merchant, bill_no)
    assert invoke("callback", webhook_event(merchant, signed))["body"] == "success"

    state = _status(token)
    assert state["status"] == "complete"
    back = urlsplit(state["return_to"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "https://shop.example/done"
    query = dict(parse_qsl(back.query))
    assert (query["order"], query["session_id"]) == ("42", session["id"])  # the merchant's own query kept
    assert verify_return(
        merchant.checkout_secret,
        query["session_id"],
        int(query["timestamp"]),
        query["signature"],
        now_s=int(time.time()),
    )
    assert not verify_return(
        "pcs_another-apps-secret", query["session_id"], int(query["timestamp"]), query["signature"],
        now_s=int(time.time()),
    )  # fmt: skip
    page = _page(token)["body"]
    assert "Payment received" in page
    assert 'id="channel-' not in page  # a paid session never offers to pay again
    assert 'action="' not in page


def test_the_cashier_returns_the_payer_to_the_page_which_sends_them_on_once_paid(merchant, aws, beecloud_sandbox):
    session = body_of(_create(merchant))
    token = _token(session)
    _choose(token, "ALI_WEB")
    [bill] = body_of(invoke("query", api_event("GET", "/bills", headers={"Authorization": merchant.auth})))["data"]
    in_sandbox = httpx.get(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/{bill['bill_no']}")
    back = urlsplit(in_sandbox.json()["return_url"])  # where the cashier sends the payer after paying
    assert f"{back.scheme}://{back.netloc}{back.path}" == session["url"]
    query = dict(parse_qsl(back.query))

    waiting = _page(token, query=query)  # back before the provider's webhook: the page waits and polls
    assert waiting["statusCode"] == 200
    assert 'data-state="open"' in waiting["body"]
    assert 'id="provider-form"' in waiting["body"]

    signed = pay_in_sandbox(beecloud_sandbox.url, merchant, bill["bill_no"])
    assert invoke("callback", webhook_event(merchant, signed))["body"] == "success"

    onward = _page(token, query=query)  # back after it: straight on to the merchant
    assert onward["statusCode"] == 303
    location = result_headers(onward)["Location"]
    assert location.startswith("https://shop.example/done?order=42&")
    assert dict(parse_qsl(urlsplit(location).query))["session_id"] == session["id"]
    later = _page(token)  # a later visit, not from the cashier, shows the paid page
    assert later["statusCode"] == 200
    assert "Payment received" in later["body"]


def test_an_expired_session_offers_nothing(merchant, aws, monkeypatch):
    token = _token(body_of(_create(merchant, {**SESSION, "expires_in": 300})))
    from paygate import deps

    service = deps.checkout_service()
    monkeypatch.setattr(service, "_clock", lambda: 10**13)  # far past the expiry

    page = _page(token)["body"]
    assert "This payment has expired" in page
    assert 'id="channel-' not in page
    assert _choose(token, "WX_NATIVE")["statusCode"] == 303  # answered with the page's current state
    assert _status(token)["status"] == "expired"


def test_an_app_without_a_checkout_secret_cannot_create_sessions(merchant, aws):
    import boto3

    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    name = f"paygate/test/apps/{merchant.app_id}"
    stored = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
    stored.pop("checkout_secret")
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps(stored))
    from tests.support.functions import clear_container_caches

    clear_container_caches()
    refused = _create(merchant)

    assert refused["statusCode"] == 409
    assert body_of(refused)["error"]["code"] == "checkout_not_configured"


def _bill_event(app_id: str, bill: dict) -> dict:
    return {
        "version": "0", "id": "e", "detail-type": "bill.succeeded", "source": "paygate", "account": "123456789012",
        "time": "2026-12-05T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"type": "bill.succeeded", "app_id": app_id, "data": bill},
    }  # fmt: skip


def _paid_bills(merchant, beecloud_sandbox, token: str, channels: list[str]) -> list[dict]:
    for channel in channels:
        _choose(token, channel)
    bills = body_of(invoke("query", api_event("GET", "/bills", headers={"Authorization": merchant.auth})))["data"]
    for bill in bills:
        signed = pay_in_sandbox(beecloud_sandbox.url, merchant, bill["bill_no"])
        assert invoke("callback", webhook_event(merchant, signed))["body"] == "success"
    return body_of(invoke("query", api_event("GET", "/bills", headers={"Authorization": merchant.auth})))["data"]


def test_the_bus_completes_a_session_whose_page_was_closed_and_reports_a_second_payment(
    merchant, aws, beecloud_sandbox
):
    session = body_of(_create(merchant))
    token = _token(session)
    first, second = sorted(
        _paid_bills(merchant, beecloud_sandbox, token, ["WX_NATIVE", "ALI_WEB"]), key=lambda b: b["paid_at"]
    )
    aws.published_events()  # the bills' own events

    invoke("checkout", _bill_event(merchant.app_id, first))
    invoke("checkout", _bill_event(merchant.app_id, second))
    invoke("checkout", _bill_event(merchant.app_id, second))  # EventBridge delivers at least once

    got = body_of(invoke("checkout", api_event(
        "GET", f"/checkout/sessions/{session['id']}", resource="/checkout/sessions/{session_id}",
        path_params={"session_id": session["id"]}, headers={"Authorization": merchant.auth},
    )))  # fmt: skip
    assert (got["status"], got["bill_no"]) == ("complete", first["bill_no"])
    published = aws.published_events()
    by_type = {}
    for event in published:
        by_type.setdefault(event["detail-type"], set()).add(event["detail"]["event_id"])
    assert set(by_type) == {"checkout.session.completed", "checkout.session.extra_payment"}
    assert len(by_type["checkout.session.completed"]) == 1  # one id, however often it went out
    assert len(by_type["checkout.session.extra_payment"]) == 1
    extra = next(e for e in published if e["detail-type"] == "checkout.session.extra_payment")["detail"]["data"]
    assert (extra["session"]["id"], extra["bill"]["bill_no"]) == (session["id"], second["bill_no"])
    assert "url" not in extra["session"]  # the page's URL is a credential: never in an event


def test_a_bill_not_started_by_the_session_cannot_complete_it(merchant, aws, beecloud_sandbox):
    session = body_of(_create(merchant))
    forged = {"bill_no": "FORGED0000001", "channel": "WX_NATIVE", "total_fee": 1234, "title": "x"}
    created = invoke("create_bill", api_event(
        "POST", "/bills", body={**forged, "optional": {"checkout_session": session["id"]}},
        headers={"Authorization": merchant.auth},
    ))  # fmt: skip
    signed = pay_in_sandbox(beecloud_sandbox.url, merchant, body_of(created)["bill_no"])
    invoke("callback", webhook_event(merchant, signed))
    bill = body_of(invoke("query", api_event(
        "GET", "/bills/FORGED0000001", resource="/bills/{bill_no}", path_params={"bill_no": "FORGED0000001"},
        headers={"Authorization": merchant.auth},
    )))  # fmt: skip

    invoke("checkout", _bill_event(merchant.app_id, bill))

    assert _status(_token(session))["status"] == "open"


def test_an_expired_session_is_announced_once(merchant, aws, monkeypatch):
    session = body_of(_create(merchant, {**SESSION, "expires_in": 300}))
    from paygate import deps

    monkeypatch.setattr(deps.checkout_service(), "_clock", lambda: 10**13)
    aws.published_events()
    for _ in range(3):
        _status(_token(session))

    expired = [e for e in aws.published_events() if e["detail-type"] == "checkout.session.expired"]
    assert len(expired) == 1
    assert expired[0]["detail"]["data"]["id"] == session["id"]


@pytest.fixture
def expiry_queue(aws, monkeypatch) -> str:
    import boto3

    from tests.support.functions import clear_container_caches

    url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="checkout-expiry")["QueueUrl"]
    monkeypatch.setenv("CHECKOUT_EXPIRY_QUEUE_URL", url)
    clear_container_caches()
    return url


def _timers(url: str) -> list[dict]:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    return [sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]]


def _fire(url: str, session: dict, merchant) -> dict:
    record = {
        "messageId": "m1", "receiptHandle": "r1", "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:checkout-expiry",
        "attributes": {}, "messageAttributes": {},
        "body": json.dumps({"app_id": merchant.app_id, "session_id": session["id"]}),
    }  # fmt: skip
    return invoke("checkout", {"Records": [record]})


def test_a_session_starts_its_expiry_timer_and_expires_on_time_without_any_reader(
    merchant, expiry_queue, aws, monkeypatch
):
    session = body_of(_create(merchant, {**SESSION, "expires_in": 1800}))
    assert _timers(expiry_queue)[0]["ApproximateNumberOfMessagesDelayed"] == "1"  # 15 min, SQS's longest delay

    assert _fire(expiry_queue, session, merchant) == {"batchItemFailures": []}  # 15 min in: not due
    assert _timers(expiry_queue)[0]["ApproximateNumberOfMessagesDelayed"] == "2"  # waits again
    aws.published_events()
    from paygate import deps

    monkeypatch.setattr(deps.checkout_service(), "_clock", lambda: 10**13)
    assert _fire(expiry_queue, session, merchant) == {"batchItemFailures": []}

    expired = [e for e in aws.published_events() if e["detail-type"] == "checkout.session.expired"]
    assert [e["detail"]["data"]["id"] for e in expired] == [session["id"]]
    assert _timers(expiry_queue)[0]["ApproximateNumberOfMessagesDelayed"] == "2"  # nothing more queued


def test_the_timer_waits_at_most_fifteen_minutes_and_rounds_up():
    from paygate.checkout.expiry import delay_until

    assert delay_until(expires_at_ms=10_000_000, now_ms=0) == 900
    assert delay_until(expires_at_ms=1_001, now_ms=0) == 2
    assert delay_until(expires_at_ms=0, now_ms=5_000) == 0


def test_a_page_hammering_its_status_is_told_to_wait(merchant, aws):
    token = _token(body_of(_create(merchant)))
    event = api_event(
        "GET", f"/pay/{token}/status", resource="/pay/{token}/status", path_params={"token": token},
        headers={"Content-Type": ""},
    )  # fmt: skip

    answers = [invoke("checkout", event) for _ in range(15)]

    statuses = [a["statusCode"] for a in answers]
    assert statuses[:10] == [200] * 10  # a page's burst (two tabs polling) is fine
    assert 429 in statuses[10:]
    refused = next(a for a in answers if a["statusCode"] == 429)
    assert int(result_headers(refused)["Retry-After"]) >= 1
    other = _token(body_of(_create(merchant)))
    assert _status(other)["status"] == "open"  # another session's page is not affected


def test_the_page_assets_are_served_with_their_type_and_cached_for_good(aws):
    event = api_event(
        "GET", "/pay/assets/checkout.js", resource="/pay/assets/{name}", path_params={"name": "checkout.js"},
        headers={"Content-Type": ""},
    )  # fmt: skip
    script = invoke("checkout", event)
    assert script["statusCode"] == 200
    assert result_headers(script)["Content-Type"].startswith("text/javascript")
    assert "immutable" in result_headers(script)["Cache-Control"]
    for name in ("missing.js", "..%2Fapp.py"):  # only the shipped files: a lookup, never a path on disk
        event.update(path=f"/pay/assets/{name}", pathParameters={"name": name})
        assert invoke("checkout", event)["statusCode"] == 404


def test_a_channel_the_provider_refuses_says_so_and_offers_the_others(merchant, aws, clean_faults):
    from tests.support.functions import add_fault

    token = _token(body_of(_create(merchant)))
    add_fault(clean_faults, scope="request", kind="error", path="/1/rest/bill$", status=500, count=5)

    answer = _choose(token, "WX_NATIVE")

    assert answer["statusCode"] == 200
    assert 'role="alert"' in answer["body"]
    assert 'id="channel-ALI_WEB"' in answer["body"]
