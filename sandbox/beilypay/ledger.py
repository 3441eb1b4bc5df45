"""In-memory state of the emulated BeilyPay: merchant apps, balances and orders."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sandbox.beilypay.config import BeilyPayAppConfig
from sandbox.beilypay.protocol import BeilyPayError, ErrorCode, now_ist, param_error

DUPLICATE_OUT_ORDER_NO = "outOrderNo duplicate"


class OrderKind(StrEnum):
    PAYOUT = "payout"  # 代付, /v2/trans/*
    COLLECTION = "collection"  # 代收, /v2/payment/*


class Status(IntEnum):
    CREATE_FAILED = 0  # collections only; the emulator never creates such orders
    PENDING = 1
    SUCCESS = 2
    FAILED = 3


class PayoutOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    MANUAL = "manual"  # stays pending until the control API completes it


def payout_outcome(account: str) -> PayoutOutcome:
    """Deterministic payout result from the beneficiary account number (documented in docs/sandbox.md)."""
    digits = account.strip()
    if digits.endswith("0000"):
        return PayoutOutcome.FAILURE
    if digits.endswith("9999"):
        return PayoutOutcome.MANUAL
    return PayoutOutcome.SUCCESS


@dataclass
class Order:
    """One payout or collection; amounts in paise, times IST wall clock."""

    kind: OrderKind
    order_no: str
    out_order_no: str
    app_id: int
    merchant_id: int
    pay_amount: int
    notify_url: str
    created_at: datetime
    status: Status = Status.PENDING
    paid: int | None = None
    finished_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)  # the validated request fields

    @property
    def finished(self) -> bool:
        return self.status in (Status.SUCCESS, Status.FAILED)

    def as_json(self) -> dict[str, Any]:
        """Full state for ``GET /_sandbox/orders/{orderNo}``."""
        return {
            "kind": self.kind.value,
            "orderNo": self.order_no,
            "outOrderNo": self.out_order_no,
            "appId": self.app_id,
            "merchantId": self.merchant_id,
            "payAmount": self.pay_amount,
            "paid": self.paid,
            "status": int(self.status),
            "notifyUrl": self.notify_url,
            "createdAt": self.created_at.isoformat(),
            "finishedAt": self.finished_at.isoformat() if self.finished_at else None,
            "details": dict(self.details),
        }


@dataclass
class Account:
    """A registered app with its merchant balance (paise) and recent request times (rate limit)."""

    config: BeilyPayAppConfig
    balance: int
    recent_requests: deque[float] = field(default_factory=deque)


class OrderNumbers:
    """Platform order numbers shaped like the real ones: yyMMdd + 3-digit node + 9-digit sequence."""

    def __init__(self) -> None:
        self._node = random.randint(100, 999)
        self._sequence = itertools.count(1)

    def next(self) -> str:
        return f"{now_ist():%y%m%d}{self._node}{next(self._sequence):09d}"


class Ledger:
    """All state, behind one lock: the server loop and in-process tests may both touch it."""

    def __init__(self, apps: list[BeilyPayAppConfig], default_rate_limit_per_s: int) -> None:
        self._lock = threading.RLock()
        self._accounts: dict[int, Account] = {}
        self._orders: dict[str, Order] = {}
        self._by_out_order_no: dict[tuple[int, OrderKind, str], str] = {}
        self._numbers = OrderNumbers()
        self.default_rate_limit_per_s = default_rate_limit_per_s
        for app in apps:
            self.register_app(app)

    # --- apps and balances ------------------------------------------------------------------------

    def register_app(self, app: BeilyPayAppConfig) -> bool:
        """Add or replace an app (orders are kept); True when it was new."""
        with self._lock:
            created = app.app_id not in self._accounts
            self._accounts[app.app_id] = Account(config=app, balance=app.balance)
            return created

    def apps(self) -> list[Account]:
        with self._lock:
            return list(self._accounts.values())

    def account(self, app_id: int) -> Account | None:
        with self._lock:
            return self._accounts.get(app_id)

    def set_balance(self, app_id: int, balance: int) -> Account:
        with self._lock:
            account = self._accounts.get(app_id)
            if account is None:
                raise BeilyPayError(ErrorCode.APP_NOT_EXIST)
            account.balance = balance
            return account

    def authenticate(self, app_id: int, merchant_id: int) -> Account:
        """The merchant must exist (10001) and own the app (10002)."""
        with self._lock:
            if not any(a.config.merchant_id == merchant_id for a in self._accounts.values()):
                raise BeilyPayError(ErrorCode.MERCHANT_NOT_EXIST)
            account = self._accounts.get(app_id)
            if account is None or account.config.merchant_id != merchant_id:
                raise BeilyPayError(ErrorCode.APP_NOT_EXIST)
            return account

    def check_rate(self, account: Account) -> None:
        """Sliding one-second window per app; 10006 beyond the limit (the request is not counted)."""
        limit = account.config.rate_limit_per_s or self.default_rate_limit_per_s
        now = time.monotonic()
        with self._lock:
            window = account.recent_requests
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                raise BeilyPayError(ErrorCode.TOO_FREQUENT)
            window.append(now)

    # --- orders -----------------------------------------------------------------------------------

    def create_order(
        self,
        account: Account,
        kind: OrderKind,
        *,
        out_order_no: str,
        pay_amount: int,
        notify_url: str,
        details: dict[str, Any],
    ) -> Order:
        """New pending order; a payout draws its amount from the balance up front (10005 if short)."""
        with self._lock:
            key = (account.config.app_id, kind, out_order_no)
            if key in self._by_out_order_no:
                raise param_error(DUPLICATE_OUT_ORDER_NO)
            if kind is OrderKind.PAYOUT:
                if account.balance < pay_amount:
                    raise BeilyPayError(ErrorCode.BALANCE_NOT_ENOUGH)
                account.balance -= pay_amount
            order = Order(
                kind=kind,
                order_no=self._numbers.next(),
                out_order_no=out_order_no,
                app_id=account.config.app_id,
                merchant_id=account.config.merchant_id,
                pay_amount=pay_amount,
                notify_url=notify_url,
                created_at=now_ist(),
                details=details,
            )
            self._orders[order.order_no] = order
            self._by_out_order_no[key] = order.order_no
            return order

    def orders(self) -> list[Order]:
        """Every order, oldest first."""
        with self._lock:
            return list(self._orders.values())

    def order(self, order_no: str) -> Order | None:
        with self._lock:
            return self._orders.get(order_no)

    def order_of(self, account: Account, kind: OrderKind, order_no: str) -> Order:
        """An order of this app and kind, else 10003 (other apps' orders do not exist for it)."""
        with self._lock:
            order = self._orders.get(order_no)
            if order is None or order.app_id != account.config.app_id or order.kind is not kind:
                raise BeilyPayError(ErrorCode.ORDER_NOT_EXIST)
            return order

    def finish(self, order: Order, status: Status, paid: int | None = None) -> Order:
        """Final state plus its balance effect; 10009 when the order already finished."""
        if status not in (Status.SUCCESS, Status.FAILED):
            raise param_error("status must be 2 or 3")
        with self._lock:
            if order.finished:
                raise BeilyPayError(ErrorCode.ORDER_FINISHED)
            account = self._accounts.get(order.app_id)
            order.status = status
            order.finished_at = now_ist()
            if order.kind is OrderKind.PAYOUT:
                if status is Status.FAILED and account is not None:
                    account.balance += order.pay_amount  # a failed payout gives the money back
            else:
                order.paid = (order.pay_amount if paid is None else paid) if status is Status.SUCCESS else 0
                if status is Status.SUCCESS and account is not None:
                    account.balance += order.paid
            return order

    def reset(self) -> None:
        """Forget every order; each app goes back to the balance it was registered with."""
        with self._lock:
            self._orders.clear()
            self._by_out_order_no.clear()
            for account in self._accounts.values():
                account.balance = account.config.balance
                account.recent_requests.clear()
