"""BeilyPay's business operations: create, query and finish orders, and send their signed notifies."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sandbox.beilypay.config import BeilyPayConfig
from sandbox.beilypay.ledger import (
    Account,
    Ledger,
    Order,
    OrderKind,
    PayoutOutcome,
    Status,
    payout_outcome,
)
from sandbox.beilypay.protocol import format_pay_time, format_trans_time, paise_to_inr
from sandbox.beilypay.signing import with_sign
from sandbox.common.notifier import Notifier

logger = logging.getLogger("sandbox.beilypay")


class BeilyPayService:
    """Owns the ledger, the payout completion timers and the notifier."""

    def __init__(self, config: BeilyPayConfig, ledger: Ledger, notifier: Notifier) -> None:
        self.config = config
        self.ledger = ledger
        self.notifier = notifier
        self._payout_timers: dict[str, asyncio.TimerHandle] = {}

    # --- payouts ----------------------------------------------------------------------------------

    def create_payout(self, account: Account, fields: dict[str, Any]) -> Order:
        """Debit the balance, then finish automatically after the payout delay unless the rule is manual."""
        order = self.ledger.create_order(
            account,
            OrderKind.PAYOUT,
            out_order_no=fields["outOrderNo"],
            pay_amount=fields["payAmount"],
            notify_url=fields["notifyUrl"],
            details=fields,
        )
        outcome = payout_outcome(fields["account"])
        order.details["outcome"] = outcome.value
        if outcome is not PayoutOutcome.MANUAL:
            status = Status.SUCCESS if outcome is PayoutOutcome.SUCCESS else Status.FAILED
            delay = self.config.payout_delay_s * self.config.time_scale
            loop = asyncio.get_running_loop()
            self._payout_timers[order.order_no] = loop.call_later(
                delay, self._finish_payout_on_schedule, order.order_no, status
            )
        logger.info("payout %s (%s) created: %s paise, outcome %s", order.order_no, order.out_order_no,
                    order.pay_amount, outcome.value)  # fmt: skip
        return order

    def finish_payout(self, order: Order, status: Status) -> Order:
        """Final payout state (balance refunded on failure) and its notify; 10009 if already final."""
        timer = self._payout_timers.pop(order.order_no, None)
        if timer is not None:
            timer.cancel()
        self.ledger.finish(order, status)
        self._notify_payout(order)
        return order

    def resume(self) -> None:
        """After a crash: re-arm the completion of every unfinished payout, resend unacked notifies."""
        loop = asyncio.get_running_loop()
        self._payout_timers.clear()  # handles of the dead loop
        for order in self.ledger.orders():
            outcome = order.details.get("outcome")
            if order.kind is not OrderKind.PAYOUT or order.finished or outcome in (None, PayoutOutcome.MANUAL.value):
                continue
            status = Status.SUCCESS if outcome == PayoutOutcome.SUCCESS.value else Status.FAILED
            delay = self.config.payout_delay_s * self.config.time_scale
            self._payout_timers[order.order_no] = loop.call_later(
                delay, self._finish_payout_on_schedule, order.order_no, status
            )
        self.notifier.resume()

    def _finish_payout_on_schedule(self, order_no: str, status: Status) -> None:
        self._payout_timers.pop(order_no, None)
        order = self.ledger.order(order_no)
        if order is not None and not order.finished:
            self.finish_payout(order, status)

    def _notify_payout(self, order: Order) -> None:
        assert order.finished_at is not None
        body = {
            "appId": order.app_id,
            "merchantId": order.merchant_id,
            "outOrderNo": order.out_order_no,
            "orderNo": order.order_no,
            "payAmount": order.pay_amount,
            "status": int(order.status),
            "payTime": format_pay_time(order.finished_at),
        }
        self.notifier.submit(ref=order.order_no, url=order.notify_url, body=self._signed(order, body))

    # --- collections ------------------------------------------------------------------------------

    def create_collection(self, account: Account, fields: dict[str, Any]) -> Order:
        """A pending collection; it is paid through its payUrl or the control API."""
        order = self.ledger.create_order(
            account,
            OrderKind.COLLECTION,
            out_order_no=fields["outOrderNo"],
            pay_amount=fields["payAmount"],
            notify_url=fields["notifyUrl"],
            details=fields,
        )
        logger.info("collection %s (%s) created: %s paise", order.order_no, order.out_order_no,
                    order.pay_amount)  # fmt: skip
        return order

    def finish_collection(self, order: Order, status: Status, paid: int | None = None) -> Order:
        """Final collection state (paid amount credited) and its notify; 10009 if already final."""
        self.ledger.finish(order, status, paid)
        if status is Status.SUCCESS or self.config.notify_on_collection_failure:
            self._notify_collection(order)
        return order

    def _notify_collection(self, order: Order) -> None:
        assert order.finished_at is not None
        body = {
            "outOrderNo": order.out_order_no,
            "orderNo": order.order_no,
            "paid": order.paid,
            "status": int(order.status),
            "payTime": format_pay_time(order.finished_at),
        }
        self.notifier.submit(ref=order.order_no, url=order.notify_url, body=self._signed(order, body))

    # --- response VOs (exactly the documented fields; null where unset) ---------------------------

    def trans_vo(self, order: Order) -> dict[str, Any]:
        """trans/create ``data``; transTime is when BeilyPay accepted the payout."""
        body = {**self._trans_order_fields(order), "transTime": format_trans_time(order.created_at)}
        return self._signed(order, body)

    def trans_order_vo(self, order: Order) -> dict[str, Any]:
        """trans/query ``data`` (no transTime, as documented)."""
        return self._signed(order, self._trans_order_fields(order))

    def pay_vo(self, order: Order, pay_url: str) -> dict[str, Any]:
        """payment/create ``data``."""
        body = {
            "outOrderNo": order.out_order_no,
            "payAmount": order.pay_amount,
            "payUrl": pay_url,
            "orderNo": order.order_no,
        }
        return self._signed(order, body)

    def payment_order_vo(self, order: Order) -> dict[str, Any]:
        """payment/query ``data``; paid and transTime stay null until the order is final."""
        body = {
            "outOrderNo": order.out_order_no,
            "paid": order.paid,
            "payAmount": order.pay_amount,
            "status": int(order.status),
            "orderNo": order.order_no,
            "transTime": format_trans_time(order.finished_at) if order.finished_at else None,
        }
        return self._signed(order, body)

    def account_vo(self, account: Account) -> dict[str, Any]:
        """merchant/accountInfo ``data``: balance in INR with two decimals (signed, though undocumented)."""
        body = {"merchantId": account.config.merchant_id, "settlementAmount": paise_to_inr(account.balance)}
        return with_sign(body, account.config.secret)

    @staticmethod
    def _trans_order_fields(order: Order) -> dict[str, Any]:
        return {
            "appId": order.app_id,
            "merchantId": order.merchant_id,
            "outOrderNo": order.out_order_no,
            "payAmount": order.pay_amount,
            "status": int(order.status),
            "orderNo": order.order_no,
        }

    def _signed(self, order: Order, body: dict[str, Any]) -> dict[str, Any]:
        account = self.ledger.account(order.app_id)
        assert account is not None, "apps are never removed"
        return with_sign(body, account.config.secret)

    # --- lifecycle --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Cancel pending payout timers and forget all orders (balances back to registration)."""
        self.cancel_timers()
        self.ledger.reset()

    def cancel_timers(self) -> None:
        for timer in self._payout_timers.values():
            timer.cancel()
        self._payout_timers.clear()
