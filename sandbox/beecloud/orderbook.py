"""The BeeCloud sandbox's bills and refunds on the ``/_sandbox`` page, and what its buttons do."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.beecloud.service import BeeCloudEmulator
from sandbox.beecloud.state import Bill, Refund
from sandbox.common.page import OrderBook, Row, Table

NOTES = (
    "A BeeCloud bill has no failed state: an unpaid bill simply stays unpaid and BeeCloud sends no "
    "webhook for it, so bills offer Pay only. Refunds offer Succeed and Fail (only a successful "
    "refund sends a webhook).",
)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _bill_row(bill: Bill) -> Row:
    return Row(
        kind="bill",
        key=f"{bill.app_id} {bill.bill_no}",
        cells=(
            bill.app_id,
            bill.bill_no,
            bill.channel,
            bill.request.title,
            _yuan(bill.request.total_fee),
            "paid" if bill.paid else "unpaid",
            _when(bill.created_ms),
        ),
        actions=() if bill.paid else ("pay",),
        created=bill.created_ms / 1000,
    )


def _refund_row(refund: Refund) -> Row:
    return Row(
        kind="refund",
        key=f"{refund.app_id} {refund.refund_no}",
        cells=(
            refund.app_id,
            refund.refund_no,
            refund.bill.bill_no,
            refund.bill.channel,
            _yuan(refund.refund_fee),
            refund.status.value.lower(),
            _when(refund.created_ms),
        ),
        actions=() if refund.finished else ("succeed", "fail"),
        created=refund.created_ms / 1000,
    )


def beecloud_order_book(emulator: BeeCloudEmulator) -> OrderBook:
    store = emulator.store

    def tables() -> list[Table]:
        return [
            Table(
                "Bills",
                ("App", "Bill", "Channel", "Title", "Amount", "Status", "Created"),
                [_bill_row(bill) for bill in list(store.bills.values())],
            ),
            Table(
                "Refunds",
                ("App", "Refund", "Bill", "Channel", "Amount", "Status", "Created"),
                [_refund_row(refund) for refund in list(store.refunds.values())],
            ),
        ]

    def act(kind: str, key: str, action: str) -> str:
        app_id, _, number = key.partition(" ")
        if kind == "bill" and action == "pay":
            bill = store.get_bill(app_id, number)
            if bill is None:
                raise ValueError(f"no bill {number}")
            if not emulator.pay(bill):
                raise ValueError(f"bill {number} is already paid")
            return f"bill {number} paid; its webhook is on its way"
        if kind == "refund" and action in ("succeed", "fail"):
            refund = store.get_refund(app_id, number)
            if refund is None:
                raise ValueError(f"no refund {number}")
            if not emulator.finish_refund(refund, action == "succeed"):
                raise ValueError(f"refund {number} already finished as {refund.status.value.lower()}")
            return f"refund {number} {'succeeded; its webhook is on its way' if action == 'succeed' else 'failed'}"
        raise ValueError(f"cannot {action} a {kind or 'nothing'}")

    return OrderBook(provider="BeeCloud", tables=tables, act=act, notes=NOTES)
