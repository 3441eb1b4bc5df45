"""API Gateway (REST API, Lambda proxy integration) in front of the function workers.

Turns each HTTP request into the REST (v1) proxy event API Gateway sends, and the proxy result
back into HTTP, with API Gateway's own answers where the handler never runs: 403 for unknown
routes and methods, 413 above 10 MB, 502 for errors and malformed results, 504 after 29 s.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.serving import BaseWSGIServer, make_server

from paygate_local.api_auth import Gatekeeper, Refused, RouteAuth, authorizer_context, method_arn
from paygate_local.requestlog import PathOnlyRequestHandler
from paygate_local.template import ACCOUNT_ID, REGION, ApiRoute
from paygate_local.workers import FunctionPool

log = logging.getLogger(__name__)

MAX_PAYLOAD = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_S = 29.0
_RESULT_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
_RAW_HEADERS = "paygate_local.raw_headers"

StartResponse = Callable[..., Any]
# A runner-owned route (e.g. /_local/events): query args -> (status, content type, body).
LocalRoute = Callable[[dict[str, list[str]]], tuple[int, str, bytes]]


@dataclass(frozen=True)
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _json_error(status: int, message: str, error_type: str | None = None) -> Response:
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return Response(status, headers, json.dumps({"message": message}).encode())


class _Route:
    def __init__(self, route: ApiRoute, pool: FunctionPool) -> None:
        self.route = route
        self.pool = pool
        self.segments = [s for s in route.path.strip("/").split("/") if s]

    def match(self, parts: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
        """(specificity, path parameters) if `parts` fit this resource; literals beat {x} beat {x+}."""
        params: dict[str, str] = {}
        score: list[int] = []
        for i, seg in enumerate(self.segments):
            if seg.startswith("{") and seg.endswith("+}"):
                if i >= len(parts) or i != len(self.segments) - 1:
                    return None
                params[seg[1:-2]] = "/".join(parts[i:])
                return (*score, 2), params
            if i >= len(parts):
                return None
            if seg.startswith("{") and seg.endswith("}"):
                params[seg[1:-1]] = parts[i]
                score.append(1)
            elif seg == parts[i]:
                score.append(0)
            else:
                return None
        if len(parts) != len(self.segments):
            return None
        return tuple(score), params


class _Handler(PathOnlyRequestHandler):
    """Keeps the client's header names as sent (WSGI upper-cases them; API Gateway does not)."""

    request_logger = log

    def make_environ(self) -> Any:
        environ = super().make_environ()
        environ[_RAW_HEADERS] = list(self.headers.items())
        return environ


