"""The ``/_sandbox`` page: a person testing a checkout by hand acts as the payer and the provider.

It lists the sandbox's orders and its notifications, with buttons to pay, fail or succeed an
order and to redeliver a notification. Every button is a form that POSTs to the sandbox itself
(no script), carries a token only the page knows, and is refused from another origin; the page
loads nothing from elsewhere and may not be framed.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from sandbox.common.notifier import Attempt, Notifier

PAGE_PATH = "/_sandbox"
ROWS_SHOWN = 200  # newest first; a long-running stack keeps up to the notifier's bound
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_HERE = Path(__file__).parent
_STYLESHEET = (_HERE / "static" / "sandbox_page.css").read_text(encoding="utf-8")
_templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
)


@dataclass(frozen=True)
class Row:
    """One order as the page shows it; ``actions`` are the buttons it offers now."""

    kind: str  # e.g. "bill", "refund", "payout", "collection"
    key: str  # what `act` needs to find the order again
    cells: Sequence[str]
    actions: Sequence[str] = ()
    created: float = 0.0  # epoch seconds, for ordering


@dataclass(frozen=True)
class Table:
    title: str
    columns: Sequence[str]
    rows: Sequence[Row]


@dataclass
class OrderBook:
    """What a sandbox plugs in: its tables, and how to carry out an action on one order.

    ``act(kind, key, action)`` returns a sentence saying what happened, or raises ValueError
    (an unknown order, or an action its state no longer allows) with the reason."""

    provider: str
    tables: Callable[[], list[Table]]
    act: Callable[[str, str, str], str]
    notes: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class Delivery:
    """A notification delivery, summarised from its attempts."""

    delivery_id: str
    ref: str
    url: str
    attempts: int
    last_status: str
    acked: bool
    fault: str | None
    at: str


def deliveries(attempts: Sequence[Attempt]) -> list[Delivery]:
    """Newest delivery first, each with its attempt count and last outcome (no query strings)."""
    grouped: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        grouped.setdefault(attempt.delivery_id, []).append(attempt)
    summaries = []
    for delivery_id, tries in grouped.items():
        last = tries[-1]
        status = str(last.status_code) if last.status_code is not None else (last.error or "no answer")
        summaries.append(
            Delivery(
                delivery_id=delivery_id,
                ref=last.ref,
                url=last.url.split("?", 1)[0],
                attempts=len(tries),
                last_status=status,
                acked=any(t.acked for t in tries),
                fault=last.fault,
                at=_when(tries[0].at),
            )
        )
    summaries.sort(key=lambda d: int(d.delivery_id.lstrip("d") or 0), reverse=True)
    return summaries[:ROWS_SHOWN]


def _when(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class SandboxPage:
    """GET ``/_sandbox`` (the page), its stylesheet, and the two form targets."""

    def __init__(self, book: OrderBook, notifier: Notifier) -> None:
        self.book = book
        self.notifier = notifier
        self.token = secrets.token_urlsafe(32)  # per process: a page from an earlier run cannot post

    def routes(self) -> list[Route]:
        return [
            Route(PAGE_PATH, self.show, methods=["GET"]),
            Route(f"{PAGE_PATH}/page.css", self.stylesheet, methods=["GET"]),
            Route(f"{PAGE_PATH}/act", self.act, methods=["POST"]),
            Route(f"{PAGE_PATH}/redeliver", self.redeliver, methods=["POST"]),
        ]

    async def show(self, request: Request) -> Response:
        tables = [
            Table(table.title, table.columns, sorted(table.rows, key=lambda r: r.created, reverse=True)[:ROWS_SHOWN])
            for table in self.book.tables()
        ]
        body = _templates.get_template("sandbox_page.html").render(
            provider=self.book.provider,
            tables=tables,
            deliveries=deliveries(self.notifier.attempts()),
            notes=self.book.notes,
            token=self.token,
            done=request.query_params.get("done"),
            error=request.query_params.get("error"),
        )
        return HTMLResponse(body, headers=SECURITY_HEADERS)

    async def stylesheet(self, request: Request) -> Response:
        headers = {**SECURITY_HEADERS, "Cache-Control": "max-age=300"}
        return Response(_STYLESHEET, media_type="text/css", headers=headers)

    async def act(self, request: Request) -> Response:
        fields = await self._form(request)
        if isinstance(fields, Response):
            return fields
        try:
            return _back(self.book.act(fields.get("kind", ""), fields.get("key", ""), fields.get("action", "")))
        except ValueError as exc:
            return _back(str(exc), error=True)

    async def redeliver(self, request: Request) -> Response:
        fields = await self._form(request)
        if isinstance(fields, Response):
            return fields
        delivery_id = fields.get("delivery_id", "")
        try:
            new_id = self.notifier.redeliver(delivery_id)
        except KeyError:
            return _back(f"no delivery {delivery_id}", error=True)
        return _back(f"notification {delivery_id} sent again as {new_id}")

    async def _form(self, request: Request) -> dict[str, str] | Response:
        """The posted fields, or a 403 for a form from another origin or without the page's token."""
        own_origin = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if request.headers.get("origin", own_origin) != own_origin:
            return _refused("cross-origin form refused")
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return _refused("cross-site form refused")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            return _refused("a form post is expected")
        # The page's forms are urlencoded; parsed here rather than with starlette's form parser,
        # which needs python-multipart for this one content type.
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), max_num_fields=10))
        if not hmac.compare_digest(fields.get("token", "").encode(), self.token.encode()):
            return _refused("missing or stale page token: reload the page")
        return fields


def _refused(reason: str) -> Response:
    return PlainTextResponse(reason, status_code=403, headers=SECURITY_HEADERS)


def _back(message: str, *, error: bool = False) -> Response:
    """Post/redirect/get: the page again, saying what happened."""
    query = urlencode({"error" if error else "done": message})
    return RedirectResponse(f"{PAGE_PATH}?{query}", status_code=303, headers=SECURITY_HEADERS)


def page_routes(book: OrderBook, notifier: Notifier) -> list[Route]:
    return SandboxPage(book, notifier).routes()
