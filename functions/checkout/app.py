"""Hosted checkout: the merchant's session API (API key) and the payer's page (the session's token).

    POST /checkout/sessions            create a session (Idempotency-Key like every create)
    GET  /checkout/sessions/{id}       the merchant reads it
    GET  /pay/{token}                  the payment page (HTML)
    POST /pay/{token}/channels/{ch}    the payer picks a channel: its bill, then the page shows how to pay
    GET  /pay/{token}/status           the page asks whether it is paid (JSON)
    GET  /pay/assets/{name}            the page's stylesheet and script

Page routes take no API key: the token in the URL is the payer's only credential, and it opens
this one session's page and state, nothing else (docs/checkout.md).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.creates import IdempotencyKey, answer_create, create_answers, metrics
from paygate.api.http import answers, build_resolver, current_app, handle, json_response, public_base_url
from paygate.checkout.page import channels_for_device, payment_for, strings_for, yuan
from paygate.checkout.requests import CHECKOUT_CHANNELS, CreateCheckoutSessionRequest
from paygate.checkout.sessions import RETURNED_FROM_CASHIER
from paygate.checkout.signing import signed_return_url
from paygate.clock import iso_from_ms, now_ms
from paygate.credentials import require_checkout_secret
from paygate.deps import bill_follow_up_scheduler, checkout_service
from paygate.errors import ForbiddenError, NotFoundError, PaygateError
from paygate.models import App, CheckoutSession, CheckoutStatus, Created
from paygate.payments.refresh import needs_follow_up
from paygate.settings import get_settings
from paygate.tracing import traced
from paygate.views import CheckoutSessionView, checkout_session_view
from paygate.web.devices import is_phone
from paygate.web.i18n import Language, negotiate
from paygate.web.limits import KeyedRateLimit
from paygate.web.pages import render, security_headers, static_assets

logger = Logger()
app = build_resolver()

PAGE_PREFIX = "/pay/"
# One page polls every 2 s; a little more is allowed (two tabs), a script hammering it is not.
status_polls = KeyedRateLimit(rate=1.0, burst=10)
Token = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{43}$")]


@app.post(
    "/checkout/sessions",
    summary="Create a checkout session",
    description="A hosted payment page for one amount: the payer picks one of the channels offered and pays; "
    "the session completes with the first paid bill, and the payer is sent back to return_url with a "
    "signature. Send an Idempotency-Key to make retries safe (each request without one is a new session).",
    responses=create_answers(CheckoutSessionView, 400, 409, 413, 415),
    tags=["checkout"],
)
def create_session(
    request: Annotated[CreateCheckoutSessionRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    base = _base()

    def create(caller: App) -> Created[CheckoutSession]:
        require_checkout_secret(caller)  # no session the merchant could not verify the return of
        return checkout_service().create(caller, request, base)

    return answer_create(app, "checkout_session", "new", request, idempotency_key, create, checkout_session_view)


@app.get(
    "/checkout/sessions/<session_id>",
    summary="Get a checkout session",
    responses=answers(CheckoutSessionView, "The session", 404),
    tags=["checkout"],
)
def get_session(session_id: Annotated[str, Path(pattern=r"^cs_[0-9a-f]{24}$")]) -> Response[str]:
    caller = current_app(app)
    return json_response(200, checkout_session_view(checkout_service().get(caller.app_id, session_id)))


def _base() -> str:
    """Where the page is reached: the configured domain, else the one API Gateway was called on."""
    return public_base_url(app, get_settings().public_base_url)


def _html(body: str, status: int = 200, *, form_targets: list[str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=body,
        # The page differs by language and device; no cache keeps it (no-store), but a proxy is told why.
        headers={**security_headers(form_targets=form_targets or []), "Vary": "Accept-Language, User-Agent"},
    )


def _language() -> Language:
    return negotiate(app.current_event.headers.get("Accept-Language"))


def _asset_urls(base: str) -> dict[str, list[str]]:
    assets = static_assets()
    css, js = assets["checkout.css"], assets["checkout.js"]
    return {
        "stylesheets": [f"{base}{PAGE_PREFIX}assets/{css.name}?v={css.version}"],
        "scripts": [f"{base}{PAGE_PREFIX}assets/{js.name}?v={js.version}"],
    }


def _missing() -> Response[str]:
    language = _language()
    base = _base()
    body = render("checkout/missing.html", language=language, t=strings_for(language), **_asset_urls(base))
    return _html(body, 404)


def return_to(session: CheckoutSession) -> str | None:
    """Where a paid session sends the payer: return_url, signed for the merchant (paygate.checkout.signing)."""
    if session.status is not CheckoutStatus.COMPLETE:
        return None
    secret = require_checkout_secret(checkout_service().merchant(session))
    return signed_return_url(session.return_url, secret, session.session_id, now_ms() // 1000)


def _page(token: str, session: CheckoutSession, channel: str | None = None, *, failed: bool = False) -> Response[str]:
    service = checkout_service()
    language = _language()
    strings = strings_for(language)
    base = _base()
    payment = None
    if session.status is CheckoutStatus.OPEN and channel in session.bills:
        bill = service.bill(session, channel)
        payment = payment_for(bill, strings) if bill else None
    body = render(
        "checkout/page.html",
        language=language,
        t=strings,
        merchant=service.merchant(session).name,
        title=session.title,
        amount=yuan(session.total_fee),
        state=session.status.value,
        status_url=f"{base}{PAGE_PREFIX}{token}/status",
        return_to=return_to(session),
        payment=payment,
        notice=strings["channel_failed"] if failed else None,
        channels=[
            {"code": code, "label": strings[code], "action": f"{base}{PAGE_PREFIX}{token}/channels/{code}"}
            for code in channels_for_device(session.channels, phone=is_phone(app.current_event.headers))
        ],
        expires_at=iso_from_ms(session.expires_at_ms),
        expires_at_text=iso_from_ms(session.expires_at_ms)[:16].replace("T", " ") + " UTC",
        **_asset_urls(base),
    )
    return _html(body, form_targets=payment.form_targets if payment else [])


@app.get("/pay/<token>", include_in_schema=False)
def page(token: Token) -> Response[str]:
    service = checkout_service()
    session = service.for_page(token)
    if session is None:
        return _missing()
    session = service.refresh(session)
    returning = app.current_event.get_query_string_value(RETURNED_FROM_CASHIER) == "1"
    onward = return_to(session)
    if returning and onward:  # back from the cashier, and paid: on to the merchant, as the cashier meant
        return Response(status_code=303, headers={"Location": onward, **security_headers()}, body="")
    shown = app.current_event.get_query_string_value("channel")
    return _page(token, session, shown if shown in CHECKOUT_CHANNELS else None)


@app.post("/pay/<token>/channels/<channel>", include_in_schema=False)
def choose_channel(token: Token, channel: str) -> Response[str]:
    if not _same_origin():
        raise ForbiddenError("a channel is chosen on the payment page itself", code="cross_site_request")
    service = checkout_service()
    session = service.for_page(token)
    if session is None:
        return _missing()
    session = service.refresh(session)
    if session.status is CheckoutStatus.OPEN:
        started_ms = now_ms()
        try:
            _, bill = service.choose(session, channel)
        except PaygateError as error:
            logger.info("channel refused", extra={"error_code": error.code, "session_id": session.session_id})
            return _page(token, session, failed=True)
        scheduler = bill_follow_up_scheduler()
        if scheduler is not None and needs_follow_up(bill, started_ms):
            scheduler.start(bill)  # as for any bill: a lost webhook is settled within minutes
    base = _base()
    location = f"{base}{PAGE_PREFIX}{token}?{urlencode({'channel': channel})}"
    return Response(status_code=303, headers={"Location": location, **security_headers()}, body="")


@app.get("/pay/<token>/status", include_in_schema=False)
def status(token: Token) -> Response[str]:
    wait = status_polls.retry_after(token)
    if wait is not None:
        return Response(
            status_code=429,
            content_type="application/json",
            body=json.dumps({"error": {"code": "rate_limited", "message": "too many status requests"}}),
            headers={"Retry-After": str(wait), **security_headers()},
        )
    service = checkout_service()
    session = service.for_page(token)
    if session is None:
        raise NotFoundError("no such checkout session", code="checkout_session_not_found")
    session = service.refresh(session)
    body = {"status": session.status.value, "return_to": return_to(session)}
    return Response(
        status_code=200,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=security_headers(),
    )


@app.get("/pay/assets/<name>", include_in_schema=False)
def asset(name: str) -> Response[str]:
    found = static_assets().get(name)
    if found is None:
        raise NotFoundError("no such file", code="not_found")
    return Response(
        status_code=200,
        content_type=found.content_type,
        body=found.body.decode(),
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


def _same_origin() -> bool:
    """A form post from our own page: browsers send Sec-Fetch-Site (or Origin) on every POST."""
    headers = app.current_event.headers
    site = headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site form (browsers send Origin on every POST)
    ours = urlsplit(_base())
    return bool(origin == f"{ours.scheme}://{ours.netloc}")


@traced
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any] | None:
    if "detail-type" in event:
        bill_paid(event)
        return None
    if "Records" in event:
        return dict(
            process_partial_response(event=event, record_handler=expiry_timer, processor=processor, context=context)
        )
    is_page = str(event.get("resource") or "").startswith(PAGE_PREFIX)
    return handle(app, event, context, authenticated=not is_page)


processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def expiry_timer(record: SQSRecord) -> None:
    """A session's expiry timer (CheckoutExpiryQueue): expire it when due, else wait again."""
    try:
        target = json.loads(record.body)
        app_id, session_id = str(target["app_id"]), str(target["session_id"])
    except (ValueError, KeyError, TypeError):
        logger.error("unreadable expiry timer dropped", extra={"message_id": record.message_id})
        return
    session = checkout_service().on_timer(app_id, session_id)
    logger.info("expiry timer", extra={"session_id": session_id, "status": session.status if session else None})


def bill_paid(event: dict[str, Any]) -> None:
    """bill.succeeded of a checkout bill, from the paygate bus: complete its session (or report an
    extra payment) even when no page is open any more. A failure is raised: EventBridge retries."""
    detail = event.get("detail") or {}
    data = detail.get("data") or {}
    session_id = (data.get("optional") or {}).get("checkout_session")
    if not isinstance(session_id, str) or not isinstance(data.get("bill_no"), str):
        logger.warning("bill event without a checkout session ignored")
        return
    session = checkout_service().on_bill_paid(str(detail.get("app_id")), session_id, data["bill_no"])
    logger.info(
        "checkout bill paid",
        extra={"session_id": session_id, "bill_no": data["bill_no"], "status": session.status if session else None},
    )
