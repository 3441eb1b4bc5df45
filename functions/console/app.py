"""The console: the web pages where a merchant's people find payments, refund, and see webhooks.

Behind the same API as everything else, with no API key: a console user signs in with email
and password (paygate.console.users) and holds a server-side session behind an HttpOnly,
Secure, SameSite=Strict cookie (paygate.console.sessions). Every page reads only the signed-in
user's app; every form that changes something carries the session's CSRF token and must come from
the console's own pages; refunds, refreshes and resends are done by the same services as the API
and written to the audit log (paygate.console.audit). Pages need no script; the CSP allows none
from elsewhere and nothing inline (paygate.web.pages).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from paygate.api.http import public_base_url
from paygate.clock import china_date, now_ms
from paygate.console.audit import AuditEntry
from paygate.console.pages import (
    DeliveryFact,
    bar_chart_svg,
    channel_figures,
    china_day_start_ms,
    china_time,
    daily_figures,
    event_ids_of,
    parse_yuan,
    rupees,
    strings_for,
    timeline,
    transfer_timeline,
    yuan,
)
from paygate.console.sessions import ConsoleSession
from paygate.console.users import LoginOutcome
from paygate.credentials import require_beecloud, require_beilypay
from paygate.deps import (
    apps_store,
    audit_log,
    beilypay_api_client,
    bill_refresher,
    console_sessions,
    console_users,
    endpoint_service,
    order_history,
    orders_store,
    reconciliation_runs,
    refund_service,
    transfers_store,
    webhooks_store,
)
from paygate.errors import PaygateError, ProviderError
from paygate.models import (
    App,
    Bill,
    BillStatus,
    Channel,
    Collection,
    OrderKind,
    Payout,
    Refund,
    TransferOrder,
    TransferStatus,
)
from paygate.payments.requests import CreateRefundRequest
from paygate.reconciliation.report import CSV_COLUMNS, rows_to_csv
from paygate.settings import get_settings
from paygate.tracing import traced
from paygate.web.i18n import Language, negotiate
from paygate.web.limits import KeyedRateLimit
from paygate.web.pages import render, security_headers, static_assets
from paygate.webhooks.requests import CreateWebhookEndpointRequest, RotateSecretRequest

logger = Logger()
app = APIGatewayRestResolver()

PREFIX = "/console"
COOKIE = "paygate_console"
MAX_FORM_BYTES = 8 * 1024
PAGE_SIZE = 20
OVERVIEW_DAYS = 30
# The overview's figures come from at most this many of the newest bills of the 30 days (it says so
# when there were more): a page must answer in a second, not scan a busy merchant's month.
OVERVIEW_SAMPLE = 2000
# Per source address, per container: a first brake on password guessing (each user is also
# locked after repeated failures, in the table, whatever container the attempts reach).
sign_in_attempts = KeyedRateLimit(rate=0.5, burst=10)


class PageError(Exception):
    """Ends a request with an error page (status, heading key, text key)."""

    def __init__(self, status: int, heading: str, text: str) -> None:
        super().__init__(heading)
        self.status, self.heading, self.text = status, heading, text


@dataclass(frozen=True)
class Visit:
    """The signed-in user's request: who, which app, in which language, where the console lives."""

    session: ConsoleSession
    merchant: App
    language: Language
    base: str

    @property
    def strings(self) -> dict[str, str]:
        return strings_for(self.language)

    def url(self, path: str = "", **query: str | None) -> str:
        kept = {k: v for k, v in query.items() if v}
        return f"{self.base}{PREFIX}{path}" + (f"?{urlencode(kept)}" if kept else "")


# ---------------------------------------------------------------- plumbing


def _language() -> Language:
    return negotiate(app.current_event.headers.get("Accept-Language"))


def _base() -> str:
    return public_base_url(app, get_settings().public_base_url)


def _cookie_path() -> str:
    return (urlsplit(_base()).path or "") + PREFIX


def _assets(base: str) -> dict[str, list[str]]:
    css = static_assets()["console.css"]
    return {"stylesheets": [f"{base}{PREFIX}/assets/{css.name}?v={css.version}"], "scripts": []}


def _html(body: str, status: int = 200, cookies: list[Cookie] | None = None) -> Response[str]:
    headers = {**security_headers(), "Vary": "Accept-Language, Cookie"}
    return Response(
        status_code=status, content_type="text/html; charset=utf-8", body=body, headers=headers, cookies=cookies or []
    )


