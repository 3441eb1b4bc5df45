"""Payouts and collections in the orders table: same keys, GSI and conditional-write discipline.

Every method is one conditional write from the allowed previous state(s); a refused condition
raises TransitionRejectedError carrying what is stored, so the caller can tell a duplicate
(already in the wanted state) from a conflict.
"""

from __future__ import annotations

from typing import Any, Literal

from paygate.models import Collection, OrderKind, Payout, ProviderState, TransferStatus
from paygate.store.orders import OrdersStore, index_keys, order_pk

Transfer = Payout | Collection
TransferKind = Literal[OrderKind.PAYOUT, OrderKind.COLLECTION]

# What a transfer is waiting for when it goes to `unknown`:
#   calling - the create call's answer was lost (or our call broke off);
#   stale   - a create call's lease expired without a result (the function died mid-call);
#   created - BeilyPay accepted it but neither notify nor polling settled it before the deadline.
UnknownFrom = Literal["calling", "stale", "created"]


def transfer_from(kind: OrderKind, item: dict[str, Any]) -> Transfer:
    """The entity for a stored item of `kind`."""
    if kind is OrderKind.PAYOUT:
        return Payout.model_validate(item)
    return Collection.model_validate(item)


class TransfersStore(OrdersStore):
    """BeilyPay orders. One item per (kind, app, out_order_no); money states move only forward."""

    def put_new_transfer(self, kind: OrderKind, transfer: Transfer) -> None:
        """Insert, or raise AlreadyExistsError with the stored item."""
        item = {
            "pk": order_pk(kind, transfer.app_id, transfer.out_order_no),
            "kind": kind.value,
            **index_keys(kind, transfer.app_id, transfer.created_at_ms, transfer.out_order_no),
            **transfer.model_dump(mode="json"),
        }
        self._put_new(item)

    def get_transfer(
        self, kind: OrderKind, app_id: str, out_order_no: str, *, consistent: bool = True
    ) -> Transfer | None:
        item = self._get(order_pk(kind, app_id, out_order_no), consistent)
        return transfer_from(kind, item) if item else None

    def record_created(
        self,
        kind: OrderKind,
        app_id: str,
        out_order_no: str,
        *,
        provider_order_no: str,
        now_ms: int,
        trans_time: str | None = None,
        pay_url: str | None = None,
    ) -> Transfer:
        """BeilyPay accepted the create: keep its orderNo (the only key it can be queried by)."""
        sets = ["provider_state = :created", "provider_order_no = :order_no", "updated_at_ms = :now"]
        values: dict[str, Any] = {
            ":created": ProviderState.CREATED.value,
            ":calling": ProviderState.CALLING.value,
            ":order_no": provider_order_no,
            ":now": now_ms,
        }
        if trans_time is not None:
            sets.append("trans_time = :trans_time")
            values[":trans_time"] = trans_time
        if pay_url is not None:
            sets.append("pay_url = :pay_url")
            values[":pay_url"] = pay_url
        update = "SET " + ", ".join(sets) + " REMOVE lease_until_ms"
        return self._transfer_update(kind, app_id, out_order_no, update, "provider_state = :calling", values)

    def record_rejected(
        self, kind: OrderKind, app_id: str, out_order_no: str, *, code: str, message: str, now_ms: int
    ) -> Transfer:
        """BeilyPay definitely refused the create: failed, final, nothing moved."""
        return self._transfer_update(
            kind,
            app_id,
            out_order_no,
            "SET provider_state = :rejected, #status = :failed, failure_code = :code, failure_message = :msg, "
            "finished_at_ms = :now, updated_at_ms = :now REMOVE lease_until_ms",
            "provider_state = :calling AND #status = :pending",
            {
                ":rejected": ProviderState.REJECTED.value,
                ":calling": ProviderState.CALLING.value,
                ":failed": TransferStatus.FAILED.value,
                ":pending": TransferStatus.PENDING.value,
                ":code": code,
                ":msg": message,
                ":now": now_ms,
            },
        )

    def mark_unknown(
        self, kind: OrderKind, app_id: str, out_order_no: str, *, expected: UnknownFrom, reason: str, now_ms: int
    ) -> Transfer:
        """pending -> unknown, from exactly the provider state the caller observed."""
        condition = "#status = :pending AND provider_state = :state"
        values: dict[str, Any] = {
            ":unknown_status": TransferStatus.UNKNOWN.value,
            ":pending": TransferStatus.PENDING.value,
            ":reason": reason,
            ":now": now_ms,
        }
        if expected == "created":
            values[":state"] = ProviderState.CREATED.value
            update = (
                "SET #status = :unknown_status, unknown_reason = :reason, unknown_at_ms = :now, updated_at_ms = :now"
            )
        else:
            values[":state"] = ProviderState.CALLING.value
            values[":unknown_state"] = ProviderState.UNKNOWN.value
            update = (
                "SET #status = :unknown_status, provider_state = :unknown_state, unknown_reason = :reason, "
                "unknown_at_ms = :now, updated_at_ms = :now REMOVE lease_until_ms"
            )
            if expected == "stale":
                condition += " AND lease_until_ms < :now"
        return self._transfer_update(kind, app_id, out_order_no, update, condition, values)

    def finish(
        self,
        kind: OrderKind,
        app_id: str,
        out_order_no: str,
        *,
        succeeded: bool,
        provider_order_no: str,
        now_ms: int,
        amount: int | None = None,
        paid: int | None = None,
        pay_time: str | None = None,
        failure_code: str | None = None,
        failure_message: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> Transfer:
        """pending|unknown -> succeeded|failed, once, for BeilyPay's order (and amount, when given).

        `evidence` (reconciliation) is stored as `reconciled_by` in the same conditional write.

        A transfer BeilyPay refused at create time (provider_state rejected) can never be
        finished by a notify: that would be a forgery or a provider bug.
        """
        status = TransferStatus.SUCCEEDED if succeeded else TransferStatus.FAILED
        sets = [
            "#status = :status",
            "provider_state = :created",
            "provider_order_no = :order_no",
            "finished_at_ms = :now",
            "updated_at_ms = :now",
        ]
        values: dict[str, Any] = {
            ":status": status.value,
            ":pending": TransferStatus.PENDING.value,
            ":unknown": TransferStatus.UNKNOWN.value,
            ":created": ProviderState.CREATED.value,
            ":rejected": ProviderState.REJECTED.value,
            ":order_no": provider_order_no,
            ":now": now_ms,
        }
        condition = (
            "#status IN (:pending, :unknown) AND provider_state <> :rejected "
            "AND (attribute_not_exists(provider_order_no) OR provider_order_no = :order_no)"
        )
        if amount is not None:
            condition += " AND amount = :amount"
            values[":amount"] = amount
        if paid is not None:
            sets.append("paid = :paid")
            values[":paid"] = paid
        if pay_time is not None:
            sets.append("pay_time = :pay_time")
            values[":pay_time"] = pay_time
        if evidence is not None:
            sets.append("reconciled_by = :evidence")
            values[":evidence"] = evidence
        if not succeeded:
            sets += ["failure_code = :fcode", "failure_message = :fmsg"]
            values[":fcode"] = failure_code or f"{kind.value}_failed"
            values[":fmsg"] = failure_message or f"BeilyPay reported the {kind.value} as failed"
        update = "SET " + ", ".join(sets) + " REMOVE lease_until_ms"
        return self._transfer_update(kind, app_id, out_order_no, update, condition, values)

    def mark_published(self, kind: OrderKind, app_id: str, out_order_no: str, detail_type: str) -> None:
        """Remember that this state's event went out, so a poller need not publish it again."""
        self._transfer_update(
            kind, app_id, out_order_no, "SET published_event = :dt", "attribute_exists(pk)", {":dt": detail_type}
        )

    def _transfer_update(
        self, kind: OrderKind, app_id: str, out_order_no: str, update: str, condition: str, values: dict[str, Any]
    ) -> Transfer:
        return transfer_from(kind, self._update(order_pk(kind, app_id, out_order_no), update, condition, values))
