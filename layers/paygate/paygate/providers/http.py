"""The HTTP plumbing shared by the provider clients: one client per container, failures classified.

The classification is what makes retries safe: a failure before the request was sent is
`ProviderUnavailableError` (retry anything), everything after it leaves the outcome unknown.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from aws_lambda_powertools import Logger

from paygate.errors import (
    ProviderName,
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from paygate.providers._wire import JsonNumber

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)


USER_AGENT = "paygate/0.1 (+https://github.com/paygate)"


def make_http_client(*, connect_timeout_s: float = 2.0, read_timeout_s: float = 8.0) -> httpx.Client:
    """One client per container: keep-alive reuse, transport retries only for failed connects.

    httpcore's `retries` re-attempts only ConnectError/ConnectTimeout, i.e. before a byte of
    the request was written, so it is safe for non-idempotent calls too.
    """
    transport = httpx.HTTPTransport(
        retries=2,
        # Idle connections are dropped before common server keep-alive timeouts (uvicorn: 5 s),
        # so a create is not sent on a socket the server is closing (that outcome is unknown).
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=4.0),
    )
    timeout = httpx.Timeout(
        connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=connect_timeout_s
    )
    return httpx.Client(
        transport=transport,
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    )


class TransientProtocolError(ProviderProtocolError):
    """A protocol failure worth retrying for an idempotent call (HTTP 5xx, a dropped connection)."""


def encode_json(body: dict[str, Any]) -> bytes:
    """A request body as sent: compact UTF-8 JSON, numbers as JSON numbers, never NaN.

    Raises ValueError (or TypeError) for what cannot be sent; call it while building the
    request, so such a failure is known to have sent nothing.
    """
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def send(
    http: httpx.Client,
    provider: ProviderName,
    method: str,
    url: str,
    *,
    json_body: dict[str, Any] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """Send one request and turn transport failures into provider errors (no retry here).

    `content` is a body already encoded with `encode_json`; `json_body` is encoded here.
    """
    headers = None
    if json_body is not None:
        content = encode_json(json_body)
    if content is not None:
        headers = {"Content-Type": "application/json"}
    path = httpx.URL(url).path
    started = time.monotonic()
    try:
        response = http.request(method, url, content=content, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ProviderUnavailableError(provider, f"{method} {path}: could not connect ({type(exc).__name__})") from exc
    except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        raise ProviderTimeoutError(provider, f"{method} {path}: no answer in time ({type(exc).__name__})") from exc
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.CloseError) as exc:
        raise TransientProtocolError(
            provider, f"{method} {path}: connection broke after sending ({type(exc).__name__})"
        ) from exc
    except httpx.TransportError as exc:
        # Unsupported scheme, proxy refusal, a request httpx could not even encode: nothing left.
        raise ProviderUnavailableError(provider, f"{method} {path}: {type(exc).__name__}") from exc
    logger.debug(
        "provider call",
        extra={
            "provider": provider,
            "path": path,
            "status": response.status_code,
            "elapsed_ms": int((time.monotonic() - started) * 1000),
        },
    )
    return response


def _not_json(constant: str) -> Any:
    """NaN and Infinity are not JSON (Python's parser accepts them by default)."""
    raise ValueError(f"{constant} is not JSON")


def json_object(response: httpx.Response, provider: ProviderName) -> dict[str, Any]:
    """The response body as a JSON object (floats kept exact, as written), or ProviderProtocolError."""
    path = response.request.url.path
    if response.status_code >= 500:
        raise TransientProtocolError(provider, f"{path}: HTTP {response.status_code}")
    try:
        body = json.loads(response.content, parse_float=JsonNumber, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProviderProtocolError(
            provider, f"{path}: HTTP {response.status_code} with a body that is not JSON"
        ) from exc
    if not isinstance(body, dict):
        raise ProviderProtocolError(provider, f"{path}: HTTP {response.status_code}, JSON is not an object")
    return body


def with_retries[T](
    call: Callable[[], T],
    *,
    retries: int,
    backoff_s: float,
    sleep: Callable[[float], None],
) -> T:
    """Run an idempotent call, retrying transient failures `retries` times with doubling backoff."""
    attempt = 0
    while True:
        try:
            return call()
        except (ProviderUnavailableError, ProviderTimeoutError, TransientProtocolError) as exc:
            if attempt >= retries:
                raise
            delay = backoff_s * (2**attempt)
            attempt += 1
            logger.warning("retrying idempotent provider call", extra={"attempt": attempt, "error": str(exc)})
            sleep(delay)
