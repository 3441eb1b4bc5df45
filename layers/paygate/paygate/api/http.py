"""One resolver recipe for every API function: validation on, one error shape, auth, limits."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as AwsConnectionError
from pydantic import BaseModel

from paygate.api.models import ErrorResponse
from paygate.apps.keys import authenticate
from paygate.deps import app_cache
from paygate.errors import PaygateError
from paygate.models import App
from paygate.strict_json import JsonRejectedError, parse_json

logger = Logger(child=True)

MAX_BODY_BYTES = 64 * 1024
APP_CONTEXT_KEY = "paygate_app"


_ERROR_TEXT = {
    400: "Malformed JSON",
    401: "Missing or invalid API key",
    404: "Not found (also for other apps' orders)",
    409: "Conflict with the order's current state or an earlier request",
    413: "Body too large",
    415: "Body is not JSON",
    422: "Validation failed",
    429: (
        "Rate limited: this app is over its own rate limit (code rate_limited; wait Retry-After seconds) "
        "or the provider is limiting it (provider_rate_limited)"
    ),
    500: "Unexpected error (logged)",
    502: "The provider failed or refused",
    503: "A backing service (DynamoDB, EventBridge, Secrets Manager) is unavailable; retry the same request",
    504: "The provider did not answer in time; the order stays pending",
}


# AWS answers that mean "not now" rather than "never": throttling and the service's own failures.
_TRANSIENT_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


def backing_service_unavailable(error: BaseException) -> bool:
    """DynamoDB, EventBridge or Secrets Manager unreachable, throttling or failing: retry later."""
    if isinstance(error, AwsConnectionError | HTTPClientError):
        return True
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in _TRANSIENT_AWS_CODES


def _unavailable(request_id: str | None = None) -> Response[str]:
    # Every write is one conditional item or one transaction, so a failed request left nothing
    # half-written: the same request can simply be sent again.
    return error_response(
        503,
        "service_unavailable",
        "the service is temporarily unavailable; retry the same request",
        request_id=request_id,
    )


def error_responses(*codes: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for the error statuses a route can answer, all in the one error shape."""
    return {
        code: {"description": _ERROR_TEXT[code], "content": {"application/json": {"model": ErrorResponse}}}
        for code in (401, 422, 429, 500, 503, *codes)
    }


def json_answer(model: type[BaseModel], description: str) -> OpenAPIResponse:
    """One OpenAPI response entry: a JSON body of `model`."""
    return {"description": description, "content": {"application/json": {"model": model}}}


def answers(model: type[BaseModel], description: str, *errors: int, status: int = 200) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries for a route: its one success answer, then the error statuses it can give."""
    return {status: json_answer(model, description), **error_responses(*errors)}


def error_response(
    status: int, code: str, message: str, *, details: Any = None, request_id: str | None = None
) -> Response[str]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    if request_id:
        body["request_id"] = request_id
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": body}, ensure_ascii=False, separators=(",", ":")),
    )


def _request_id(resolver: APIGatewayRestResolver) -> str | None:
    try:
        return str(resolver.current_event.request_context.request_id)
    except (AttributeError, KeyError):
        return None


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    """Pydantic's locations and messages, without echoing the input (it may hold personal data)."""
    details = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        details.append({"field": ".".join(loc) or None, "message": str(error.get("msg", "invalid"))})
    return details


def build_resolver() -> APIGatewayRestResolver:
    resolver = APIGatewayRestResolver(enable_validation=True)

    @resolver.exception_handler(PaygateError)
    def _paygate_error(error: PaygateError) -> Response[str]:
        if error.status >= 500:
            logger.warning("request failed", extra={"error_code": error.code})
        return error_response(
            error.status, error.code, error.message, details=error.details, request_id=_request_id(resolver)
        )

    @resolver.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response[str]:
        details = _validation_details(error.errors())
        if any(d["message"].startswith("JSON decode error") or "json_invalid" in d["message"] for d in details):
            return error_response(400, "malformed_json", "the body is not valid JSON", request_id=_request_id(resolver))
        return error_response(
            422,
            "invalid_request",
            "the request does not pass validation",
            details=details,
            request_id=_request_id(resolver),
        )

    @resolver.exception_handler(RequestUnsupportedContentType)
    def _content_type(_: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            415,
            "unsupported_content_type",
            "send the body as application/json",
            request_id=_request_id(resolver),
        )

    @resolver.not_found
    def _not_found(_: Exception) -> Response[str]:
        return error_response(404, "route_not_found", "no such route", request_id=_request_id(resolver))

    @resolver.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        if backing_service_unavailable(error):
            logger.warning("backing service unavailable", extra={"error_type": type(error).__name__})
            return _unavailable(_request_id(resolver))
        logger.exception("unhandled error")
        return error_response(
            500,
            "internal_error",
            "an unexpected error occurred; it has been logged",
            request_id=_request_id(resolver),
        )

    return resolver


