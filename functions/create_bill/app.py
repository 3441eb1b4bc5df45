"""POST /bills: validate, record the bill, get the channel's payment parameters from BeeCloud."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.http import build_resolver, current_app, error_responses, handle, json_response
from paygate.api.idempotency import run_idempotent
from paygate.api.models import BillView, CreateBillRequest
from paygate.api.views import bill_view
from paygate.app_secrets import beecloud_credentials, load_app_secrets
from paygate.bills import BillService
from paygate.deps import beecloud_client, orders_store
from paygate.errors import ConflictError
from paygate.settings import get_settings

logger = Logger()
app = build_resolver()


@app.post(
    "/bills",
    summary="Create a bill",
    description="Records the bill, then asks BeeCloud for the channel's payment parameters. "
    "Repeating the same bill_no with the same body returns the same bill (200); another body is a 409.",
    responses={
        201: {"description": "Created", "content": {"application/json": {"model": BillView}}},
        200: {"description": "Identical repeat", "content": {"application/json": {"model": BillView}}},
        **error_responses(400, 409, 413, 415, 429, 502, 504),
    },
    tags=["bills"],
)
def create_bill(
    request: Annotated[CreateBillRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response[str]:
    caller = current_app(app)
    settings = get_settings()

    def compute() -> dict[str, Any]:
        creds = beecloud_credentials(
            caller,
            load_app_secrets(settings.app_secrets_prefix, caller.app_id, max_age_s=settings.secrets_max_age_s),
        )
        if creds is None:
            raise ConflictError("this app has no BeeCloud account configured", code="provider_not_configured")
        service = BillService(orders_store(), beecloud_client(), lease_ms=settings.provider_lease_ms)
        outcome = service.create(caller, creds, request)
        logger.info("bill created" if outcome.created else "bill repeated", extra={"bill_no": request.bill_no})
        return {
            "status": 201 if outcome.created else 200,
            "body": bill_view(outcome.bill).model_dump(mode="json"),
        }

    if idempotency_key is not None:
        result = run_idempotent(
            operation="create_bill",
            app_id=caller.app_id,
            key=idempotency_key,
            body=request.model_dump(mode="json"),
            compute=compute,
            lambda_context=app.lambda_context,
        )
    else:
        result = compute()
    return json_response(result["status"], result["body"])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
