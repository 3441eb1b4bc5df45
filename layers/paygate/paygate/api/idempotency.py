"""`Idempotency-Key` support through Powertools idempotency, scoped per app.

The key alone is not unique across tenants, so the idempotency record is keyed by (app, key);
the body is the payload validated on replay: the same key with another body is a 409.

Powertools idempotency is imported on the first request that sends the header: requests
without one (most of them) never load it, and cold starts do not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from pydantic import BaseModel

from paygate.api.http import json_response
from paygate.aws import client
from paygate.errors import ConflictError, ServiceUnavailableError
from paygate.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

MAX_KEY_LENGTH = 255
TTL_SECONDS = 24 * 3600


@cache
def _persistence() -> DynamoDBPersistenceLayer:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table, boto3_client=client("dynamodb"))


@cache
def _config() -> IdempotencyConfig:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[operation, app_id, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )


def run_idempotent(
    *,
    operation: str,
    app_id: str,
    key: str,
    body: dict[str, Any],
    compute: Callable[[], dict[str, Any]],
    lambda_context: Any = None,
) -> dict[str, Any]:
    """Run `compute` once per (operation, app, key); replays return its stored JSON result."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ConflictError(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters", code="invalid_idempotency_key")

    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config = _config()
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)  # in-progress records expire with the invocation

    def _compute(request: dict[str, Any]) -> dict[str, Any]:
        return compute()

    wrapped = idempotent_function(data_keyword_argument="request", persistence_store=_persistence(), config=config)(
        _compute
    )
    try:
        result: dict[str, Any] = wrapped(request={"operation": operation, "app_id": app_id, "key": key, "body": body})
    except IdempotencyValidationError:
        raise ConflictError(
            "this Idempotency-Key was used with a different body", code="idempotency_key_reuse"
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise ConflictError("a request with this Idempotency-Key is in progress", code="request_in_progress") from None
    except IdempotencyPersistenceLayerError as error:  # its table is down or throttling: retry later
        raise ServiceUnavailableError("the service is temporarily unavailable; retry the same request") from error
    return result


def respond(
    resolver: APIGatewayRestResolver,
    *,
    operation: str,
    app_id: str,
    key: str | None,
    body: BaseModel,
    compute: Callable[[], tuple[int, BaseModel]],
) -> Response[str]:
    """Run a create operation, through the Idempotency-Key store when the caller sent one."""

    def run() -> dict[str, Any]:
        status, view = compute()
        # The body as sent, kept as text: the idempotency store re-serialises dicts (sorted keys),
        # and a replay must be the first answer byte for byte.
        return {"status": status, "text": str(json_response(status, view).body)}

    if key is None:
        result = run()
    else:
        result = run_idempotent(
            operation=operation,
            app_id=app_id,
            key=key,
            body=body.model_dump(mode="json"),
            compute=run,
            lambda_context=resolver.lambda_context,
        )
    if "text" not in result:  # a record stored before bodies were kept as text
        return json_response(result["status"], result["body"])
    return Response(status_code=result["status"], content_type=content_types.APPLICATION_JSON, body=result["text"])