class ApiGateway:
    """A threaded HTTP server on 127.0.0.1 emulating one REST API stage."""

    def __init__(
        self,
        routes: list[tuple[ApiRoute, FunctionPool]],
        *,
        port: int = 0,
        stage: str = "local",
        api_id: str = "local00000",
        binary_media_types: Iterable[str] = (),
        integration_timeout: float = INTEGRATION_TIMEOUT_S,
        gatekeeper: Gatekeeper | None = None,
        route_auth: Callable[[ApiRoute], RouteAuth] | None = None,
    ) -> None:
        self.routes = [_Route(route, pool) for route, pool in routes]
        self.gatekeeper = gatekeeper
        self.route_auth = route_auth
        self.stage = stage
        self.api_id = api_id
        self.binary_media_types = list(binary_media_types)
        self.integration_timeout = integration_timeout
        self.local_routes: dict[str, LocalRoute] = {}  # GET /_local/...
        self.local_post_routes: dict[str, LocalRoute] = {}  # POST /_local/... (no body)
        self._server: BaseWSGIServer = make_server("127.0.0.1", port, self, threaded=True, request_handler=_Handler)
        self.port: int = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="apigateway", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        try:
            response = self._handle(environ, request_id)
        except Exception:
            log.exception("local API Gateway failed on %s", environ.get("PATH_INFO"))
            response = _json_error(500, "Internal server error")
        headers = [
            *response.headers,
            ("Content-Length", str(len(response.body))),
            ("x-amzn-RequestId", request_id),
            ("x-amz-apigw-id", request_id[:16]),
        ]
        start_response(f"{response.status} {_reason(response.status)}", headers)
        return [response.body]

    def _handle(self, environ: dict[str, Any], request_id: str) -> Response:
        # API Gateway decodes the path once before matching (so %2F still splits segments); WSGI
        # hands it over decoded as latin-1.
        raw_path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace") or "/"
        method = environ["REQUEST_METHOD"].upper()
        local = self.local_post_routes if method == "POST" else self.local_routes if method == "GET" else {}
        if raw_path.startswith("/_local/") and raw_path in local:
            query = _multi(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
            status, content_type, body = local[raw_path](query)
            return Response(status, [("Content-Type", content_type)], body)
        found = self._route(raw_path, method)
        if found is None:
            return _json_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
        route, params = found
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_PAYLOAD:
            return _json_error(413, f"HTTP content length exceeded {MAX_PAYLOAD} bytes.")
        if length:
            body = environ["wsgi.input"].read(length)
        elif environ.get("wsgi.input_terminated"):  # chunked: no Content-Length
            body = environ["wsgi.input"].read(MAX_PAYLOAD + 1)
            if len(body) > MAX_PAYLOAD:
                return _json_error(413, f"HTTP content length exceeded {MAX_PAYLOAD} bytes.")
        else:
            body = b""
        event = self._event(environ, route, params, raw_path, body, request_id)
        if self.gatekeeper is not None and self.route_auth is not None:
            arn = method_arn(REGION, ACCOUNT_ID, self.api_id, self.stage, method, raw_path)
            try:
                allowed = self.gatekeeper.check(self.route_auth(route.route), event, arn)
            except Refused as refused:
                answer = self.gatekeeper.responses.answer(refused.response_type, request_id)
                return Response(answer.status, answer.headers, answer.body)
            context = authorizer_context(allowed)
            if context is not None:
                event["requestContext"]["authorizer"] = context
        future = route.pool.submit(event)
        try:
            result = future.result(timeout=self.integration_timeout)
        except FutureTimeout:
            return _json_error(504, "Endpoint request timed out")
        if result.function_error:
            log.warning("%s failed: %s", route.pool.spec.name, result.payload[:500])
            return _json_error(502, "Internal server error")
        return self._proxy_response(result.json(), route)

    def _route(self, raw_path: str, method: str) -> tuple[_Route, dict[str, str]] | None:
        parts = [p for p in raw_path.strip("/").split("/") if p]
        best: tuple[tuple[int, ...], _Route, dict[str, str]] | None = None
        for route in self.routes:
            if route.route.method not in (method, "ANY"):
                continue
            matched = route.match(parts)
            if matched and (best is None or matched[0] < best[0]):
                best = (matched[0], route, matched[1])
        return (best[1], best[2]) if best else None

    def _is_binary(self, content_type: str) -> bool:
        return any(fnmatch.fnmatch(content_type.split(";")[0].strip(), t) for t in self.binary_media_types)

    def _event(
        self,
        environ: dict[str, Any],
        route: _Route,
        params: dict[str, str],
        raw_path: str,
        body: bytes,
        request_id: str,
    ) -> dict[str, Any]:
        headers_list: list[tuple[str, str]] = list(environ.get(_RAW_HEADERS, []))
        source_ip = environ.get("REMOTE_ADDR", "127.0.0.1")
        host = next((v for k, v in headers_list if k.lower() == "host"), f"127.0.0.1:{self.port}")
        trace_id = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        headers_list += [
            ("X-Amzn-Trace-Id", trace_id),
            ("X-Forwarded-For", source_ip),
            ("X-Forwarded-Port", str(self.port)),
            ("X-Forwarded-Proto", "http"),
        ]
        multi_headers = _multi(headers_list)
        query = _multi(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        content_type = next((v for k, v in headers_list if k.lower() == "content-type"), "")
        is_b64 = False
        text: str | None = None
        if body:
            try:
                if self._is_binary(content_type):
                    raise UnicodeDecodeError("utf-8", body, 0, 1, "binary media type")
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text, is_b64 = base64.b64encode(body).decode(), True
        now = time.time()
        method = environ["REQUEST_METHOD"].upper()
        user_agent = next((v for k, v in headers_list if k.lower() == "user-agent"), None)
        return {
            "resource": route.route.path,
            "path": raw_path,
            "httpMethod": method,
            "headers": {k: v[-1] for k, v in multi_headers.items()},
            "multiValueHeaders": multi_headers,
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": hashlib.sha1(route.route.path.encode(), usedforsecurity=False).hexdigest()[:6],
                "resourcePath": route.route.path,
                "httpMethod": method,
                "extendedRequestId": request_id[:16],
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "path": raw_path,  # a custom domain's view: no stage prefix
                "accountId": ACCOUNT_ID,
                "protocol": environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "stage": self.stage,
                "domainPrefix": host.split(".")[0].split(":")[0],
                "requestTimeEpoch": int(now * 1000),
                "requestId": request_id,
                "identity": _identity(source_ip, user_agent),
                "domainName": host,
                "apiId": self.api_id,
            },
            "body": text,
            "isBase64Encoded": is_b64,
        }

    def _proxy_response(self, result: Any, route: _Route) -> Response:
        problem = _malformed(result)
        if problem:
            log.warning("%s returned a malformed proxy result (%s)", route.pool.spec.name, problem)
            return _json_error(502, "Internal server error")
        headers: dict[str, list[str]] = {}
        for key, value in (result.get("headers") or {}).items():
            headers[key] = [str(value)]
        for key, values in (result.get("multiValueHeaders") or {}).items():
            headers[key] = [str(v) for v in values]  # multiValueHeaders win on the same key
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = ["application/json"]
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        flat = [(k, v) for k, values in headers.items() for v in values if k.lower() != "content-length"]
        return Response(int(result["statusCode"]), flat, data)


def _malformed(result: Any) -> str | None:
    """Why API Gateway would answer 502 "Malformed Lambda proxy response", or None."""
    if not isinstance(result, dict):
        return "not a JSON object"
    extra = set(result) - _RESULT_KEYS
    if extra:
        return f"unexpected keys {sorted(extra)}"
    try:
        status = int(result.get("statusCode"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "statusCode missing or not an integer"
    if not 100 <= status <= 599:
        return "statusCode out of range"
    if result.get("body") is not None and not isinstance(result["body"], str):
        return "body is not a string"
    if not isinstance(result.get("headers") or {}, dict):
        return "headers is not an object"
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(multi, dict) or any(not isinstance(v, list) for v in multi.values()):
        return "multiValueHeaders is not an object of lists"
    return None


def _multi(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _identity(source_ip: str, user_agent: str | None) -> dict[str, Any]:
    keys = [
        "cognitoIdentityPoolId",
        "accountId",
        "cognitoIdentityId",
        "caller",
        "accessKey",
        "cognitoAuthenticationType",
        "cognitoAuthenticationProvider",
        "userArn",
        "user",
    ]
    identity: dict[str, Any] = dict.fromkeys(keys)
    identity.update(sourceIp=source_ip, userAgent=user_agent)
    return identity


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
