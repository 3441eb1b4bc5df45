"""The BeilyPay sandbox's payouts and collections on the ``/_sandbox`` page, and what its buttons do."""

from __future__ import annotations

from sandbox.beilypay.ledger import Order, OrderKind, Status
from sandbox.beilypay.protocol import BeilyPayError, paise_to_inr
from sandbox.beilypay.service import BeilyPayService
from sandbox.common.page import OrderBook, Row, Table

NOTES = (
    "Succeed and Fail finish a pending order as BeilyPay would and send its notify: a collection is "
    "paid in full, a failed payout returns its amount to the balance. Payouts to accounts ending "
    "9999 stay pending until finished here.",
)
_STATUS = {
    Status.CREATE_FAILED: "create failed",
    Status.PENDING: "pending",
    Status.SUCCESS: "success",
    Status.FAILED: "failed",
}


def _row(order: Order) -> Row:
    paid = "" if order.paid is None else f"INR {paise_to_inr(order.paid)}"
    return Row(
        kind=order.kind.value,
        key=order.order_no,
        cells=(
            str(order.app_id),
            order.order_no,
            order.out_order_no,
            f"INR {paise_to_inr(order.pay_amount)}",
            paid,
            _STATUS[order.status],
            order.created_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        ),
        actions=() if order.finished else ("succeed", "fail"),
        created=order.created_at.timestamp(),
    )


def beilypay_order_book(service: BeilyPayService) -> OrderBook:
    ledger = service.ledger
    columns = ("App", "Order", "Merchant order", "Amount", "Paid", "Status", "Created")

    def tables() -> list[Table]:
        orders = ledger.orders()
        return [
            Table("Payouts", columns, [_row(o) for o in orders if o.kind is OrderKind.PAYOUT]),
            Table("Collections", columns, [_row(o) for o in orders if o.kind is OrderKind.COLLECTION]),
        ]

    def act(kind: str, key: str, action: str) -> str:
        order = ledger.order(key)
        if order is None or order.kind.value != kind or action not in ("succeed", "fail"):
            raise ValueError(f"cannot {action or 'act on'} {kind or 'an order'} {key}")
        status = Status.SUCCESS if action == "succeed" else Status.FAILED
        try:
            if order.kind is OrderKind.PAYOUT:
                service.finish_payout(order, status)
            else:
                service.finish_collection(order, status, order.pay_amount if status is Status.SUCCESS else None)
        except BeilyPayError:
            raise ValueError(f"{kind} {key} already finished as {_STATUS[order.status]}") from None
        return f"{kind} {key} {'succeeded' if status is Status.SUCCESS else 'failed'}"

    return OrderBook(provider="BeilyPay", tables=tables, act=act, notes=NOTES)
