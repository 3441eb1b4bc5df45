"""An order's history: what happened to it, one entry per fact, for the console's timeline.

The ledger keeps an order's current state; its history keeps how it got there: the provider's
answer at create time, every notification received for it (accepted or refused, and why), every
status change (and what made it), every event published for it. Entries are appended by the
domain code right after the fact they record (`OrderHistory.record`) and never change.

History is best effort: recording never raises, so a history that cannot be written never fails,
delays a retry of, or rolls back the money operation it describes. Entries that a caller can
repeat at will (refused or repeated notifications, republished events) are capped per order and
day (`DAILY_CAP`), so a flood cannot grow the history without bound (docs/history.md).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from paygate.errors import CallbackRejectedError, ProviderError, ProviderRejectedError, failure_code
from paygate.models import CallbackResult, OrderKind

# What an entry says happened (`HistoryEntry.what`).
PROVIDER_CREATED = "provider.created"  # the provider accepted the create (or a re-send)
PROVIDER_REJECTED = "provider.rejected"  # the provider definitely refused it: {"code", "provider_code"}
PROVIDER_UNKNOWN = "provider.unknown"  # its answer was lost: {"reason"}
CALLBACK_ACCEPTED = "callback.accepted"  # {"source", "outcome": applied|duplicate|ignored, "changed"}
CALLBACK_REFUSED = "callback.refused"  # {"source", "reason"}
EVENT_PUBLISHED = "event.published"  # {"event_type", "event_id"}
STATUS_PREFIX = "status."  # status.<new status>: {"by"}

Detail = dict[str, str | int | bool]

# What moved an order: its create call, a provider's notification, a refresh (the API's or the
# console's), a bill's follow-up, the payout/collection poller, or the daily reconciliation.
ChangedBy = Literal["create", "callback", "refresh", "follow_up", "poller", "reconciliation"]

# At most this many entries of each capped group per order and China day.
DAILY_CAP = 20
KEEP_DAYS = 400

# Within one millisecond, entries sort in the order the facts happen.
_RANK = {"provider": 0, "callback": 1, "status": 2, "event": 3}


class HistoryEntry(BaseModel):
    """One fact about one order; `detail` holds codes and numbers, never a secret or personal data."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    kind: OrderKind
    order_no: str
    at_ms: int
    what: str
    detail: Detail = Field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[int, int]:
        return self.at_ms, _RANK.get(self.what.split(".", 1)[0], len(_RANK))


def status_changed(status: str) -> str:
    """The `what` of a status change: status.succeeded, status.failed, status.unknown."""
    return f"{STATUS_PREFIX}{status}"


def provider_refusal(error: ProviderError) -> Detail:
    """A definite refusal's detail: our stable code, and the provider's own when it answered one."""
    detail: Detail = {"code": failure_code(error)}
    if isinstance(error, ProviderRejectedError):
        detail["provider_code"] = error.code
    return detail


def cap_group(what: str, detail: Detail) -> str | None:
    """The daily counter an entry counts against; None for facts that happen once per order.

    Refusals can be sent by anyone who knows an order number; repeats of an accepted notification
    by anyone who captured one; a final event is published again on every repeat and refresh.
    """
    if what == CALLBACK_REFUSED:
        return "refusals"
    if what == CALLBACK_ACCEPTED and detail.get("outcome") != "applied":
        return "repeats"
    if what == EVENT_PUBLISHED:
        return "events"
    return None


class OrderHistory(Protocol):
    """The port: the domain services record, the console reads."""

    def record(
        self,
        app_id: str,
        kind: OrderKind,
        order_no: str,
        what: str,
        detail: Detail | None = None,
        *,
        at_ms: int | None = None,
    ) -> None:
        """Append one entry (at `at_ms`, else now); never raises."""

    def entries(self, app_id: str, kind: OrderKind, order_no: str, limit: int = 200) -> list[HistoryEntry]:
        """The order's entries, oldest first."""

    def collected(self) -> AbstractContextManager[None]:
        """Entries recorded inside are written together when it ends (however it ends): one request."""


class NoHistory:
    """Where no history table is configured: nothing is recorded, nothing is read."""

    def record(
        self,
        app_id: str,
        kind: OrderKind,
        order_no: str,
        what: str,
        detail: Detail | None = None,
        *,
        at_ms: int | None = None,
    ) -> None:
        return None

    def entries(self, app_id: str, kind: OrderKind, order_no: str, limit: int = 200) -> list[HistoryEntry]:
        return []

    def collected(self) -> AbstractContextManager[None]:
        return nullcontext()


NO_HISTORY = NoHistory()


def record_callback(history: OrderHistory, source: str, app_id: str, result: CallbackResult, *, at_ms: int) -> None:
    """An accepted notification, in the history of the order it named (if the ledger has it)."""
    if result.kind is None or result.order_no is None:
        return
    detail: Detail = {"source": source, "outcome": result.outcome, "changed": result.outcome == "applied"}
    history.record(app_id, result.kind, result.order_no, CALLBACK_ACCEPTED, detail, at_ms=at_ms)


def record_refusal(
    history: OrderHistory,
    source: str,
    app_id: str,
    order: tuple[OrderKind, str] | None,
    rejected: CallbackRejectedError,
    *,
    at_ms: int,
) -> None:
    """A refused notification, in the history of the order it named if the ledger has it: never the
    payload (its signature, the payer's details), only why it was refused."""
    if order is None:
        return
    history.record(app_id, *order, CALLBACK_REFUSED, {"source": source, "reason": rejected.code}, at_ms=at_ms)
