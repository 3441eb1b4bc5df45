"""The webhook files of events/, fed to their functions as `sam local invoke -e` would."""

from __future__ import annotations

import json

from tests.support.functions import body_of, invoke, load_event

CATALOGUE_ENDPOINT = "we_0123456789abcdef01234567"
CATALOGUE_APP = "app_0123456789abcdef"


def _as(merchant, name, endpoint_id=None):
    event = load_event(name)
    event["headers"]["Authorization"] = merchant.auth
    event["multiValueHeaders"]["Authorization"] = [merchant.auth]
    if endpoint_id and event["pathParameters"]:
        event["path"] = event["path"].replace(CATALOGUE_ENDPOINT, endpoint_id)
        event["pathParameters"]["endpoint_id"] = endpoint_id
    return event


def test_the_webhook_catalogue_drives_register_read_log_resend_delete(merchant, webhooks, monkeypatch):
    monkeypatch.setenv("WEBHOOK_ALLOW_INSECURE_URLS", "false")  # the file's URL is production-shaped
    from paygate import deps

    deps.clear_caches()
    created = invoke("webhook_endpoints", _as(merchant, "create_webhook_endpoint"))
    assert created["statusCode"] == 201, created["body"]
    endpoint_id = body_of(created)["id"]

    statuses = {
        name: invoke("webhook_endpoints", _as(merchant, name, endpoint_id))["statusCode"]
        for name in (
            "list_webhook_endpoints",
            "get_webhook_endpoint",
            "rotate_webhook_secret",
            "list_webhook_deliveries",
        )
    }
    assert set(statuses.values()) == {200}, statuses
    # The catalogue's event id was never published for this app.
    assert invoke("webhook_endpoints", _as(merchant, "resend_event"))["statusCode"] == 404
    assert invoke("webhook_endpoints", _as(merchant, "delete_webhook_endpoint", endpoint_id))["statusCode"] == 200


def test_the_dispatcher_sqs_batch_fans_out_and_drops_a_task_for_an_unknown_endpoint(webhooks):
    event = load_event("webhook_dispatcher_sqs")

    result = invoke("webhook_dispatcher", event)

    assert result == {"batchItemFailures": []}
    from paygate.deps import webhooks_store

    detail = json.loads(event["Records"][0]["body"])["detail"]
    stored = webhooks_store().get_event(CATALOGUE_APP, detail["event_id"])
    assert stored is not None
    assert json.loads(stored.payload) == detail
