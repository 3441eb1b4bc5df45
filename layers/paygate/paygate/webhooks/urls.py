"""Endpoint URLs: what may be registered, and where a delivery may connect (no SSRF).

One rule, `is_public_address`, decides both: at registration for an IP literal, at every delivery
for each address the host resolves to (the sender then connects to a checked address only).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# `is_global` (Python 3.13) already refuses loopback, private, link-local, CGNAT 100.64/10,
# unspecified, documentation, benchmarking, 240/4, ::ffff:0:0/96 with a non-global IPv4, 6to4
# 2002::/16, Teredo and the rest of 2001::/23, 64:ff9b:1::/48, fc00::/7 and fe80::/10. It lets
# through what `is_public_address` refuses explicitly: multicast (IPv4 and IPv6), the reserved
# ::/8 (IPv4-compatible ::a.b.c.d and IPv4-translated ::ffff:0:a.b.c.d), site-local fec0::/10,
# and NAT64 64:ff9b::/96, which is judged by the IPv4 address it embeds.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
_IPV4_NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


class UnsafeUrlError(ValueError):
    """The URL may not receive webhooks; the message says why (shown to the merchant)."""


def _ipv4_number(part: str) -> int:
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8)  # ValueError on 8 or 9, like a resolver
    return int(part)


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host spells the way resolvers read it: `2130706433`, `0x7f.1`,
    `0177.0.0.1`, `127.1`, `127.0.0.1.`; None for a name (its last label is not a number)."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not _IPV4_NUMBER.fullmatch(parts[-1]):
        return None
    try:
        if len(parts) > 4 or not all(_IPV4_NUMBER.fullmatch(p) for p in parts):
            raise ValueError(host)
        numbers = [_ipv4_number(p) for p in parts]
        *leading, last = numbers
        if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
            raise ValueError(host)
    except ValueError as error:
        raise UnsafeUrlError("the URL's host is not a valid IP address") from error
    value = sum(n << (8 * (3 - i)) for i, n in enumerate(leading)) + last
    return ipaddress.IPv4Address(value)


def host_address(host: str) -> IPAddress | None:
    """The IP address a URL host spells in any form (IPv6 with or without brackets), else None.

    Raises UnsafeUrlError for a host that ends in a number but is no address (`1.2.3.999`).
    """
    bare = host.strip("[]")
    if ":" in bare:
        try:
            return ipaddress.IPv6Address(bare)
        except ValueError as error:
            raise UnsafeUrlError("the URL's host is not a valid IP address") from error
    return _ipv4_literal(bare) if bare else None


def is_public_address(address: str | IPAddress) -> bool:
    """Whether a delivery may connect there: a globally routable unicast address.

    Refused: loopback, private, link-local (169.254.169.254, fe80::/10), CGNAT, multicast,
    reserved, unspecified, and IPv6 forms that carry such an IPv4 address (mapped, compatible,
    NAT64, 6to4, Teredo). Anything that is not an IP address is refused too.
    """
    ip: IPAddress
    if isinstance(address, str):
        try:
            ip = ipaddress.ip_address(address)  # a zone (fe80::1%eth0) is kept, and refused below
        except ValueError:
            return False
    else:
        ip = address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_public_address(ip.ipv4_mapped)
        if ip in _NAT64:
            return is_public_address(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
        embedded = [ip.sixtofour, *(ip.teredo or ())]
        if ip in _SITE_LOCAL or not all(is_public_address(v4) for v4 in embedded if v4 is not None):
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def _check_host(host: str, *, allow_insecure: bool) -> None:
    """One spelling per destination, and a public one unless local development allows any."""
    if host.endswith("."):
        raise UnsafeUrlError("the URL's host must not end with a dot")
    address = host_address(host)
    local_name = host == "localhost" or host.endswith(".localhost")
    if not allow_insecure and (local_name or (address is not None and not is_public_address(address))):
        raise UnsafeUrlError("the URL must point to a public host")
    if isinstance(address, ipaddress.IPv4Address) and str(address) != host:
        # 2130706433, 0x7f.1, 127.1: resolvers and URL parsers disagree on these spellings.
        raise UnsafeUrlError("an IPv4 host must be written as four decimal numbers (a.b.c.d)")


def check_endpoint_url(url: str, *, allow_insecure: bool) -> str:
    """Return the URL if it may be registered: https (http only when allowed), a public host.

    Hostnames are resolved again at every delivery and each address is checked then, since DNS
    can change; here only what the URL itself spells can be judged.
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
    _check_host(host, allow_insecure=allow_insecure)
    return url