@dataclass(frozen=True)
class BodyRejection:
    """Why a body was refused before any route saw it (the status and the error code to answer with)."""

    status: int
    code: str
    message: str

    def response(self) -> Response[str]:
        return error_response(self.status, self.code, self.message)


def handle(
    resolver: APIGatewayRestResolver,
    event: dict[str, Any],
    context: Any,
    *,
    authenticated: bool = True,
    reject_body: Callable[[APIGatewayProxyEvent, BodyRejection], Response[str]] | None = None,
) -> dict[str, Any]:
    """Guards that must run before validation (Powertools validates before any middleware).

    Size, content type and strict JSON first, then the API key: an unauthenticated caller learns
    nothing from validation messages about our schema. `reject_body` answers a refused body in
    another form (the provider callbacks answer in their providers' terms).
    """
    request = APIGatewayProxyEvent(event)
    body_rejection = check_body(request)
    rejection = None
    if body_rejection is not None:
        rejection = reject_body(request, body_rejection) if reject_body else body_rejection.response()
    elif authenticated:
        try:
            caller = authenticate(request.headers.get("Authorization"), app_cache())
        except PaygateError as error:
            rejection = error_response(error.status, error.code, error.message)
        except Exception as error:
            if not backing_service_unavailable(error):
                raise
            logger.warning("backing service unavailable", extra={"error_type": type(error).__name__})
            rejection = _unavailable()
        else:
            resolver.append_context(**{APP_CONTEXT_KEY: caller})
    if rejection is not None:
        return _proxy_result(rejection, request.request_context.request_id)
    return resolver.resolve(event, context)


def _proxy_result(response: Response[str], request_id: str | None) -> dict[str, Any]:
    """A response built outside the resolver, as the proxy result; JSON errors get the request id."""
    body = str(response.body)
    content_type = content_types.APPLICATION_JSON
    if response.headers.get("Content-Type") not in (None, content_types.APPLICATION_JSON):
        content_type = str(response.headers["Content-Type"])
    elif body.startswith('{"error"'):
        error = json.loads(body)
        error["error"]["request_id"] = request_id
        body = json.dumps(error, ensure_ascii=False, separators=(",", ":"))
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": content_type},
        "body": body,
        "isBase64Encoded": False,
    }


def _raw_body(request: APIGatewayProxyEvent) -> bytes | None:
    """The body's bytes as the client sent them (API Gateway base64-encodes what is not UTF-8)."""
    body = request.body
    if body is None:
        return None
    if request.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return b"\xff"  # not even base64: treated as the undecodable body it stands for
    return body.encode("utf-8", errors="surrogatepass")


def check_body(request: APIGatewayProxyEvent) -> BodyRejection | None:
    """Size, content type, UTF-8 and strict JSON (strict_json.parse_json), before any route parses it."""
    raw = _raw_body(request)
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        return BodyRejection(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body_too_large", f"the body must be at most {MAX_BODY_BYTES} bytes"
        )
    if request.http_method.upper() not in ("POST", "PUT", "PATCH") or not raw:
        return None
    content_type = str(request.headers.get("Content-Type") or "")
    if not content_type.split(";")[0].strip().lower().endswith("json"):
        return BodyRejection(415, "unsupported_content_type", "send the body as application/json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # JSON is UTF-8 (RFC 8259); Powertools would fail decoding it with a 500.
        return BodyRejection(400, "malformed_json", "the body is not valid UTF-8 JSON")
    try:
        parse_json(text)
    except JsonRejectedError as error:
        if error.malformed:
            return BodyRejection(400, "malformed_json", error.message)
        return BodyRejection(422, "invalid_request", error.message)
    return None


def _header(resolver: APIGatewayRestResolver, name: str) -> str | None:
    """Powertools' headers mapping is case-insensitive, as HTTP headers are."""
    value = resolver.current_event.headers.get(name)
    return str(value) if value is not None else None


def current_app(resolver: APIGatewayRestResolver) -> App:
    caller = resolver.context.get(APP_CONTEXT_KEY)
    assert isinstance(caller, App), "route is not behind handle(authenticated=True)"
    return caller


def public_base_url(resolver: APIGatewayRestResolver, configured: str | None) -> str:
    """Where providers can reach us: the configured domain, else what API Gateway was called on.

    On the execute-api domain requestContext.path carries the stage prefix ('/prod/bills'),
    on a custom domain it does not; the prefix is whatever precedes the resource path.
    """
    if configured:
        return configured.rstrip("/")
    event = resolver.current_event
    proto = _header(resolver, "X-Forwarded-Proto") or "https"
    host = _header(resolver, "Host") or event.request_context.domain_name or "localhost"
    full_path = str(event.request_context.path or event.path)
    prefix = full_path[: len(full_path) - len(event.path)] if full_path.endswith(event.path) else ""
    return f"{proto}://{host}{prefix}"


def json_response(status: int, model: Any) -> Response[str]:
    payload = model.model_dump(mode="json") if hasattr(model, "model_dump") else model
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
    )
