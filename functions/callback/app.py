"""Provider callbacks. BeeCloud: answer exactly `success`, BeilyPay: `SUCC`, once the state is safely stored.

Anything that does not verify or does not match the ledger is refused (no ack word), logged as a
security event and counted, and changes nothing.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.http import BodyRejection, build_resolver, handle
from paygate.apps.keys import is_valid_app_id
from paygate.credentials import beecloud_credentials, beilypay_credentials, load_app_secrets
from paygate.deps import (
    app_cache,
    beecloud_client,
    event_publisher,
    order_history,
    orders_store,
    poller_starter,
    transfer_ledger,
    transfers_store,
)
from paygate.errors import CallbackRejectedError, WebhookVerificationError
from paygate.payments.callbacks import BeeCloudCallbacks
from paygate.payments.refunds import RefundService
from paygate.providers import parse_callback_body
from paygate.settings import get_settings
from paygate.tracing import traced
from paygate.transfers.callbacks import BeilyPayCallbacks

logger = Logger()
metrics = Metrics()
app = build_resolver()

BEECLOUD_ACK = "success"
BEILYPAY_ACK = "SUCC"  # BeilyPay accepts any body containing SUCC


def _text(status: int, body: str) -> Response[str]:
    return Response(status_code=status, content_type=content_types.TEXT_PLAIN, body=body)


def _reject(provider: str, app_id: str, reason: str, status: int = 400) -> Response[str]:
    metrics.add_dimension(name="Provider", value=provider)
    metrics.add_metric(name="CallbackRejected", unit=MetricUnit.Count, value=1)
    logger.warning(
        "callback rejected",
        extra={"security_event": True, "provider": provider, "app_id": app_id, "reason": reason},
    )
    return _text(status, "rejected")


def _reject_body(request: APIGatewayProxyEvent, rejection: BodyRejection) -> Response[str]:
    """A body refused before the route: answered like any refused callback (no ack word, so it is re-sent)."""
    provider = request.path.split("/")[2] if request.path.count("/") >= 2 else "-"
    app_id = (request.path_parameters or {}).get("app_id", "-")
    return _reject(
        provider if provider in ("beecloud", "beilypay") else "-",
        app_id if is_valid_app_id(app_id) else "-",
        f"{rejection.code}: {rejection.message}",
        rejection.status,
    )


@app.post("/callbacks/beecloud/<app_id>", summary="BeeCloud webhook receiver", include_in_schema=False)
def beecloud_webhook(app_id: Annotated[str, Path()]) -> Response[str]:
    if not is_valid_app_id(app_id):
        return _reject("beecloud", "-", "malformed app id")
    merchant = app_cache().get(app_id)
    settings = get_settings()
    creds = None
    if merchant is not None:
        secrets = load_app_secrets(settings.app_secrets_prefix, app_id, max_age_s=settings.secrets_max_age_s)
        creds = beecloud_credentials(merchant, secrets)
    if merchant is None or creds is None:
        return _reject("beecloud", app_id, "unknown app")
    try:
        payload: Any = json.loads(app.current_event.body or "")
    except ValueError:
        return _reject("beecloud", app_id, "body is not JSON")
    if not isinstance(payload, dict):
        return _reject("beecloud", app_id, "body is not a JSON object")
    publisher = event_publisher()
    refunds = RefundService(orders_store(), beecloud_client(), publisher, history=order_history())
    handler = BeeCloudCallbacks(orders_store(), refunds, publisher, beecloud=beecloud_client(), history=order_history())
    try:
        with order_history().collected():  # the notification, the change and the event: one write
            result = handler.handle(merchant, creds, payload)
    except CallbackRejectedError as rejected:
        return _reject("beecloud", app_id, rejected.reason)
    metrics.add_metric(name=f"Callback{result.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("callback handled", extra={"provider": "beecloud", "outcome": result.outcome})
    return _text(200, BEECLOUD_ACK)


@app.post("/callbacks/beilypay/<app_id>", summary="BeilyPay notify receiver", include_in_schema=False)
def beilypay_notify(app_id: Annotated[str, Path()]) -> Response[str]:
    if not is_valid_app_id(app_id):
        return _reject("beilypay", "-", "malformed app id")
    merchant = app_cache().get(app_id)
    settings = get_settings()
    creds = None
    if merchant is not None:
        secrets = load_app_secrets(settings.app_secrets_prefix, app_id, max_age_s=settings.secrets_max_age_s)
        creds = beilypay_credentials(merchant, secrets)
    if merchant is None or creds is None:
        return _reject("beilypay", app_id, "unknown app")
    try:
        # Decimals stay exact, so every value is verified exactly as BeilyPay signed it.
        payload = parse_callback_body(app.current_event.body or "")
    except WebhookVerificationError as error:
        return _reject("beilypay", app_id, str(error))
    try:
        callbacks = BeilyPayCallbacks(
            transfers_store(), transfer_ledger(), poller_starter().stop, history=order_history()
        )
        with order_history().collected():  # the notification, the change and the event: one write
            result = callbacks.handle(merchant, creds, payload)
    except CallbackRejectedError as rejected:
        return _reject("beilypay", app_id, rejected.reason)
    metrics.add_metric(name=f"Callback{result.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("callback handled", extra={"provider": "beilypay", "outcome": result.outcome})
    return _text(200, BEILYPAY_ACK)


@traced
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context, authenticated=False, reject_body=_reject_body)
