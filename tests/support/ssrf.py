"""Webhook destinations that must be refused, a scripted resolver, and a loopback-only dial guard.

`FakeDns` replaces `socket.getaddrinfo` (what asyncio, anyio and so httpx resolve with): a name
answers its scripted lists in turn (the last one repeats), an unknown name fails, IP literals never
reach DNS. `LoopbackOnly` replaces `anyio.connect_tcp` (what httpx dials with): it records every
address the test's own thread opened a connection to and refuses, before any packet, every one
that is not loopback, whichever thread dials. Together no test can send a byte outside
127.0.0.0/8 or ::1.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

# Addresses that are not globally routable unicast, with what makes each one so.
NON_PUBLIC_ADDRESSES: list[tuple[str, str]] = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.5", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local (instance metadata)"),
    ("169.254.170.2", "link-local (container credentials)"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("0.0.0.0", "unspecified"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("::1", "IPv6 loopback"),
    ("::", "IPv6 unspecified"),
    ("fe80::1", "IPv6 link-local"),
    ("fe80::1%eth0", "IPv6 link-local with a zone"),
    ("fc00::1", "unique local"),
    ("fd12:3456::1", "unique local"),
    ("fec0::1", "site-local (deprecated)"),
    ("ff02::1", "IPv6 multicast"),
    ("ff0e::1", "IPv6 multicast, global scope"),
    ("100::1", "discard"),
    ("2001:db8::1", "IPv6 documentation"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
    ("::ffff:10.0.0.5", "IPv4-mapped private"),
    ("::ffff:224.0.0.1", "IPv4-mapped multicast"),
    ("::ffff:100.64.0.1", "IPv4-mapped CGNAT"),
    ("::127.0.0.1", "IPv4-compatible loopback"),
    ("::169.254.169.254", "IPv4-compatible link-local"),
    ("::8.8.8.8", "IPv4-compatible (deprecated, reserved)"),
    ("::ffff:0:127.0.0.1", "IPv4-translated loopback"),
    ("64:ff9b::127.0.0.1", "NAT64 of loopback"),
    ("64:ff9b::169.254.169.254", "NAT64 of link-local"),
    ("64:ff9b::10.0.0.5", "NAT64 of private"),
    ("64:ff9b::224.0.0.1", "NAT64 of multicast"),
    ("64:ff9b:1::127.0.0.1", "local-use NAT64"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 of loopback"),
    ("2002:a9fe:a9fe::1", "6to4 of link-local"),
    ("2002:808:808::1", "6to4"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo, client 127.0.0.1"),
    ("2001:0:a00:5:8000:63bf:3fff:fdd2", "Teredo, server 10.0.0.5"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
]

PUBLIC_ADDRESSES = [
    "93.184.216.34",
    "8.8.8.8",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",  # IPv4-mapped public: the connection reaches 8.8.8.8
    "64:ff9b::808:808",  # NAT64 of a public IPv4 address
]


def url_host(address: str) -> str:
    """The address as a URL spells it: IPv6 in brackets, a zone's % escaped."""
    return f"[{address.replace('%', '%25')}]" if ":" in address else address


# The same destinations in spellings that resolvers read as an IP address, and trailing dots.
NON_PUBLIC_SPELLINGS = [
    "localhost",
    "localhost.",
    "app.localhost",
    "127.0.0.1.",
    "2130706433",  # decimal 127.0.0.1
    "017700000001",  # octal
    "0x7f000001",  # hex
    "0x7f.1",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "127.1",
    "127.0.1",
    "0xa9.0xfe.0xa9.0xfe",  # 169.254.169.254
    "2852039166",  # 169.254.169.254
    "0",  # 0.0.0.0
    "1.2.3.999",  # looks like an address, is none
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::FFFF:127.0.0.1]",
]

NON_PUBLIC_URLS = [f"https://{url_host(a)}/hooks" for a, _ in NON_PUBLIC_ADDRESSES] + [
    f"https://{host}/hooks" for host in NON_PUBLIC_SPELLINGS
]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass
class FakeDns:
    """A resolver whose answers are scripted per name, and which records every lookup."""

    real: Any
    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)

    def answer(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = [list(a) for a in answers]

    def getaddrinfo(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if _is_ip(name):
            return list(self.real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST))
        self.lookups.append(name)
        script = self.answers.get(name)
        if not script:
            raise socket.gaierror(socket.EAI_NONAME, f"{name} is not in the test's DNS")
        addresses = script.pop(0) if len(script) > 1 else script[0]
        number = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, number, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, number))
            for a in addresses
        ]


@dataclass
class LoopbackOnly:
    """Records where the test's connections go; opens only those to loopback.

    Only the installing thread's dials are recorded: a session's provider sandboxes keep retrying
    their notifications from threads of their own, and those are not what the test sent.
    """

    real: Any
    dialled: list[tuple[str, int]] = field(default_factory=list)
    thread: int = field(default_factory=threading.get_ident)

    async def connect_tcp(self, remote_host: Any, remote_port: int, **kwargs: Any) -> Any:
        host = str(remote_host)
        if _is_ip(host):
            addresses = [host]
        else:  # resolved the way anyio would, through the (fake) resolver
            infos = await anyio.getaddrinfo(host, remote_port, type=socket.SOCK_STREAM)
            addresses = [str(info[4][0]) for info in infos]
        if threading.get_ident() == self.thread:
            self.dialled.extend((a, remote_port) for a in addresses)
        if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
            raise ConnectionRefusedError(f"the test refused a connection to {addresses} (not loopback)")
        for address in addresses[:-1]:  # in order, as anyio tries a name's addresses
            try:
                return await self.real(address, remote_port, **kwargs)
            except OSError:
                continue
        return await self.real(addresses[-1], remote_port, **kwargs)


def install(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeDns, LoopbackOnly]:
    """Route every lookup through a FakeDns and every connection through a LoopbackOnly guard."""
    dns = FakeDns(socket.getaddrinfo)
    guard = LoopbackOnly(anyio.connect_tcp)
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    monkeypatch.setattr(anyio, "connect_tcp", guard.connect_tcp)
    return dns, guard
