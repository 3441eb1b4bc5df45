"""/webhook-endpoints and /events/{id}/resend with their real API Gateway events, against moto."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.functions._webhooks import SECRETS_PREFIX
from tests.support.functions import REGION, api_event, body_of, invoke
from tests.support.ssrf import NON_PUBLIC_URLS

EVENT_ID = "0b7e5a4c-2f1d-5e8a-9c3b-1a2b3c4d5e6f"


def _call(merchant, method, path, *, resource=None, body=None, path_params=None, query=None):
    event = api_event(
        method,
        path,
        resource=resource,
        body=body,
        headers={"Authorization": merchant.auth},
        path_params=path_params,
        query=query,
    )
    return invoke("webhook_endpoints", event)


def _get(merchant, endpoint_id):
    return _call(
        merchant,
        "GET",
        f"/webhook-endpoints/{endpoint_id}",
        resource="/webhook-endpoints/{endpoint_id}",
        path_params={"endpoint_id": endpoint_id},
    )


def _other_merchant():
    from paygate.apps.admin import create_app

    app, key, _ = create_app("other", beecloud=None, beilypay=None)

    class Other:
        app_id = app.app_id
        auth = f"Bearer {key}"

    return Other()


def test_create_returns_the_secret_once_and_reads_never_show_it(merchant, webhooks):
    created = webhooks.create_endpoint(merchant, "https://shop.example.com/hooks", ["bill.succeeded", "payout.*"])

    assert created["id"].startswith("we_")
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["bill.succeeded", "payout.*"]
    fetched = body_of(_get(merchant, created["id"]))
    assert "secret" not in fetched
    assert fetched["url"] == "https://shop.example.com/hooks"
    listed = body_of(_call(merchant, "GET", "/webhook-endpoints"))
    assert [e["id"] for e in listed["data"]] == [created["id"]]
    stored = boto3.client("secretsmanager", region_name=REGION).get_secret_value(
        SecretId=f"{SECRETS_PREFIX}{merchant.app_id}/{created['id']}"
    )
    assert json.loads(stored["SecretString"]) == {"signing_secrets": [{"secret": created["secret"]}]}


@pytest.mark.parametrize(
    ("url", "event_types", "code"),
    [
        ("http://shop.example.com/hooks", ["bill.succeeded"], "invalid_url"),
        ("https://127.0.0.1/hooks", ["bill.succeeded"], "invalid_url"),
        ("https://169.254.169.254/latest", ["*"], "invalid_url"),
        ("https://localhost/hooks", ["*"], "invalid_url"),
        ("https://user:pw@shop.example.com/hooks", ["*"], "invalid_url"),
        ("ftp://shop.example.com/hooks", ["*"], "invalid_url"),
        ("https://shop.example.com/hooks", ["bill.paid"], "invalid_request"),
        ("https://shop.example.com/hooks", ["refunds.*"], "invalid_request"),
        ("https://shop.example.com/hooks", [], "invalid_request"),
        ("https://shop.example.com/" + "a" * 2100, ["*"], "invalid_request"),
    ],
)
def test_production_settings_refuse_unsafe_urls_and_unknown_types(
    merchant, webhooks, monkeypatch, url, event_types, code
):
    monkeypatch.setenv("WEBHOOK_ALLOW_INSECURE_URLS", "false")
    from paygate import deps

    deps.clear_caches()
    result = _call(merchant, "POST", "/webhook-endpoints", body={"url": url, "event_types": event_types})
    assert result["statusCode"] == 422, result["body"]
    assert body_of(result)["error"]["code"] == code


def test_production_settings_refuse_every_non_public_destination(merchant, webhooks, monkeypatch):
    # Loopback, private, link-local, CGNAT, multicast, reserved, IPv6 forms embedding them, numeric
    # IPv4 spellings (2130706433, 0x7f.1, 0177.0.0.1) and trailing dots: 422, nothing stored.
    # One table through the handler (the unit tests check each form alone), one moto setup.
    monkeypatch.setenv("WEBHOOK_ALLOW_INSECURE_URLS", "false")
    from paygate import deps

    deps.clear_caches()
    answers = {
        url: _call(merchant, "POST", "/webhook-endpoints", body={"url": url, "event_types": ["*"]})
        for url in NON_PUBLIC_URLS
    }

    not_refused = {url: a["body"] for url, a in answers.items() if a["statusCode"] != 422}
    assert not_refused == {}
    assert {body_of(a)["error"]["code"] for a in answers.values()} == {"invalid_url"}
    assert body_of(_call(merchant, "GET", "/webhook-endpoints"))["data"] == []


def test_another_apps_endpoint_is_a_404_everywhere(merchant, webhooks):
    created = webhooks.create_endpoint(merchant, "https://shop.example.com/hooks", ["*"])
    other = _other_merchant()
    endpoint_id = created["id"]
    params = {"endpoint_id": endpoint_id}

    assert _get(other, endpoint_id)["statusCode"] == 404
    deleted = _call(
        other,
        "DELETE",
        f"/webhook-endpoints/{endpoint_id}",
        resource="/webhook-endpoints/{endpoint_id}",
        path_params=params,
    )
    assert deleted["statusCode"] == 404
    log = _call(
        other,
        "GET",
        f"/webhook-endpoints/{endpoint_id}/deliveries",
        resource="/webhook-endpoints/{endpoint_id}/deliveries",
        path_params=params,
    )
    assert log["statusCode"] == 404
    assert body_of(_call(other, "GET", "/webhook-endpoints"))["data"] == []
    assert _get(merchant, endpoint_id)["statusCode"] == 200


def test_delete_removes_the_endpoint_and_its_secret(merchant, webhooks):
    created = webhooks.create_endpoint(merchant, "https://shop.example.com/hooks", ["*"])
    endpoint_id = created["id"]

    result = _call(
        merchant,
        "DELETE",
        f"/webhook-endpoints/{endpoint_id}",
        resource="/webhook-endpoints/{endpoint_id}",
        path_params={"endpoint_id": endpoint_id},
    )

    assert result["statusCode"] == 200
    assert body_of(result) == {"object": "webhook_endpoint", "id": endpoint_id, "deleted": True}
    assert _get(merchant, endpoint_id)["statusCode"] == 404
    secrets = boto3.client("secretsmanager", region_name=REGION).list_secrets()["SecretList"]
    assert [s for s in secrets if endpoint_id in s["Name"]] == []


def test_an_app_has_a_bounded_number_of_endpoints(merchant, webhooks, monkeypatch):
    monkeypatch.setenv("WEBHOOK_MAX_ENDPOINTS", "2")
    from paygate import deps

    deps.clear_caches()
    for n in range(2):
        webhooks.create_endpoint(merchant, f"https://shop.example.com/hooks/{n}", ["*"])
    result = _call(
        merchant, "POST", "/webhook-endpoints", body={"url": "https://shop.example.com/x", "event_types": ["*"]}
    )
    assert result["statusCode"] == 409
    assert body_of(result)["error"]["code"] == "too_many_webhook_endpoints"


def test_the_delivery_log_pages_newest_first(merchant, webhooks):
    from paygate.deps import webhooks_store
    from paygate.webhooks.models import AttemptStatus, DeliveryAttempt

    endpoint_id = webhooks.create_endpoint(merchant, "https://shop.example.com/hooks", ["*"])["id"]
    for n in range(1, 6):
        webhooks_store().put_attempt(
            DeliveryAttempt(
                delivery_id=f"dlv_{n}",
                app_id=merchant.app_id,
                endpoint_id=endpoint_id,
                event_id=EVENT_ID,
                event_type="bill.succeeded",
                attempt=n,
                status=AttemptStatus.SUCCEEDED if n == 5 else AttemptStatus.FAILED,
                response_status=200 if n == 5 else 500,
                latency_ms=3,
                error=None if n == 5 else "http_500",
                attempted_at_ms=1_800_000_000_000 + n,
            ),
            expires_at=1_900_000_000,
        )

    first = webhooks.deliveries(merchant, endpoint_id, limit="2")
    second = webhooks.deliveries(merchant, endpoint_id, limit="2", cursor=first["next_cursor"])
    third = webhooks.deliveries(merchant, endpoint_id, limit="2", cursor=second["next_cursor"])

    attempts = [d["attempt"] for page in (first, second, third) for d in page["data"]]
    assert attempts == [5, 4, 3, 2, 1]
    assert first["data"][0]["status"] == "succeeded"
    assert first["data"][0]["response_status"] == 200
    assert first["data"][1]["error"] == "http_500"


def test_a_cursor_of_another_endpoint_is_refused(merchant, webhooks):
    from paygate.webhooks.store import encode_cursor

    endpoint_id = webhooks.create_endpoint(merchant, "https://shop.example.com/hooks", ["*"])["id"]
    foreign = encode_cursor({"pk": "WHEP#we_000000000000000000000000", "sk": "DLV#1"})
    result = _call(
        merchant,
        "GET",
        f"/webhook-endpoints/{endpoint_id}/deliveries",
        resource="/webhook-endpoints/{endpoint_id}/deliveries",
        path_params={"endpoint_id": endpoint_id},
        query={"cursor": foreign},
    )
    assert result["statusCode"] == 422
    assert body_of(result)["error"]["code"] == "invalid_cursor"


def test_a_real_cursor_of_another_apps_endpoint_is_refused(merchant, webhooks):
    from paygate.deps import webhooks_store
    from paygate.webhooks.models import AttemptStatus, DeliveryAttempt

    other = _other_merchant()
    theirs = webhooks.create_endpoint(other, "https://other.example.com/hooks", ["*"])["id"]
    mine = webhooks.create_endpoint(merchant, "https://shop.example.com/hooks", ["*"])["id"]
    for n in range(3):
        webhooks_store().put_attempt(
            DeliveryAttempt(
                delivery_id=f"dlv_{n}",
                app_id=other.app_id,
                endpoint_id=theirs,
                event_id=EVENT_ID,
                event_type="bill.succeeded",
                attempt=1,
                status=AttemptStatus.SUCCEEDED,
                latency_ms=3,
                attempted_at_ms=1_800_000_000_000 + n,
            ),
            expires_at=1_900_000_000,
        )
    their_cursor = webhooks.deliveries(other, theirs, limit="1")["next_cursor"]
    assert their_cursor

    result = _call(
        merchant,
        "GET",
        f"/webhook-endpoints/{mine}/deliveries",
        resource="/webhook-endpoints/{endpoint_id}/deliveries",
        path_params={"endpoint_id": mine},
        query={"cursor": their_cursor},
    )

    assert result["statusCode"] == 422
    assert body_of(result)["error"]["code"] == "invalid_cursor"
    assert len(webhooks.deliveries(other, theirs, limit="5", cursor=their_cursor)["data"]) == 2


def _resend(merchant, event_id, query=None):
    return _call(
        merchant,
        "POST",
        f"/events/{event_id}/resend",
        resource="/events/{event_id}/resend",
        path_params={"event_id": event_id},
        query=query,
    )


def test_resend_queues_the_stored_event_for_subscribed_endpoints(merchant, webhooks):
    from paygate.deps import dispatcher

    bills = webhooks.create_endpoint(merchant, "https://shop.example.com/bills", ["bill.*"])
    webhooks.create_endpoint(merchant, "https://shop.example.com/payouts", ["payout.*"])
    detail = {"version": "1", "event_id": EVENT_ID, "type": "bill.succeeded", "app_id": merchant.app_id, "data": {}}
    assert dispatcher().fan_out(detail) == 1
    webhooks.records(webhooks.deliveries_queue_url)  # the first fan-out's task, out of the way

    result = _resend(merchant, EVENT_ID)

    assert result["statusCode"] == 202, result["body"]
    assert body_of(result)["endpoint_ids"] == [bills["id"]]
    [record] = webhooks.records(webhooks.deliveries_queue_url)
    task = json.loads(record["body"])
    assert task["resend"] is True
    assert task["endpoint_id"] == bills["id"]
    assert json.loads(task["payload"])["event_id"] == EVENT_ID


def test_resend_of_an_unknown_or_foreign_event_is_a_404(merchant, webhooks):
    from paygate.deps import dispatcher

    webhooks.create_endpoint(merchant, "https://shop.example.com/bills", ["*"])
    detail = {"version": "1", "event_id": EVENT_ID, "type": "bill.succeeded", "app_id": merchant.app_id, "data": {}}
    dispatcher().fan_out(detail)

    assert _resend(_other_merchant(), EVENT_ID)["statusCode"] == 404
    missing = _resend(merchant, "11111111-2222-5333-8444-555555555555")
    assert missing["statusCode"] == 404
    assert body_of(missing)["error"]["code"] == "event_not_found"


def test_routes_need_an_api_key(webhooks):
    event = api_event("GET", "/webhook-endpoints")
    assert invoke("webhook_endpoints", event)["statusCode"] == 401
