"""One resolver recipe for every API function: validation on, one error shape, auth, limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from paygate.auth import authenticate
from paygate.deps import apps_store
from paygate.errors import PaygateError
from paygate.models import App

logger = Logger(child=True)

MAX_BODY_BYTES = 64 * 1024
APP_CONTEXT_KEY = "paygate_app"


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


def build_resolver(*, authenticated: bool = True) -> APIGatewayRestResolver:
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
        if any(
            d["message"].startswith("JSON decode error") or "json_invalid" in d["message"] for d in details
        ):
            return error_response(
                400, "malformed_json", "the body is not valid JSON", request_id=_request_id(resolver)
            )
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
        logger.exception("unhandled error")
        return error_response(
            500,
            "internal_error",
            "an unexpected error occurred; it has been logged",
            request_id=_request_id(resolver),
        )

    resolver.use(middlewares=[_limit_body_size, *([_authenticate] if authenticated else [])])
    return resolver


def _limit_body_size(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    body = app.current_event.body
    if body is not None and len(body.encode() if isinstance(body, str) else body) > MAX_BODY_BYTES:
        return error_response(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "body_too_large",
            f"the body must be at most {MAX_BODY_BYTES} bytes",
        )
    method = app.current_event.http_method.upper()
    if method in ("POST", "PUT", "PATCH") and body:
        content_type = _header(app, "Content-Type") or ""
        if not content_type.split(";")[0].strip().lower().endswith("json"):
            return error_response(415, "unsupported_content_type", "send the body as application/json")
    return next_middleware(app)


def _header(app: APIGatewayRestResolver, name: str) -> str | None:
    """Powertools' headers mapping is case-insensitive, as HTTP headers are."""
    value = app.current_event.headers.get(name)
    return str(value) if value is not None else None


def _authenticate(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    try:
        caller = authenticate(_header(app, "Authorization"), apps_store())
    except PaygateError as error:
        return error_response(error.status, error.code, error.message, request_id=_request_id(app))
    app.append_context(**{APP_CONTEXT_KEY: caller})
    return next_middleware(app)


def current_app(resolver: APIGatewayRestResolver) -> App:
    caller = resolver.context.get(APP_CONTEXT_KEY)
    assert isinstance(caller, App), "route is not behind the auth middleware"
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


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
