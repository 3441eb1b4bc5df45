"""One signed POST to one endpoint, bounded in time, never following redirects."""

from __future__ import annotations

import asyncio
import ssl
import time
from functools import cache
from urllib.parse import urlsplit

import httpx

from paygate.webhooks.models import SendResult as SendResult  # re-exported
from paygate.webhooks.urls import is_public_address

USER_AGENT = "paygate-webhooks/1"


@cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()


async def _destination_error(url: str) -> str | None:
    """Resolve the host and refuse non-public addresses (SSRF: the Lambda runtime API, VPC hosts)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port)
    except OSError:
        return "dns_error"
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(is_public_address(a) for a in addresses):
        return "blocked_destination"
    return None


async def post(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, allow_insecure: bool) -> SendResult:
    """POST and classify: 2xx, http_<status>, timeout, connect_error, request_error, ..."""
    started = time.monotonic()

    def result(status: int | None, error: str | None) -> SendResult:
        return SendResult(status, int((time.monotonic() - started) * 1000), error)

    if not allow_insecure and (blocked := await _destination_error(url)):
        return result(None, blocked)
    try:
        async with asyncio.timeout(timeout_s):  # a whole-attempt bound, also against slow drips
            async with (
                httpx.AsyncClient(
                    timeout=httpx.Timeout(timeout_s, connect=min(3.0, timeout_s)),
                    follow_redirects=False,
                    verify=_tls(),
                    trust_env=False,
                ) as client,
                client.stream("POST", url, content=body, headers={"User-Agent": USER_AGENT, **headers}) as response,
            ):
                status = response.status_code  # the body is never read: only the status matters
    except (TimeoutError, httpx.TimeoutException):
        return result(None, "timeout")
    except httpx.ConnectError:
        return result(None, "connect_error")
    except httpx.HTTPError as error:
        return result(None, f"request_error:{type(error).__name__}")
    return result(status, None if 200 <= status < 300 else f"http_{status}")
