"""Webhook endpoints of the caller's app, their delivery log, and resending an event.

POST/GET /webhook-endpoints, GET/DELETE /webhook-endpoints/{endpoint_id},
POST /webhook-endpoints/{endpoint_id}/rotate-secret, GET /webhook-endpoints/{endpoint_id}/deliveries,
POST /events/{event_id}/resend.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.http import answers, build_resolver, current_app, handle, json_response
from paygate.api.webhook_models import (
    CreatedWebhookEndpointView,
    DeletedWebhookEndpointView,
    DeliveryList,
    ResendView,
    WebhookEndpointList,
    WebhookEndpointView,
    created_endpoint_view,
    delivery_view,
    endpoint_view,
)
from paygate.deps import endpoint_service, webhooks_store
from paygate.tracing import traced
from paygate.webhooks.requests import (
    CreateWebhookEndpointRequest,
    EndpointIdPattern,
    EventIdPattern,
    RotateSecretRequest,
)

logger = Logger()
metrics = Metrics()
app = build_resolver()

EndpointId = Annotated[str, Path(pattern=EndpointIdPattern, description="we_...")]
_TAGS = ["webhooks"]


@app.post(
    "/webhook-endpoints",
    summary="Register a webhook endpoint",
    description="Events of the listed types are POSTed to the URL, signed with `Paygate-Signature` "
    "(docs/webhooks.md). The response carries the signing secret, shown only this once.",
    responses=answers(CreatedWebhookEndpointView, "Created", 400, 409, 413, 415, status=201),
    tags=_TAGS,
)
def create_endpoint(request: Annotated[CreateWebhookEndpointRequest, Body()]) -> Response[str]:
    caller = current_app(app)
    endpoint, secret = endpoint_service().create(caller.app_id, request)
    metrics.add_metric(name="WebhookEndpointsCreated", unit=MetricUnit.Count, value=1)
    logger.info("webhook endpoint created", extra={"endpoint_id": endpoint.endpoint_id})
    return json_response(201, created_endpoint_view(endpoint, secret))


@app.get(
    "/webhook-endpoints",
    summary="List the app's webhook endpoints, oldest first",
    responses=answers(WebhookEndpointList, "All of them"),
    tags=_TAGS,
)
def list_endpoints() -> Response[str]:
    endpoints = webhooks_store().list_endpoints(current_app(app).app_id)
    return json_response(200, WebhookEndpointList(data=[endpoint_view(e) for e in endpoints]))


@app.get(
    "/webhook-endpoints/<endpoint_id>",
    summary="Get a webhook endpoint (without its secret)",
    responses=answers(WebhookEndpointView, "The endpoint", 404),
    tags=_TAGS,
)
def get_endpoint(endpoint_id: EndpointId) -> Response[str]:
    return json_response(200, endpoint_view(endpoint_service().get(current_app(app).app_id, endpoint_id)))


@app.delete(
    "/webhook-endpoints/<endpoint_id>",
    summary="Delete a webhook endpoint",
    description="Deliveries still queued for it are dropped; its signing secret is deleted.",
    responses=answers(DeletedWebhookEndpointView, "Deleted", 404),
    tags=_TAGS,
)
def delete_endpoint(endpoint_id: EndpointId) -> Response[str]:
    endpoint_service().delete(current_app(app).app_id, endpoint_id)
    logger.info("webhook endpoint deleted", extra={"endpoint_id": endpoint_id})
    return json_response(200, DeletedWebhookEndpointView(id=endpoint_id))


@app.post(
    "/webhook-endpoints/<endpoint_id>/rotate-secret",
    summary="Replace the endpoint's signing secret",
    description="The new secret (shown only in this response) signs every delivery from now on; the previous one "
    "keeps signing too (a second `v1`) for `expire_previous_after_s`, so receivers can switch without losing "
    "a delivery. The dispatcher picks the change up within 5 minutes.",
    responses=answers(CreatedWebhookEndpointView, "Rotated", 400, 404, 409, 413, 415),
    tags=_TAGS,
)
def rotate_secret(endpoint_id: EndpointId, request: Annotated[RotateSecretRequest, Body()]) -> Response[str]:
    endpoint, secret = endpoint_service().rotate_secret(
        current_app(app).app_id, endpoint_id, expire_previous_after_s=request.expire_previous_after_s
    )
    metrics.add_metric(name="WebhookSecretsRotated", unit=MetricUnit.Count, value=1)
    return json_response(200, created_endpoint_view(endpoint, secret))


@app.get(
    "/webhook-endpoints/<endpoint_id>/deliveries",
    summary="The endpoint's delivery attempts, newest first",
    responses=answers(DeliveryList, "A page", 404),
    tags=_TAGS,
)
def list_deliveries(
    endpoint_id: EndpointId,
    limit: Annotated[int, Query(ge=1, le=50, description="Page size, at most 50")] = 20,
    cursor: Annotated[str | None, Query(max_length=1024, description="next_cursor of the previous page")] = None,
) -> Response[str]:
    page = endpoint_service().deliveries(current_app(app).app_id, endpoint_id, limit=limit, cursor=cursor)
    return json_response(200, DeliveryList(data=[delivery_view(a) for a in page.attempts], next_cursor=page.cursor))


@app.post(
    "/events/<event_id>/resend",
    summary="Deliver a stored event again",
    description="Queues a new delivery (attempt 1, full retry schedule) of the event to every endpoint of the "
    "app that subscribes to its type, or to `endpoint_id` only. Events are kept 30 days.",
    responses=answers(ResendView, "Queued", 404, 409, status=202),
    tags=_TAGS,
)
def resend_event(
    event_id: Annotated[str, Path(pattern=EventIdPattern, description="The event's event_id")],
    endpoint_id: Annotated[str | None, Query(pattern=EndpointIdPattern, description="Only this endpoint")] = None,
) -> Response[str]:
    queued = endpoint_service().resend(current_app(app).app_id, event_id, endpoint_id)
    metrics.add_metric(name="WebhookEventsResent", unit=MetricUnit.Count, value=1)
    return json_response(202, ResendView(event_id=event_id, endpoint_ids=queued))


@traced
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
