"""HTTP/1.1 over a raw socket: the request line exactly as written (httpx always sends origin form)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    """A response as it came off the wire: status line, headers in order, body bytes."""

    status_line: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.status_line.split(b" ", 2)[1])

    def without(self, *names: str) -> RawResponse:
        """The same response minus the named headers (e.g. ``date``, which changes every second)."""
        drop = {name.lower().encode() for name in names}
        kept = tuple((name, value) for name, value in self.headers if name.lower() not in drop)
        return RawResponse(self.status_line, kept, self.body)


def raw_request(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    absolute: bool = False,
    timeout_s: float = 10.0,
) -> RawResponse:
    """Send one request to ``base_url`` (loopback) and read the answer until the server closes.

    ``path`` is the origin form (``/v2/trans/create?x=1``); with ``absolute`` the request line
    carries ``http://host:port/v2/trans/create?x=1`` instead, as BeilyPay's Python SDK sends it.
    """
    url = urlsplit(base_url)
    host, port = url.hostname, url.port
    if host not in ("127.0.0.1", "::1") or port is None:
        raise ValueError(f"loopback with a port only, not {base_url}")
    target = f"{url.scheme}://{url.netloc}{path}" if absolute else path
    fields = {"Host": url.netloc, "Connection": "close", **(headers or {})}
    lines = [f"{method} {target} HTTP/1.1", *(f"{name}: {value}" for name, value in fields.items())]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    parsed = tuple(
        (name.strip().lower(), value.strip()) for name, _, value in (line.partition(b":") for line in header_lines)
    )
    return RawResponse(status_line, parsed, payload)


# How many times one round of answers_in_both_forms sends its request: a one-shot fault injected
# for a request read in both forms must last this many answers.
READS_PER_ROUND = 3


def answers_in_both_forms(
    send: Callable[[bool], RawResponse], *, volatile: tuple[str, ...] = ("date",), rounds: int = 5
) -> tuple[RawResponse, RawResponse]:
    """One request read in absolute form, in origin form, then in absolute form again.

    A resource can move on its own between two reads (a refund or a payout settles on a timer), so
    the absolute and origin answers are only comparable when the absolute reads on either side of
    the origin one agree; until they do, the round is taken again. ``send(absolute)`` sends it.
    """
    for _ in range(rounds):
        before = send(True).without(*volatile)
        origin = send(False).without(*volatile)
        after = send(True).without(*volatile)
        if before == after:
            return before, origin
    raise AssertionError(f"the answer kept changing for {rounds} rounds: {before!r} then {after!r}")
