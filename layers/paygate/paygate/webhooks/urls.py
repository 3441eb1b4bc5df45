"""Endpoint URLs: what may be registered, and where a delivery may connect (no SSRF)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048


class UnsafeUrlError(ValueError):
    """The URL may not receive webhooks; the message says why (shown to the merchant)."""


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_endpoint_url(url: str, *, allow_insecure: bool) -> str:
    """Return the URL if it may be registered: https (http only when allowed), a public host.

    Hostnames are resolved again at every delivery (`is_public_address`), since DNS can change.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError(f"the URL must be at most {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeUrlError("the URL must not contain whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrlError("the URL is malformed") from error
    allowed = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeUrlError("the URL must use https" if not allow_insecure else "the URL must use http or https")
    host = parts.hostname or ""
    if not host:
        raise UnsafeUrlError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("the URL must not carry credentials")
    if parts.fragment:
        raise UnsafeUrlError("the URL must not have a fragment")
    if port == 0:
        raise UnsafeUrlError("the URL's port is invalid")
    if not allow_insecure:
        address = _literal_ip(host)
        if (address is not None and not address.is_global) or host == "localhost" or host.endswith(".localhost"):
            raise UnsafeUrlError("the URL must point to a public host")
    return url


def is_public_address(address: str) -> bool:
    """Loopback, private, link-local (169.254.169.254), multicast and reserved ranges are refused."""
    ip = _literal_ip(address.split("%", 1)[0])
    return ip is not None and ip.is_global
