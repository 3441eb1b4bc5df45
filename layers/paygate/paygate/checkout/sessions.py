"""Checkout sessions: created by the merchant (API key), read by the merchant and by the page (token).

A session is one amount the payer settles on any of the channels offered. Its page URL carries a
random token (256 bits): whoever holds the URL can pay the session and see its state, nothing
else. Expiry is checked on every read, so a page never offers to pay a session whose time is up.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlencode

from paygate.bus import EventPublisher
from paygate.checkout.expiry import ExpiryTimer
from paygate.checkout.requests import CreateCheckoutSessionRequest
from paygate.clock import now_ms
from paygate.credentials import BeeCloudCredentials
from paygate.errors import ConflictError, NotFoundError
from paygate.events import checkout_extra_payment, checkout_session_event
from paygate.models import App, Bill, BillStatus, CheckoutSession, CheckoutStatus, Created
from paygate.payments.bills import BillService
from paygate.payments.requests import CreateBillRequest
from paygate.providers.limits import RETURN_URL_REQUIRED
from paygate.store.checkout import CheckoutStore
from paygate.store.orders import OrdersStore


class Merchants(Protocol):
    """The merchant a session belongs to (its name on the page, its BeeCloud account)."""

    def get(self, app_id: str) -> App | None: ...


def new_session_id() -> str:
    return "cs_" + secrets.token_hex(12)


def new_page_token() -> str:
    return secrets.token_urlsafe(32)


#: The channels whose cashier sends the payer back to a return_url.
CASHIER_CHANNELS = RETURN_URL_REQUIRED | {"ALI_WAP"}

#: The page's query flag for a payer coming back from a provider's cashier: once the session is
#: paid, such a visit goes straight on to the merchant (a later visit shows the paid page).
RETURNED_FROM_CASHIER = "returned"


def cashier_return_url(session: CheckoutSession, channel: str) -> str:
    """Where the provider's cashier sends the payer after paying: this session's page, for that channel."""
    return f"{session.url}?{urlencode({'channel': channel, RETURNED_FROM_CASHIER: '1'})}"


class CheckoutService:
    def __init__(
        self,
        store: CheckoutStore,
        orders: OrdersStore,
        bills: BillService,
        apps: Merchants,
        credentials: Callable[[App], BeeCloudCredentials],
        publisher: EventPublisher,
        expiry_timer: ExpiryTimer | None = None,
        *,
        clock: Callable[[], int] = now_ms,
        new_id: Callable[[], str] = new_session_id,
        new_token: Callable[[], str] = new_page_token,
    ) -> None:
        self._store = store
        self._orders = orders
        self._bills = bills
        self._apps = apps
        self._credentials = credentials
        self._publisher = publisher
        self._expiry_timer = expiry_timer
        self._clock = clock
        self._new_id = new_id
        self._new_token = new_token

    def create(self, app: App, request: CreateCheckoutSessionRequest, page_base_url: str) -> Created[CheckoutSession]:
        """Always a new session: repeats are recognised by the Idempotency-Key, as for every create."""
        now = self._clock()
        token = self._new_token()
        session = CheckoutSession(
            app_id=app.app_id,
            session_id=self._new_id(),
            url=f"{page_base_url}/pay/{token}",
            total_fee=request.total_fee,
            title=request.title,
            channels=list(request.channels),
            return_url=request.return_url,
            bill_no_prefix=request.bill_no_prefix,
            metadata=request.metadata,
            status=CheckoutStatus.OPEN,
            request_hash=request.fingerprint(),
            created_at_ms=now,
            expires_at_ms=now + request.expires_in * 1000,
        )
        self._store.create(session, token)
        if self._expiry_timer is not None:
            self._expiry_timer.start(session, now)
        return Created(order=session, created=True)

    def on_timer(self, app_id: str, session_id: str) -> CheckoutSession | None:
        """The expiry timer fired: expire the session if its time is up, else wait again."""
        session = self._store.get(app_id, session_id)
        if session is None:
            return None
        session = self._expire_if_due(session)
        if session.status is CheckoutStatus.OPEN and self._expiry_timer is not None:
            self._expiry_timer.start(session, self._clock())
        return session

    def get(self, app_id: str, session_id: str) -> CheckoutSession:
        session = self._store.get(app_id, session_id)
        if session is None:
            raise NotFoundError("no such checkout session for this app", code="checkout_session_not_found")
        return self._expire_if_due(session)

    def for_page(self, token: str) -> CheckoutSession | None:
        """The session a page URL names, its expiry applied; None for a token that names none."""
        session = self._store.by_token(token)
        return None if session is None else self._expire_if_due(session)

    def merchant(self, session: CheckoutSession) -> App:
        app = self._apps.get(session.app_id)
        if app is None:
            raise NotFoundError("no such checkout session", code="checkout_session_not_found")
        return app

    def choose(self, session: CheckoutSession, channel: str) -> tuple[CheckoutSession, Bill]:
        """The channel's bill for this session, created on the first choice and the same one after.

        Its number is fixed per session and channel, so a repeated or concurrent choice finds the
        bill already made (BillService answers the identical repeat), and switching channel starts
        another bill without touching the first: whichever is paid first completes the session.
        """
        if channel not in session.channels:
            raise NotFoundError("this session does not offer that channel", code="channel_not_offered")
        if session.status is not CheckoutStatus.OPEN:
            raise ConflictError("this checkout session is no longer open", code="checkout_session_closed")
        app = self.merchant(session)
        request = CreateBillRequest.model_validate(
            {
                "bill_no": session.bill_no_for(channel),
                "channel": channel,
                "total_fee": session.total_fee,
                "title": session.title,
                "optional": {"checkout_session": session.session_id},
                # The payer comes back to this page from the provider's cashier.
                **({"return_url": cashier_return_url(session, channel)} if channel in CASHIER_CHANNELS else {}),
            }
        )
        # Recorded on the session first: a bill that exists is always one the session knows, so its
        # payment can never go unnoticed, even if this call dies right after creating it.
        recorded = self._store.record_bill(session, channel, request.bill_no)
        if recorded is None:
            raise ConflictError("this checkout session is no longer open", code="checkout_session_closed")
        bill = self._bills.create(app, self._credentials(app), request).order
        return recorded, bill

    def bill(self, session: CheckoutSession, channel: str) -> Bill | None:
        bill_no = session.bills.get(channel)
        return self._orders.get_bill(session.app_id, bill_no) if bill_no else None

    def refresh(self, session: CheckoutSession) -> CheckoutSession:
        """Completes the session if one of its bills was paid (the page asks while it waits)."""
        if session.status is not CheckoutStatus.COMPLETE:
            for bill_no in session.bills.values():
                bill = self._orders.get_bill(session.app_id, bill_no)
                if bill is not None and bill.status is BillStatus.SUCCEEDED:
                    return self.bill_paid(session, bill)
        return self._announce(session)

    def bill_paid(self, session: CheckoutSession, bill: Bill) -> CheckoutSession:
        """A bill of this session was paid: the first completes it; any other is an extra payment.

        Both can happen (two tabs, two channels, both paid; no provider lets us cancel a bill the
        payer may be paying at that moment). The extra one is never kept silently: it is announced
        as checkout.session.extra_payment, for the merchant to refund (docs/checkout.md).
        """
        if session.status is not CheckoutStatus.COMPLETE:
            completed = self._store.complete(session, bill.bill_no, self._clock())
            session = completed or self._store.get(session.app_id, session.session_id) or session
        if session.paid_bill_no not in (None, bill.bill_no):
            self._publisher.publish(checkout_extra_payment(session, bill))
        return self._announce(session)

    def on_bill_paid(self, app_id: str, session_id: str, bill_no: str) -> CheckoutSession | None:
        """bill.succeeded of a checkout bill (from the bus): the same as the page's refresh, for a
        payer who closed the page. None if the session or the bill is not there (nothing to do)."""
        session = self._store.get(app_id, session_id)
        bill = self._orders.get_bill(app_id, bill_no)
        if session is None or bill is None or bill.status is not BillStatus.SUCCEEDED:
            return None
        if bill_no not in session.bills.values():
            return None  # not one of this session's bills: its optional was forged by a caller
        return self.bill_paid(session, bill)

    def _announce(self, session: CheckoutSession) -> CheckoutSession:
        """Publishes the session's final event if it has not gone out yet (same id every time)."""
        event = checkout_session_event(session)
        if event is None or session.event_published:
            return session
        self._publisher.publish(event)
        self._store.mark_event_published(session)
        return session.model_copy(update={"event_published": True})

    def _expire_if_due(self, session: CheckoutSession) -> CheckoutSession:
        now = self._clock()
        if session.status is not CheckoutStatus.OPEN or now < session.expires_at_ms:
            return session
        expired = self._store.mark_expired(session, now)
        # None: something else changed it first (paid, or expired by another reader): read it again.
        return self._announce(expired or self._store.get(session.app_id, session.session_id) or session)
