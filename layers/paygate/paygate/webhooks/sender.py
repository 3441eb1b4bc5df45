"""One signed POST to one endpoint, bounded in time, never following redirects.

The host is resolved once and the connection goes to an address that was checked: the request's
URL carries that IP address, while the `Host` header and TLS (SNI and certificate verification)
keep the host name. Letting the HTTP client resolve the name again would let DNS answer a public
address to the check and 127.0.0.1 to the connection (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from functools import cache

import httpx

from paygate.webhooks.models import SendResult as SendResult  # re-exported
from paygate.webhooks.urls import UnsafeUrlError, host_address, is_public_address

USER_AGENT = "paygate-webhooks/1"


class _DestinationError(Exception):
    """No address may be connected to; the argument is the attempt's error (`dns_error`, ...)."""


@cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()


async def _resolve(host: str, port: int) -> list[str]:
    """Every address the host has, in the resolver's order of preference, each once."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _checked_addresses(url: httpx.URL, *, allow_insecure: bool) -> list[str]:
    """The addresses a delivery may connect to (at least one), else _DestinationError.

    Every address is checked, not only the one used: a name with one private address is refused.
    """
    host = url.raw_host.decode("ascii")  # IDNA-encoded, exactly what the client would resolve
    try:
        literal = host_address(host)
    except UnsafeUrlError as error:
        raise _DestinationError("blocked_destination") from error
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = await _resolve(host, url.port or (443 if url.scheme == "https" else 80))
        except OSError as error:
            raise _DestinationError("dns_error") from error
        if not addresses:
            raise _DestinationError("dns_error")
    if not allow_insecure and not all(is_public_address(a) for a in addresses):
        raise _DestinationError("blocked_destination")
    return addresses


async def _post_pinned(
    client: httpx.AsyncClient, url: httpx.URL, addresses: list[str], body: bytes, headers: dict[str, str]
) -> int:
    """POST to the first checked address that accepts the connection; return the status."""
    host_header = url.netloc.decode("ascii")
    extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}

    async def attempt(address: str) -> int:
        async with client.stream(
            "POST",
            url.copy_with(host=address),
            content=body,
            headers={"User-Agent": USER_AGENT, **headers, "Host": host_header},
            extensions=extensions,
        ) as response:
            return response.status_code  # the body is never read: only the status matters

    for address in addresses[:-1]:
        try:
            return await attempt(address)
        except httpx.ConnectError:
            continue  # nothing was sent yet: the next checked address may answer
    return await attempt(addresses[-1])


async def post(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, allow_insecure: bool) -> SendResult:
    """POST and classify: 2xx, http_<status>, timeout, connect_error, dns_error, blocked_destination, ...

    `allow_insecure` (local development) skips the public-address check, never the pinning.
    """
    started = time.monotonic()

    def result(status: int | None, error: str | None) -> SendResult:
        return SendResult(status, int((time.monotonic() - started) * 1000), error)

    try:
        target = httpx.URL(url)
        async with asyncio.timeout(timeout_s):  # a whole-attempt bound: DNS, connect, slow drips
            addresses = await _checked_addresses(target, allow_insecure=allow_insecure)
            async with httpx.AsyncClient(
                timeout=httpx.Timeout(timeout_s, connect=min(3.0, timeout_s)),
                follow_redirects=False,
                verify=_tls(),
                trust_env=False,
            ) as client:
                status = await _post_pinned(client, target, addresses, body, headers)
    except _DestinationError as error:
        return result(None, str(error))
    except (TimeoutError, httpx.TimeoutException):
        return result(None, "timeout")
    except httpx.ConnectError:
        return result(None, "connect_error")
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        return result(None, f"request_error:{type(error).__name__}")
    return result(status, None if 200 <= status < 300 else f"http_{status}")
