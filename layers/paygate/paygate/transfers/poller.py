"""The poller: a pending payout or collection is polled until it is final, on a growing schedule.

The first round is one delayed SQS message (`FirstPollQueue`): BeilyPay's notify settles nearly
every order before it is due, and the FirstPoll function then finds the order final, so the state
machine never runs for it. An order still pending after that round gets the Step Functions poller:
`PollerStarter` starts `statemachines/poll_pending.asl.json` for it (one execution per order,
named after it: a second start is a no-op); `PendingPoller` is the task of both (one round: look
at the ledger, ask BeilyPay by its orderNo, settle through the TransferLedger, compute the next
wait). The schedule travels in
the execution input, so tests run it with one-second waits and production with 30 s doubling
to an hour until a 24 h deadline (arithmetic in docs/events.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from paygate.clock import now_ms
from paygate.credentials import BeilyPayCredentials
from paygate.errors import ProviderError
from paygate.models import Collection, OrderKind, Payout, ProviderState, TransferStatus
from paygate.providers.beilypay import BeilyPayClient, CollectionStatus, PayoutStatus
from paygate.store.transfers import Transfer, TransfersStore
from paygate.transfers.ledger import SettlementConflictError, TransferLedger

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)

DEFAULT_GROWTH = 4  # ×4: 8 polls and 26 transitions for a payout pending a whole day


@dataclass(frozen=True)
class PollSchedule:
    """First wait, growth factor, cap and deadline (seconds): the notify is the normal path, polls the backstop."""

    first_wait_s: int
    max_wait_s: int
    deadline_s: int
    growth: int = DEFAULT_GROWTH


def execution_name(kind: OrderKind, app_id: str, out_order_no: str) -> str:
    """Deterministic, so starting twice for one order is a no-op (at most 80 characters)."""
    return f"{kind.value}-{app_id}-{out_order_no}"


class PollState(BaseModel):
    """The state machine's data: execution input, and each PollPending task's output."""

    model_config = ConfigDict(extra="ignore")

    kind: Literal["payout", "collection"]
    app_id: str
    out_order_no: str
    wait_seconds: int = Field(ge=0, description="the next Wait state's duration (SecondsPath)")
    max_wait_seconds: int = Field(ge=1)
    # Absent in executions started before it existed: those keep doubling.
    growth: int = Field(default=2, ge=2, le=10, description="each wait is the last one times this, up to the cap")
    deadline_ms: int = Field(description="after this, a still-pending order is marked unknown")
    polls: int = 0
    action: Literal["poll", "expire"] = "poll"
    outcome: Literal["pending", "final", "expired"] = "pending"
    status: str | None = None

    @property
    def order_kind(self) -> OrderKind:
        return OrderKind(self.kind)


def initial_state(kind: OrderKind, transfer: Transfer, schedule: PollSchedule) -> PollState:
    """The execution input: derived from the stored order only, so a repeat start sends the same input."""
    return PollState(
        kind="payout" if kind is OrderKind.PAYOUT else "collection",
        app_id=transfer.app_id,
        out_order_no=transfer.out_order_no,
        wait_seconds=schedule.first_wait_s,
        max_wait_seconds=schedule.max_wait_s,
        growth=schedule.growth,
        deadline_ms=transfer.created_at_ms + schedule.deadline_s * 1000,
    )


class PollerStarter:
    """StartExecution for an order; never fails the caller (the notify and a repeat still settle it)."""

    def __init__(self, sfn: Any, state_machine_arn: str, schedule: PollSchedule) -> None:
        self._sfn = sfn
        self._arn = state_machine_arn
        self._schedule = schedule

    def start(self, kind: OrderKind, transfer: Transfer) -> bool:
        """True if an execution was started now; False if one exists (or could not be started)."""
        return self.start_state(initial_state(kind, transfer, self._schedule))

    def start_state(self, state: PollState, *, retryable: bool = False) -> bool:
        """The state machine from `state` on: it waits `state.wait_seconds`, then polls (FirstPoll's hand-over).

        With `retryable`, a failure to start raises (FirstPoll's record is then delivered again)
        instead of being logged and left to the notify.
        """
        if not self._arn:
            logger.warning("no poller state machine configured; relying on notifies")
            return False
        name = execution_name(state.order_kind, state.app_id, state.out_order_no)
        try:
            self._sfn.start_execution(
                stateMachineArn=self._arn,
                name=name,
                input=json.dumps(state.model_dump(mode="json"), sort_keys=True, separators=(",", ":")),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False  # the poller for this order is (or was) already running
            if retryable:
                raise
            logger.error("could not start the poller", extra={"execution": name, "error": str(error)})
            return False
        except BotoCoreError as error:
            if retryable:
                raise
            logger.error("could not start the poller", extra={"execution": name, "error": str(error)})
            return False
        return True

    def stop(self, kind: OrderKind, app_id: str, out_order_no: str) -> None:
        """End the order's poller once a notify settled it: every poll round costs 3 transitions.

        Best effort: a poller that cannot be stopped finds the order final at its next round.
        """
        if not self._arn:
            return
        name = execution_name(kind, app_id, out_order_no)
        execution_arn = self._arn.replace(":stateMachine:", ":execution:", 1) + ":" + name
        try:
            self._sfn.stop_execution(executionArn=execution_arn, cause="settled by the provider's notify")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                logger.warning("could not stop the poller", extra={"execution": name, "error": str(error)})
        except BotoCoreError as error:
            logger.warning("could not stop the poller", extra={"execution": name, "error": str(error)})


def next_wait(state: PollState, now: int) -> int:
    """Grow the last wait up to the cap, but never sleep past the deadline (one last poll there)."""
    grown = max(1, state.wait_seconds * state.growth)
    remaining = max(1, math.ceil((state.deadline_ms - now) / 1000))
    return min(grown, state.max_wait_seconds, remaining)


CredentialsOf = Callable[[str], BeilyPayCredentials | None]

MAX_SQS_DELAY_S = 900  # SQS's longest DelaySeconds: the cap of PollFirstWaitSeconds


class FirstPollQueue:
    """The first poll round of an order as one SQS message, visible after the first wait.

    Same contract as PollerStarter.start, so the create flow does not know which it has: never
    fails the caller (a lost first poll leaves the notify, a repeat and reconciliation).
    """

    def __init__(self, sqs: Any, queue_url: str, schedule: PollSchedule) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._schedule = schedule

    def start(self, kind: OrderKind, transfer: Transfer) -> bool:
        state = initial_state(kind, transfer, self._schedule)
        try:
            self._sqs.send_message(
                QueueUrl=self._url,
                MessageBody=state.model_dump_json(),
                DelaySeconds=min(state.wait_seconds, MAX_SQS_DELAY_S),
            )
        except (ClientError, BotoCoreError) as error:
            logger.error(
                "could not queue the first poll", extra={"out_order_no": transfer.out_order_no, "error": str(error)}
            )
            return False
        return True


class PendingPoller:
    """PollPending: one round of the poll loop for one order."""

    def __init__(
        self,
        store: TransfersStore,
        ledger: TransferLedger,
        beilypay: BeilyPayClient,
        credentials_of: CredentialsOf,
        *,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._beilypay = beilypay
        self._credentials_of = credentials_of
        self._clock = clock

    def run(self, state: PollState) -> PollState:
        """Dispatch on the task's action: a poll round, or the deadline's unknown transition."""
        if state.action == "expire":
            return self.expire(state)
        return self.poll(state)

    def poll(self, state: PollState) -> PollState:
        kind = state.order_kind
        transfer = self._store.get_transfer(kind, state.app_id, state.out_order_no)
        polls = state.polls + 1
        if transfer is None:
            logger.error("poller for an order that does not exist", extra={"out_order_no": state.out_order_no})
            return state.model_copy(update={"polls": polls, "outcome": "final", "status": "missing"})
        if transfer.status is not TransferStatus.PENDING:
            # Settled by a notify (or earlier poll); make sure its event went out, then stop.
            self._ledger.ensure_reported(kind, transfer)
            return self._final(state, polls, transfer)
        now = self._clock()
        if transfer.provider_state == ProviderState.CALLING.value:
            if transfer.lease_until_ms < now:  # the create call died with its function
                current = self._ledger.mark_unknown(
                    kind,
                    transfer.app_id,
                    transfer.out_order_no,
                    expected="stale",
                    reason="create_interrupted",
                    by="poller",
                )
                return self._final(state, polls, current or transfer)
        elif transfer.provider_order_no:
            settled = self._query_and_settle(kind, transfer)
            if settled is not None and settled.status is not TransferStatus.PENDING:
                return self._final(state, polls, settled)
        if now >= state.deadline_ms:
            return state.model_copy(update={"polls": polls, "outcome": "expired", "status": "pending"})
        return state.model_copy(
            update={"polls": polls, "outcome": "pending", "status": "pending", "wait_seconds": next_wait(state, now)}
        )

    def expire(self, state: PollState) -> PollState:
        """Deadline passed and BeilyPay still says pending: report the order as unknown."""
        kind = state.order_kind
        current = self._ledger.mark_unknown(
            kind, state.app_id, state.out_order_no, expected="created", reason="poll_deadline", by="poller"
        )
        status = current.status.value if current else "missing"
        return state.model_copy(update={"action": "poll", "outcome": "final", "status": status})

    def _final(self, state: PollState, polls: int, transfer: Transfer) -> PollState:
        return state.model_copy(update={"polls": polls, "outcome": "final", "status": transfer.status.value})

    def _query_and_settle(self, kind: OrderKind, transfer: Transfer) -> Transfer | None:
        creds = self._credentials_of(transfer.app_id)
        if creds is None:
            logger.error("app has no BeilyPay credentials; cannot poll", extra={"app_id": transfer.app_id})
            return None
        assert transfer.provider_order_no is not None
        try:
            if isinstance(transfer, Payout):
                return self._settle_payout(transfer, creds, transfer.provider_order_no)
            assert isinstance(transfer, Collection)
            return self._settle_collection(transfer, creds, transfer.provider_order_no)
        except ProviderError as error:
            # Transient or not, the next round asks again; the deadline bounds it.
            logger.warning("poll query failed", extra={"out_order_no": transfer.out_order_no, "error": str(error)})
            return None
        except SettlementConflictError as conflict:
            logger.error(
                "BeilyPay's answer conflicts with the ledger",
                extra={"security_event": True, "out_order_no": transfer.out_order_no, "reason": conflict.reason},
            )
            return None

    def _settle_payout(self, payout: Payout, creds: BeilyPayCredentials, order_no: str) -> Transfer | None:
        state = self._beilypay.query_payout(creds, order_no=order_no)
        if state.out_order_no != payout.out_order_no or state.amount != payout.amount:
            raise SettlementConflictError("query answer is for another order or amount", code="provider_mismatch")
        if state.status not in (PayoutStatus.SUCCEEDED, PayoutStatus.FAILED):
            return None
        return self._ledger.settle(
            OrderKind.PAYOUT,
            payout.app_id,
            payout.out_order_no,
            succeeded=state.status == PayoutStatus.SUCCEEDED,
            provider_order_no=order_no,
            by="poller",
            amount=payout.amount,
        ).transfer

    def _settle_collection(self, collection: Collection, creds: BeilyPayCredentials, order_no: str) -> Transfer | None:
        state = self._beilypay.query_collection(creds, order_no=order_no)
        if state.out_order_no != collection.out_order_no or state.amount != collection.amount:
            raise SettlementConflictError("query answer is for another order or amount", code="provider_mismatch")
        if state.status == CollectionStatus.PAID:
            paid = state.paid if state.paid is not None else state.amount
            succeeded = True
        elif state.status in (CollectionStatus.CREATE_FAILED, CollectionStatus.FAILED):
            paid, succeeded = 0, False
        else:
            return None
        return self._ledger.settle(
            OrderKind.COLLECTION,
            collection.app_id,
            collection.out_order_no,
            succeeded=succeeded,
            provider_order_no=order_no,
            by="poller",
            paid=paid,
        ).transfer