def _redirect(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(
        status_code=303, headers={"Location": location, **security_headers()}, body="", cookies=cookies or []
    )


def _page(visit: Visit | None, template: str, status: int = 200, **context: Any) -> Response[str]:
    language = visit.language if visit else _language()
    base = visit.base if visit else _base()
    context = {"notice": None, "error": None, **context}
    body = render(
        template,
        language=language,
        t=strings_for(language),
        visit=visit,
        console=f"{base}{PREFIX}",
        **_assets(base),
        **context,
    )
    return _html(body, status)


def _session_token() -> str | None:
    for part in str(app.current_event.headers.get("Cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def _source() -> tuple[str, str]:
    context = app.current_event.request_context
    ip = str(context.identity.source_ip or "")
    return ip, str(app.current_event.headers.get("User-Agent") or "")[:200]


def _visit() -> Visit:
    session = console_sessions().current(_session_token())
    if session is None:
        raise _SignInFirst
    merchant = apps_store().get(session.app_id)
    if merchant is None:
        raise _SignInFirst
    return Visit(session, merchant, _language(), _base())


class _SignInFirst(Exception):  # noqa: N818 - control flow: send the browser to the sign-in page
    pass


def _form() -> dict[str, str]:
    """The url-encoded form of a POST from our own pages; anything else is refused."""
    headers = app.current_event.headers
    site = headers.get("Sec-Fetch-Site")
    origin = headers.get("Origin")
    ours = urlsplit(_base())
    if site is not None and site not in ("same-origin", "none"):
        raise PageError(403, "forbidden", "bad_form")
    if site is None and origin is not None and origin != f"{ours.scheme}://{ours.netloc}":
        raise PageError(403, "forbidden", "bad_form")
    content_type = str(headers.get("Content-Type") or "").split(";")[0].strip().lower()
    raw = app.current_event.body or ""
    if app.current_event.is_base64_encoded:
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    if content_type != "application/x-www-form-urlencoded" or len(raw) > MAX_FORM_BYTES:
        raise PageError(400, "bad_form", "bad_form")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False, max_num_fields=20)
    except ValueError:
        raise PageError(400, "bad_form", "bad_form") from None
    return dict(pairs)


def _checked_form(visit: Visit, *, act: bool) -> dict[str, str]:
    """The form, with its CSRF token checked; `act`: only an operator may send it."""
    form = _form()
    if not console_sessions().csrf_ok(visit.session, form.get("csrf")):
        raise PageError(403, "forbidden", "bad_form")
    if act and not visit.session.role.can_act:
        raise PageError(403, "forbidden", "forbidden_text")
    return form


def _audit(visit: Visit, action: str, target: str, outcome: str, **detail: Any) -> None:
    ip, agent = _source()
    audit_log().record(
        AuditEntry(
            app_id=visit.merchant.app_id,
            at_ms=now_ms(),
            actor=visit.session.email,
            action=action,
            target=target,
            outcome=outcome,
            ip=ip,
            user_agent=agent,
            detail=detail,
        )
    )


def _signed_in(handler: Callable[..., Response[str]]) -> Callable[..., Response[str]]:
    """The route needs a session: without one, the browser goes to the sign-in page."""

    def wrapped(*args: Any, **kwargs: Any) -> Response[str]:
        try:
            visit = _visit()
        except _SignInFirst:
            return _redirect(f"{_base()}{PREFIX}/login")
        try:
            return handler(visit, *args, **kwargs)
        except PageError as error:
            return _error_page(visit, error)

    wrapped.__name__ = handler.__name__
    return wrapped


def _error_page(visit: Visit | None, error: PageError) -> Response[str]:
    strings = strings_for(visit.language if visit else _language())
    return _page(visit, "console/error.html", error.status, heading=strings[error.heading], text=strings[error.text])


# ---------------------------------------------------------------- sign in and out


@app.get("/console/login")
def login_page() -> Response[str]:
    if console_sessions().current(_session_token()) is not None:
        return _redirect(f"{_base()}{PREFIX}")
    notice = {"out": "signed_out", "expired": "session_over"}.get(app.current_event.get_query_string_value("m") or "")
    return _page(None, "console/login.html", notice=strings_for(_language())[notice] if notice else None, error=None)


@app.post("/console/login")
def login() -> Response[str]:
    strings = strings_for(_language())
    try:
        form = _form()
    except PageError as error:
        return _error_page(None, error)
    ip, agent = _source()
    if sign_in_attempts.retry_after(ip or "unknown") is not None:
        return _page(None, "console/login.html", 429, notice=None, error=strings["slow_down"])
    email = form.get("email", "").strip().lower()[:254]
    result = console_users().authenticate(email, form.get("password", "")[:256])
    if result.outcome is not LoginOutcome.OK or result.user is None:
        if result.user is not None:  # a known user: the attempt belongs in its app's log
            audit_log().record(
                AuditEntry(
                    app_id=result.user.app_id, at_ms=now_ms(), actor=email, action="session.sign_in_failed",
                    target=email, outcome=result.outcome.value.lower(), ip=ip, user_agent=agent,
                )
            )  # fmt: skip
        if result.outcome is LoginOutcome.LOCKED:
            until = china_time(result.locked_until_ms) + " (UTC+8)"
            return _page(None, "console/login.html", 429, notice=None, error=strings["locked"].format(until=until))
        return _page(None, "console/login.html", 401, notice=None, error=strings["bad_credentials"])
    token, session = console_sessions().start(result.user, ip, agent)
    audit_log().record(
        AuditEntry(
            app_id=session.app_id, at_ms=now_ms(), actor=session.email, action="session.sign_in", target=session.email,
            outcome="ok", ip=ip, user_agent=agent,
        )
    )  # fmt: skip
    cookie = Cookie(
        name=COOKIE,
        value=token,
        path=_cookie_path(),
        secure=True,
        http_only=True,
        same_site=SameSite.STRICT_MODE,
        max_age=(session.expires_at_ms - session.created_at_ms) // 1000,
    )
    return _redirect(f"{_base()}{PREFIX}", cookies=[cookie])


@app.post("/console/logout")
@_signed_in
def logout(visit: Visit) -> Response[str]:
    _checked_form(visit, act=False)
    console_sessions().end(_session_token() or "")
    _audit(visit, "session.sign_out", visit.session.email, "ok")
    gone = Cookie(name=COOKIE, value="", path=_cookie_path(), secure=True, http_only=True,
                  same_site=SameSite.STRICT_MODE, max_age=0)  # fmt: skip
    return _redirect(visit.url("/login", m="out"), cookies=[gone])


# ---------------------------------------------------------------- pages


@app.get("/console")
@_signed_in
def overview(visit: Visit) -> Response[str]:
    now = now_ms()
    store = orders_store()
    app_id = visit.merchant.app_id
    since = now - OVERVIEW_DAYS * 24 * 3600_000
    sample = [
        Bill.model_validate(item)
        for item in store.list_orders(app_id, OrderKind.BILL, limit=OVERVIEW_SAMPLE, created_from_ms=since).items
    ]
    days = daily_figures(sample, now, OVERVIEW_DAYS)
    strings = visit.strings
    volume_chart = bar_chart_svg(
        [(d.day, d.volume_fen / 100, f"¥{yuan(d.volume_fen)}") for d in days], label=strings["chart_volume"]
    )
    rate_chart = bar_chart_svg(
        [(d.day, d.success_rate or 0.0, f"{(d.success_rate or 0) * 100:.0f}% ({d.succeeded}/{d.bills})") for d in days],
        label=strings["chart_rate"],
    )
    total = sum(d.bills for d in days)
    paid = sum(d.succeeded for d in days)
    waiting = {
        kind.value: {
            status: len(store.list_orders(app_id, kind, limit=100, filters={"status": status}).items)
            for status in ("unknown", "pending")
        }
        for kind in (OrderKind.PAYOUT, OrderKind.COLLECTION)
    }
    failing = []
    webhooks = webhooks_store()
    for endpoint in webhooks.list_endpoints(app_id):
        last = webhooks.list_attempts(endpoint.endpoint_id, limit=1).attempts
        if last and last[0].status.value != "succeeded":
            failing.append(endpoint.url)
    runs = reconciliation_runs()
    last_runs = runs.recent(app_id, limit=1) if runs else []
    return _page(
        visit, "console/overview.html", last_run=_run_row(visit, last_runs[0]) if last_runs else None,
        bills=[_bill_row(visit, bill) for bill in sample[:10]],
        volume_chart=volume_chart, rate_chart=rate_chart,
        totals={"bills": total, "paid": paid, "volume": yuan(sum(d.volume_fen for d in days)),
                "rate": f"{paid / total * 100:.1f}%" if total else "–"},
        channels=[{"channel": c, "bills": n, "paid": ok, "volume": yuan(v),
                   "rate": f"{ok / n * 100:.0f}%" if n else "–"} for c, n, ok, v in channel_figures(sample)],
        sampled=len(sample) >= OVERVIEW_SAMPLE, sample_size=len(sample), waiting=waiting, failing=failing,
    )  # fmt: skip


@app.get("/console/bills")
@_signed_in
def bills(visit: Visit) -> Response[str]:
    query = app.current_event.get_query_string_value
    wanted_bill = (query("q") or "").strip()
    if wanted_bill:
        return (
            _redirect(visit.url(f"/bills/{wanted_bill}")) if wanted_bill.isalnum() else _redirect(visit.url("/bills"))
        )
    status = query("status") or ""
    channel = query("channel") or ""
    day_from, day_to = query("from") or "", query("to") or ""
    filters = {}
    if status in {s.value for s in BillStatus}:
        filters["status"] = status
    if channel in {c.value for c in Channel}:
        filters["channel"] = channel
    created_from = china_day_start_ms(day_from) if day_from else None
    created_to = china_day_start_ms(day_to) if day_to else None
    if created_to is not None:
        created_to += 24 * 3600_000 - 1
    try:
        page = orders_store().list_orders(
            visit.merchant.app_id, OrderKind.BILL, limit=PAGE_SIZE, cursor=query("cursor") or None,
            created_from_ms=created_from, created_to_ms=created_to, filters=filters,
        )  # fmt: skip
    except (PaygateError, ValueError):
        raise PageError(400, "bad_form", "bad_form") from None
    rows = [_bill_row(visit, Bill.model_validate(item)) for item in page.items]
    next_url = None
    if page.cursor:
        next_url = visit.url("/bills", status=status, channel=channel, **{"from": day_from, "to": day_to},
                             cursor=page.cursor)  # fmt: skip
    return _page(
        visit, "console/bills.html", bills=rows, next_url=next_url,
        filters={"status": status, "channel": channel, "from": day_from, "to": day_to},
        statuses=[s.value for s in BillStatus], channels=[c.value for c in Channel],
    )  # fmt: skip


def _bill_row(visit: Visit, bill: Bill) -> dict[str, Any]:
    return {
        "bill_no": bill.bill_no,
        "url": visit.url(f"/bills/{bill.bill_no}"),
        "title": bill.title,
        "channel": bill.channel.value,
        "amount": yuan(bill.total_fee),
        "status": bill.status.value,
        "status_text": visit.strings[bill.status.value],
        "created": china_time(bill.created_at_ms),
    }


def _bill_or_404(visit: Visit, bill_no: str) -> Bill:
    bill = orders_store().get_bill(visit.merchant.app_id, bill_no) if bill_no.isalnum() and len(bill_no) <= 32 else None
    if bill is None:
        raise PageError(404, "not_found", "not_found_text")
    return bill


def _refunds_of(visit: Visit, bill: Bill) -> list[Refund]:
    page = orders_store().list_orders(
        visit.merchant.app_id, OrderKind.REFUND, limit=50, filters={"bill_no": bill.bill_no}
    )
    return sorted((Refund.model_validate(item) for item in page.items), key=lambda refund: refund.created_at_ms)


def _deliveries_of(visit: Visit, events: dict[str, str]) -> list[DeliveryFact]:
    if not events:
        return []
    store = webhooks_store()
    facts = []
    for endpoint in store.list_endpoints(visit.merchant.app_id):
        for attempt in store.list_attempts(endpoint.endpoint_id, limit=50).attempts:
            if attempt.event_id in events:
                outcome = f"{attempt.status.value}" + (f" {attempt.response_status}" if attempt.response_status else "")
                facts.append(
                    DeliveryFact(attempt.attempted_at_ms, attempt.event_type, endpoint.url, outcome,
                                 attempt.status.value == "succeeded")
                )  # fmt: skip
    return facts


@app.get("/console/bills/<bill_no>")
@_signed_in
def bill_page(visit: Visit, bill_no: str) -> Response[str]:
    return _bill_view(visit, _bill_or_404(visit, bill_no))


def _bill_view(visit: Visit, bill: Bill, status: int = 200, error: str | None = None) -> Response[str]:
    refunds = _refunds_of(visit, bill)
    # The bill and its refunds as of one instant: never a refund shown settled beside a bill not counting it.
    refund_nos = [refund.refund_no for refund in refunds]
    snapshot = orders_store().bill_and_refunds(visit.merchant.app_id, bill.bill_no, refund_nos) if refunds else None
    if snapshot is not None:
        bill, refunds = snapshot[0], sorted(snapshot[1], key=lambda refund: refund.created_at_ms)
    events = event_ids_of(bill, refunds)
    history = order_history()
    recorded = {bill.bill_no: history.entries(visit.merchant.app_id, OrderKind.BILL, bill.bill_no)}
    for one in refunds:
        recorded[one.refund_no] = history.entries(visit.merchant.app_id, OrderKind.REFUND, one.refund_no)
    entries = timeline(bill, refunds, _deliveries_of(visit, events), visit.strings, recorded)
    refundable = bill.total_fee - bill.refunded_fee - bill.refund_reserved
    done = app.current_event.get_query_string_value("done") or ""
    notice = None
    if done == "refund":
        refund_no = app.current_event.get_query_string_value("refund_no") or ""
        notice = visit.strings["refund_started"].format(refund_no=refund_no if refund_no.isalnum() else "")
    elif done == "refresh":
        notice = visit.strings["refreshed"]
    return _page(
        visit, "console/bill.html", status,
        bill=_bill_row(visit, bill), paid_at=china_time(bill.paid_at_ms), refunded=yuan(bill.refunded_fee),
        refunds=[_refund_row(visit, refund) for refund in refunds], timeline=entries, events=events,
        can_refund=visit.session.role.can_act and bill.status is BillStatus.SUCCEEDED and refundable > 0,
        can_act=visit.session.role.can_act, refundable=yuan(max(refundable, 0)),
        refund_no=f"{china_date(now_ms())}{secrets.token_hex(8)}", notice=notice, error=error,
        csrf=visit.session.csrf_token,
    )  # fmt: skip


def _refund_row(visit: Visit, refund: Refund) -> dict[str, Any]:
    return {
        "refund_no": refund.refund_no,
        "amount": yuan(refund.refund_fee),
        "status": refund.status.value,
        "status_text": visit.strings[refund.status.value],
        "created": china_time(refund.created_at_ms),
        "approval_url": refund.approval_url,
    }


@app.post("/console/bills/<bill_no>/refund")
@_signed_in
def refund(visit: Visit, bill_no: str) -> Response[str]:
    bill = _bill_or_404(visit, bill_no)
    try:
        form = _checked_form(visit, act=True)
    except PageError as error:
        _audit(visit, "bill.refund", bill.bill_no, "refused_" + error.text)
        raise
    fee = parse_yuan(form.get("amount"))
    if fee is None:
        return _bill_view(visit, bill, 422, visit.strings["bad_amount"])
    if form.get("confirm") != "yes":
        return _bill_view(visit, bill, 422, visit.strings["confirm_needed"])
    try:
        request = CreateRefundRequest.model_validate(
            {"refund_no": form.get("refund_no", ""), "bill_no": bill.bill_no, "refund_fee": fee,
             "optional": {"console_user": visit.session.email}}
        )  # fmt: skip
        created = refund_service().create(visit.merchant, require_beecloud(visit.merchant), request)
    except PaygateError as error:
        _audit(visit, "bill.refund", bill.bill_no, error.code, refund_fee=fee)
        return _bill_view(visit, bill, error.status, f"{error.message} ({error.code})")
    except ValueError:  # the form's refund number is not valid any more (a page left open past midnight)
        _audit(visit, "bill.refund", bill.bill_no, "stale_form", refund_fee=fee)
        return _bill_view(visit, bill, 422, visit.strings["bad_form"])
    _audit(visit, "bill.refund", bill.bill_no, "ok", refund_no=created.order.refund_no, refund_fee=fee)
    return _redirect(visit.url(f"/bills/{bill.bill_no}", done="refund", refund_no=created.order.refund_no))


@app.post("/console/bills/<bill_no>/refresh")
@_signed_in
def refresh(visit: Visit, bill_no: str) -> Response[str]:
    bill = _bill_or_404(visit, bill_no)
    _checked_form(visit, act=True)
    try:
        bill_refresher().refresh(visit.merchant.app_id, bill.bill_no, lambda: require_beecloud(visit.merchant))
    except PaygateError as error:
        _audit(visit, "bill.refresh", bill.bill_no, error.code)
        return _bill_view(visit, bill, error.status, f"{error.message} ({error.code})")
    _audit(visit, "bill.refresh", bill.bill_no, "ok")
    return _redirect(visit.url(f"/bills/{bill.bill_no}", done="refresh"))


TRANSFER_KINDS: dict[str, tuple[OrderKind, type[TransferOrder]]] = {
    "payouts": (OrderKind.PAYOUT, Payout),
    "collections": (OrderKind.COLLECTION, Collection),
}


@app.get("/console/payouts")
@_signed_in
def payouts(visit: Visit) -> Response[str]:
    return _transfers(visit, "payouts")


@app.get("/console/collections")
@_signed_in
def collections(visit: Visit) -> Response[str]:
    return _transfers(visit, "collections")


def _transfers(visit: Visit, kind_name: str) -> Response[str]:
    kind, model = TRANSFER_KINDS[kind_name]
    query = app.current_event.get_query_string_value
    status = query("status") or ""
    filters = {"status": status} if status in {s.value for s in TransferStatus} else {}
    try:
        page = orders_store().list_orders(
            visit.merchant.app_id, kind, limit=PAGE_SIZE, cursor=query("cursor") or None, filters=filters
        )
    except ValueError:
        raise PageError(400, "bad_form", "bad_form") from None
    rows = [_transfer_row(visit, kind_name, model.model_validate(item)) for item in page.items]
    balance = _balance(visit) if kind_name == "payouts" else None
    next_url = visit.url(f"/{kind_name}", status=status, cursor=page.cursor) if page.cursor else None
    return _page(
        visit, "console/transfers.html", kind_name=kind_name, orders=rows, next_url=next_url, status_filter=status,
        statuses=[s.value for s in TransferStatus], balance=balance,
        has_beilypay=visit.merchant.beilypay_app_id is not None,
    )  # fmt: skip


def _balance(visit: Visit) -> str | None:
    """The BeilyPay balance in rupees, or None when it cannot be read now (the page says so)."""
    if visit.merchant.beilypay_app_id is None:
        return None
    try:
        amount = beilypay_api_client().balance(require_beilypay(visit.merchant))
    except (PaygateError, ProviderError):
        return None
    return f"{amount:,.2f}"


def _transfer_row(visit: Visit, kind_name: str, order: TransferOrder) -> dict[str, Any]:
    return {
        "out_order_no": order.out_order_no,
        "url": visit.url(f"/{kind_name}/{order.out_order_no}"),
        "amount": rupees(order.amount),
        "status": order.status.value,
        "status_text": visit.strings[order.status.value],
        "created": china_time(order.created_at_ms),
        "provider_order_no": order.provider_order_no or "",
        "beneficiary": getattr(order, "account_owner", ""),
        "paid": rupees(order.paid) if isinstance(order, Collection) and order.paid is not None else "",
    }


@app.get("/console/payouts/<out_order_no>")
@_signed_in
def payout_page(visit: Visit, out_order_no: str) -> Response[str]:
    return _transfer_page(visit, "payouts", out_order_no)


@app.get("/console/collections/<out_order_no>")
@_signed_in
def collection_page(visit: Visit, out_order_no: str) -> Response[str]:
    return _transfer_page(visit, "collections", out_order_no)


def _transfer_page(visit: Visit, kind_name: str, out_order_no: str) -> Response[str]:
    kind, _ = TRANSFER_KINDS[kind_name]
    order = None
    if 0 < len(out_order_no) <= 64 and out_order_no.isprintable():
        order = transfers_store().get_transfer(kind, visit.merchant.app_id, out_order_no, consistent=False)
    if order is None:
        raise PageError(404, "not_found", "not_found_text")
    return _page(
        visit, "console/transfer.html", kind_name=kind_name, order=_transfer_row(visit, kind_name, order),
        timeline=transfer_timeline(
            order, visit.strings, order_history().entries(visit.merchant.app_id, kind, order.out_order_no)
        ), unknown=order.status is TransferStatus.UNKNOWN,
        failure=f"{order.failure_code}: {order.failure_message or ''}" if order.failure_code else "",
        unknown_reason=order.unknown_reason or "",
    )  # fmt: skip


@app.get("/console/webhooks")
@_signed_in
def webhooks(visit: Visit) -> Response[str]:
    event_id = app.current_event.get_query_string_value("resent") or ""
    notice = None
    if _is_event_id(event_id):
        notice = visit.strings["resent"].format(event_id=event_id)
    elif app.current_event.get_query_string_value("done") == "deleted":
        notice = visit.strings["endpoint_deleted"]
    return _webhooks_view(visit, notice=notice)


def _webhooks_view(
    visit: Visit, status: int = 200, *, notice: str | None = None, error: str | None = None,
    secret: tuple[str, str] | None = None, form: dict[str, str] | None = None,
) -> Response[str]:  # fmt: skip
    """The endpoints with their newest deliveries; `secret` (endpoint id, secret) is shown this once."""
    store = webhooks_store()
    endpoints = []
    for endpoint in store.list_endpoints(visit.merchant.app_id):
        attempts = store.list_attempts(endpoint.endpoint_id, limit=PAGE_SIZE).attempts
        endpoints.append(
            {
                "endpoint_id": endpoint.endpoint_id,
                "url": endpoint.url,
                "event_types": ", ".join(endpoint.event_types),
                "description": endpoint.description or "",
                "secret": secret[1] if secret and secret[0] == endpoint.endpoint_id else None,
                "deliveries": [
                    {
                        "event_id": a.event_id,
                        "event_type": a.event_type,
                        "attempt": a.attempt,
                        "status": a.status.value,
                        "ok": a.status.value == "succeeded",
                        "response": a.response_status or "",
                        "latency": f"{a.latency_ms} ms",
                        "error": a.error or "",
                        "when": china_time(a.attempted_at_ms),
                        "resend": visit.url(f"/events/{a.event_id}/resend"),
                    }
                    for a in attempts
                ],
            }
        )
    return _page(
        visit, "console/webhooks.html", status, endpoints=endpoints, can_act=visit.session.role.can_act,
        csrf=visit.session.csrf_token, notice=notice, error=error, form=form or {},
    )  # fmt: skip


@app.post("/console/webhooks")
@_signed_in
def create_endpoint(visit: Visit) -> Response[str]:
    form = _checked_form(visit, act=True)
    kept = {key: form.get(key, "")[:2048] for key in ("url", "event_types", "description")}
    try:
        request = CreateWebhookEndpointRequest.model_validate(
            {
                "url": kept["url"].strip(),
                "event_types": [t.strip() for t in kept["event_types"].split(",") if t.strip()],
                "description": kept["description"].strip() or None,
            }
        )
        endpoint, secret = endpoint_service().create(visit.merchant.app_id, request)
    except ValidationError as invalid:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in invalid.errors())[:300]
        _audit(visit, "webhook_endpoint.create", kept["url"][:200], "invalid_request")
        return _webhooks_view(visit, 422, error=problems, form=kept)
    except PaygateError as error:
        _audit(visit, "webhook_endpoint.create", kept["url"][:200], error.code)
        return _webhooks_view(visit, error.status, error=f"{error.message} ({error.code})", form=kept)
    _audit(visit, "webhook_endpoint.create", endpoint.endpoint_id, "ok", url=endpoint.url[:200])
    return _webhooks_view(visit, 201, secret=(endpoint.endpoint_id, secret))


def _endpoint_id_or_404(endpoint_id: str) -> str:
    if not (endpoint_id.startswith("we_") and len(endpoint_id) <= 40 and endpoint_id[3:].isalnum()):
        raise PageError(404, "not_found", "not_found_text")
    return endpoint_id


@app.post("/console/webhooks/<endpoint_id>/delete")
@_signed_in
def delete_endpoint(visit: Visit, endpoint_id: str) -> Response[str]:
    endpoint_id = _endpoint_id_or_404(endpoint_id)
    form = _checked_form(visit, act=True)
    if form.get("confirm") != "yes":
        return _webhooks_view(visit, 422, error=visit.strings["confirm_needed"])
    try:
        endpoint_service().delete(visit.merchant.app_id, endpoint_id)
    except PaygateError as error:
        _audit(visit, "webhook_endpoint.delete", endpoint_id, error.code)
        raise PageError(error.status, "not_found", "not_found_text") from None
    _audit(visit, "webhook_endpoint.delete", endpoint_id, "ok")
    return _redirect(visit.url("/webhooks", done="deleted"))


@app.post("/console/webhooks/<endpoint_id>/rotate-secret")
@_signed_in
def rotate_endpoint_secret(visit: Visit, endpoint_id: str) -> Response[str]:
    endpoint_id = _endpoint_id_or_404(endpoint_id)
    _checked_form(visit, act=True)
    try:
        _, secret = endpoint_service().rotate_secret(
            visit.merchant.app_id, endpoint_id, expire_previous_after_s=RotateSecretRequest().expire_previous_after_s
        )
    except PaygateError as error:
        _audit(visit, "webhook_endpoint.rotate_secret", endpoint_id, error.code)
        return _webhooks_view(visit, error.status, error=f"{error.message} ({error.code})")
    _audit(visit, "webhook_endpoint.rotate_secret", endpoint_id, "ok")
    return _webhooks_view(visit, secret=(endpoint_id, secret))


def _is_event_id(value: str) -> bool:
    return len(value) == 36 and all(c in "0123456789abcdef-" for c in value)


@app.post("/console/events/<event_id>/resend")
@_signed_in
def resend(visit: Visit, event_id: str) -> Response[str]:
    if not _is_event_id(event_id):
        raise PageError(404, "not_found", "not_found_text")
    form = _checked_form(visit, act=True)
    endpoint_id = form.get("endpoint_id") or None
    try:
        endpoint_service().resend(visit.merchant.app_id, event_id, endpoint_id)
    except PaygateError as error:
        _audit(visit, "webhook.resend", event_id, error.code)
        raise PageError(error.status, "not_found", "not_found_text") from None
    _audit(visit, "webhook.resend", event_id, "ok", endpoint_id=endpoint_id)
    return _redirect(visit.url("/webhooks", resent=event_id))


@app.get("/console/reconciliation")
@_signed_in
def reconciliation(visit: Visit) -> Response[str]:
    runs = reconciliation_runs()
    rows = [_run_row(visit, run) for run in (runs.recent(visit.merchant.app_id) if runs else [])]
    return _page(visit, "console/reconciliation.html", runs=rows)


def _run_row(visit: Visit, run: dict[str, Any]) -> dict[str, Any]:
    key = f"{int(run['started_at_ms'])}-{run['run_id']}"
    counts = run.get("counts") or {}
    return {
        "url": visit.url(f"/reconciliation/{key}"),
        "csv": visit.url(f"/reconciliation/{key}/csv"),
        "run_id": run["run_id"],
        "period": f"{china_time(int(run['period_from_ms']))} – {china_time(int(run['period_to_ms']))}",
        "started": china_time(int(run["started_at_ms"])),
        "fixes": int(counts.get("fix", 0)),
        "mismatches": int(counts.get("mismatch", 0)),
        "errors": int(counts.get("error", 0)),
    }


def _run_or_404(visit: Visit, run: str) -> dict[str, Any]:
    started, _, run_id = run.partition("-")
    runs = reconciliation_runs()
    found = runs.get(visit.merchant.app_id, f"{started}#{run_id}") if runs and started.isdigit() else None
    if found is None:
        raise PageError(404, "not_found", "not_found_text")
    return found


@app.get("/console/reconciliation/<run>")
@_signed_in
def reconciliation_run(visit: Visit, run: str) -> Response[str]:
    found = _run_or_404(visit, run)
    rows = [dict(zip(CSV_COLUMNS, row, strict=False)) for row in found.get("rows", [])]
    return _page(
        visit, "console/reconciliation_run.html", run=_run_row(visit, found), rows=rows,
        dropped=int(found.get("rows_dropped", 0)),
    )  # fmt: skip


@app.get("/console/reconciliation/<run>/csv")
@_signed_in
def reconciliation_csv(visit: Visit, run: str) -> Response[str]:
    found = _run_or_404(visit, run)
    name = f"paygate-reconciliation-{visit.merchant.app_id}-{run}.csv"
    return Response(
        status_code=200,
        content_type="text/csv; charset=utf-8",
        body=rows_to_csv([[str(cell) for cell in row] for row in found.get("rows", [])]),
        headers={**security_headers(), "Content-Disposition": f'attachment; filename="{name}"'},
    )


@app.get("/console/audit")
@_signed_in
def audit(visit: Visit) -> Response[str]:
    try:
        entries, cursor = audit_log().recent(
            visit.merchant.app_id, limit=50, before=app.current_event.get_query_string_value("before") or None
        )
    except ValueError:  # a cursor this log did not hand out
        raise PageError(400, "bad_form", "bad_form") from None
    rows = [
        {"when": china_time(e.at_ms), "actor": e.actor, "action": e.action, "target": e.target,
         "outcome": e.outcome, "source": e.ip}
        for e in entries
    ]  # fmt: skip
    next_url = visit.url("/audit", before=cursor) if cursor else None
    return _page(visit, "console/audit.html", entries=rows, next_url=next_url)


@app.get("/console/assets/<name>")
def asset(name: str) -> Response[str]:
    found = static_assets().get(name)
    if found is None or not name.startswith("console"):
        return Response(status_code=404, content_type="text/plain", body="not found", headers=security_headers())
    return Response(
        status_code=200,
        content_type=found.content_type,
        body=found.body.decode(),
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _error_page(None, PageError(404, "not_found", "not_found_text"))


@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    body = event.get("body") or ""
    if len(body) > 2 * MAX_FORM_BYTES:
        return {"statusCode": HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "headers": security_headers(), "body": ""}
    return app.resolve(event, context)
