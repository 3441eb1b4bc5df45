"""POST /webhook-endpoints/{id}/rotate-secret: a new secret, the previous one signing for a while."""

from __future__ import annotations

import boto3
import pytest

from paygate.bus import EventPublisher
from paygate.events import DomainEvent
from paygate.webhooks.verify import SignatureVerificationError, parse_header, verify_signature
from tests.support.functions import BUS, REGION, api_event, body_of, invoke


def _rotate(merchant, endpoint_id, body=None):
    event = api_event(
        "POST",
        f"/webhook-endpoints/{endpoint_id}/rotate-secret",
        resource="/webhook-endpoints/{endpoint_id}/rotate-secret",
        body=body if body is not None else {},
        headers={"Authorization": merchant.auth},
        path_params={"endpoint_id": endpoint_id},
    )
    return invoke("webhook_endpoints", event)


def _deliver_one(webhooks, merchant, bill_no):
    event = DomainEvent("bill.succeeded", merchant.app_id, f"bill:{bill_no}", 1_800_000_000_000, {"bill_no": bill_no})
    EventPublisher(boto3.client("events", region_name=REGION), BUS).publish(event)
    assert webhooks.dispatch(webhooks.records(webhooks.events_queue_url)) == {"batchItemFailures": []}
    assert webhooks.dispatch(webhooks.records(webhooks.deliveries_queue_url)) == {"batchItemFailures": []}


def test_after_a_rotation_both_secrets_sign_until_the_previous_one_expires(merchant, webhooks, receiver):
    created = webhooks.create_endpoint(merchant, receiver.url + "/hook", ["*"])

    result = _rotate(merchant, created["id"], {"expire_previous_after_s": 3600})

    assert result["statusCode"] == 200, result["body"]
    rotated = body_of(result)
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != created["secret"]
    assert rotated["secret_rotated_at"]
    _deliver_one(webhooks, merchant, "ROT000000001")
    [request] = receiver.at("/hook")
    header = request.headers["Paygate-Signature"]
    assert len(parse_header(header)[1]) == 2
    verify_signature(request.body, header, rotated["secret"])  # a receiver that switched
    verify_signature(request.body, header, created["secret"])  # a receiver that has not yet


def test_expire_previous_after_0_stops_the_old_secret_at_once(merchant, webhooks, receiver):
    created = webhooks.create_endpoint(merchant, receiver.url + "/hook", ["*"])
    rotated = body_of(_rotate(merchant, created["id"], {"expire_previous_after_s": 0}))

    _deliver_one(webhooks, merchant, "ROT000000002")

    [request] = receiver.at("/hook")
    header = request.headers["Paygate-Signature"]
    verify_signature(request.body, header, rotated["secret"])
    with pytest.raises(SignatureVerificationError):
        verify_signature(request.body, header, created["secret"])


def test_a_second_rotation_caps_every_older_secret_at_the_new_window(merchant, webhooks, receiver):
    created = webhooks.create_endpoint(merchant, receiver.url + "/hook", ["*"])
    first = body_of(_rotate(merchant, created["id"], {"expire_previous_after_s": 3600}))
    second = body_of(_rotate(merchant, created["id"], {"expire_previous_after_s": 60}))

    _deliver_one(webhooks, merchant, "ROT000000003")

    [request] = receiver.at("/hook")
    header = request.headers["Paygate-Signature"]
    assert len(parse_header(header)[1]) == 3  # the original still has up to 60 s
    for secret in (created["secret"], first["secret"], second["secret"]):
        verify_signature(request.body, header, secret)


def test_the_default_keeps_the_previous_secret_a_day(merchant, webhooks):
    from paygate.deps import signing_secrets

    created = webhooks.create_endpoint(merchant, "https://shop.example.com/h", ["*"])
    assert _rotate(merchant, created["id"])["statusCode"] == 200
    stored = signing_secrets().load(merchant.app_id, created["id"]).signing_secrets
    assert stored[0].expires_at is None
    assert stored[1].secret == created["secret"]
    assert stored[1].expires_at is not None


def test_a_rotation_in_progress_is_a_409(merchant, webhooks):
    from paygate.clock import now_ms
    from paygate.deps import webhooks_store

    created = webhooks.create_endpoint(merchant, "https://shop.example.com/h", ["*"])
    assert webhooks_store().take_rotation_lease(
        merchant.app_id, created["id"], now_ms=now_ms(), until_ms=now_ms() + 30_000
    )

    result = _rotate(merchant, created["id"])

    assert result["statusCode"] == 409
    assert body_of(result)["error"]["code"] == "rotation_in_progress"


@pytest.mark.parametrize("body", [{"expire_previous_after_s": 604_801}, {"expire_previous_after_s": -1}, {"x": 1}])
def test_bad_bodies_are_422(merchant, webhooks, body):
    created = webhooks.create_endpoint(merchant, "https://shop.example.com/h", ["*"])
    assert _rotate(merchant, created["id"], body)["statusCode"] == 422


def test_another_apps_endpoint_cannot_be_rotated(merchant, webhooks):
    from paygate.apps.admin import create_app

    created = webhooks.create_endpoint(merchant, "https://shop.example.com/h", ["*"])
    _, other_key, _ = create_app("other", beecloud=None, beilypay=None)

    class Other:
        auth = f"Bearer {other_key}"

    assert _rotate(Other(), created["id"])["statusCode"] == 404


def test_a_rotation_racing_a_delete_is_a_404(merchant, webhooks):
    from paygate.deps import signing_secrets

    created = webhooks.create_endpoint(merchant, "https://shop.example.com/h", ["*"])
    signing_secrets().delete(merchant.app_id, created["id"])  # the delete got there between the checks

    result = _rotate(merchant, created["id"])

    assert result["statusCode"] == 404
    assert body_of(result)["error"]["code"] == "webhook_endpoint_not_found"
