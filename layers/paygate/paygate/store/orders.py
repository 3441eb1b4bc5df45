"""The orders ledger: one item per merchant order, every change a conditional write.

Keys: `pk` = KIND#app#order_no (one merchant order is one item, never one hot partition per
merchant); GSI `by-app-created` (keys only) on gsi1pk = app#kind#shard, gsi1sk = created_ms#order_no
serves lists. An index partition takes at most 1,000 writes a second, so each merchant's orders of
one kind are spread over INDEX_SHARDS partitions by a hash of the order number, and a list page
merges the shards newest first. Since a page reads every shard, one index partition would also cap
a merchant's list pages (3,000 read units a second); `by-app-created-copy` holds the same keys and
pages alternate between the two (docs/performance.md "Capacity per merchant").
"""

from __future__ import annotations

import hashlib
import itertools
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from paygate.errors import ServiceUnavailableError
from paygate.models import Bill, BillStatus, OrderKind, ProviderState, Refund, RefundStatus
from paygate.store.cursors import InvalidCursorError, encode_cursor
from paygate.store.cursors import decode_cursor as decode_cursor_fields
from paygate.store.items import from_item, to_item, to_values

GSI_NAME = "by-app-created"
# Same key schema, so DynamoDB fills it from the same writes (one more small write per create).
GSI_COPY_NAME = "by-app-created-copy"
LIST_INDEXES = (GSI_NAME, GSI_COPY_NAME)
# A stack updated to add the copy answers ValidationException while DynamoDB backfills it.
_COPY_RETRY_AFTER_S = 300.0
_BATCH_GET_MAX = 100  # DynamoDB's limit per BatchGetItem
_TRANSACT_GET_MAX = 100  # DynamoDB's limit per TransactGetItems
_SNAPSHOT_ATTEMPTS = 3
_BATCH_GET_ATTEMPTS = 5
_FILTERED_CHUNK = 25
# 16 x 1,000 writes/s per merchant and kind. Changing it re-homes nothing already written: lists
# read every shard below it, and the unsharded partition of items written before sharding.
INDEX_SHARDS = 16


class AlreadyExistsError(Exception):
    """The order number is taken; carries what is stored so the caller can compare."""

    def __init__(self, existing: dict[str, Any]) -> None:
        super().__init__("order already exists")
        self.existing = existing


class TransitionRejectedError(Exception):
    """A conditional write found the order in a state the transition does not start from."""

    def __init__(self, current: dict[str, Any] | None) -> None:
        super().__init__("transition rejected")
        self.current = current


class RefundReservationError(Exception):
    """Why a refund could not be reserved against its bill."""

    def __init__(self, reason: str, existing_refund: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason  # duplicate_refund | bill_not_found | bill_not_paid | refund_in_progress | too_large
        self.existing_refund = existing_refund


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    cursor: str | None


def order_pk(kind: OrderKind, app_id: str, order_no: str) -> str:
    return f"{kind.value.upper()}#{app_id}#{order_no}"


def index_shard(order_no: str) -> int:
    """Stable across processes and deploys (unlike hash()): the same order is always in one shard."""
    return int.from_bytes(hashlib.blake2b(order_no.encode(), digest_size=2).digest()) % INDEX_SHARDS


def index_keys(kind: OrderKind, app_id: str, created_at_ms: int, order_no: str) -> dict[str, str]:
    """The `by-app-created` keys: INDEX_SHARDS partitions per app and kind, each sorted by creation time."""
    return {
        "gsi1pk": f"{app_id}#{kind.value}#{index_shard(order_no)}",
        "gsi1sk": f"{created_at_ms:013d}#{order_no}",
    }


def index_partitions(app_id: str, kind: OrderKind) -> list[str]:
    """Every partition a list reads: the shards, and the one unsharded partition of older items."""
    return [f"{app_id}#{kind.value}#{shard}" for shard in range(INDEX_SHARDS)] + [f"{app_id}#{kind.value}"]


def _is_conditional_failure(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class OrdersStore:
    """Bills and refunds. Money moves only inside conditions that DynamoDB checks atomically."""

    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table
        self._pool: ThreadPoolExecutor | None = None
        self._next_index = itertools.cycle(LIST_INDEXES)
        self._copy_unreadable_until = 0.0

    # ------------------------------------------------------------------ bills
    def put_new_bill(self, bill: Bill) -> None:
        """Insert, or raise AlreadyExistsError with the stored bill (no second read needed)."""
        data = bill.model_dump(mode="json")
        item = {
            "pk": order_pk(OrderKind.BILL, bill.app_id, bill.bill_no),
            "kind": OrderKind.BILL.value,
            **index_keys(OrderKind.BILL, bill.app_id, bill.created_at_ms, bill.bill_no),
            **data,
        }
        self._put_new(item)

    def get_bill(self, app_id: str, bill_no: str, *, consistent: bool = True) -> Bill | None:
        item = self._get(order_pk(OrderKind.BILL, app_id, bill_no), consistent)
        return Bill.model_validate(item) if item else None

    def take_bill_lease(self, app_id: str, bill_no: str, *, now_ms: int, lease_until_ms: int) -> Bill:
        """Claim the right to call the provider: only from UNKNOWN, or from an expired CALLING lease."""
        return Bill.model_validate(
            self._update(
                order_pk(OrderKind.BILL, app_id, bill_no),
                "SET provider_state = :calling, lease_until_ms = :until, updated_at_ms = :now",
                "#status = :pending AND (provider_state = :unknown OR "
                "(provider_state = :calling AND lease_until_ms < :now))",
                {
                    ":calling": ProviderState.CALLING.value,
                    ":unknown": ProviderState.UNKNOWN.value,
                    ":pending": BillStatus.PENDING.value,
                    ":until": lease_until_ms,
                    ":now": now_ms,
                },
            )
        )

    def record_bill_created(self, app_id: str, bill_no: str, params: dict[str, Any], *, now_ms: int) -> Bill:
        return Bill.model_validate(
            self._update(
                order_pk(OrderKind.BILL, app_id, bill_no),
                "SET provider_state = :created, payment_params = :params, updated_at_ms = :now REMOVE lease_until_ms",
                "provider_state = :calling",
                {
                    ":created": ProviderState.CREATED.value,
                    ":calling": ProviderState.CALLING.value,
                    ":params": params,
                    ":now": now_ms,
                },
            )
        )

    def record_bill_rejected(self, app_id: str, bill_no: str, code: str, message: str, *, now_ms: int) -> Bill:
        return Bill.model_validate(
            self._update(
                order_pk(OrderKind.BILL, app_id, bill_no),
                "SET provider_state = :rejected, #status = :failed, failure_code = :code, "
                "failure_message = :msg, updated_at_ms = :now REMOVE lease_until_ms",
                "provider_state = :calling AND #status = :pending",
                {
                    ":rejected": ProviderState.REJECTED.value,
                    ":failed": BillStatus.FAILED.value,
                    ":pending": BillStatus.PENDING.value,
                    ":calling": ProviderState.CALLING.value,
                    ":code": code,
                    ":msg": message,
                    ":now": now_ms,
                },
            )
        )

    def record_bill_unknown(self, app_id: str, bill_no: str, *, now_ms: int) -> Bill:
        """The provider may or may not have the bill; release the lease so a retry can ask again."""
        return Bill.model_validate(
            self._update(
                order_pk(OrderKind.BILL, app_id, bill_no),
                "SET provider_state = :unknown, lease_until_ms = :zero, updated_at_ms = :now",
                "provider_state = :calling",
                {
                    ":unknown": ProviderState.UNKNOWN.value,
                    ":calling": ProviderState.CALLING.value,
                    ":zero": 0,
                    ":now": now_ms,
                },
            )
        )

    def mark_bill_paid(
        self,
        app_id: str,
        bill_no: str,
        *,
        total_fee: int,
        now_ms: int,
        evidence: dict[str, Any] | None = None,
        channel_family: str | None = None,
        currency: str | None = None,
    ) -> Bill:
        """pending -> succeeded, only if the paid amount is the bill's amount.

        `channel_family` / `currency`, when given, must match the bill too (a callback checks
        them in the same write instead of reading the bill first). On a failed condition,
        TransitionRejectedError carries the stored bill (None: no such bill).
        `evidence` (reconciliation) is stored as `reconciled_by` in the same conditional write.
        """
        values: dict[str, Any] = {
            ":succeeded": BillStatus.SUCCEEDED.value,
            ":pending": BillStatus.PENDING.value,
            ":fee": total_fee,
            ":now": now_ms,
        }
        condition = "#status = :pending AND total_fee = :fee"
        if channel_family is not None:
            condition += " AND begins_with(channel, :family)"
            values[":family"] = f"{channel_family}_"
        if currency is not None:
            condition += " AND (attribute_not_exists(currency) OR currency = :currency)"  # absent: the default
            values[":currency"] = currency
        update = "SET #status = :succeeded, paid_at_ms = :now, updated_at_ms = :now"
        if evidence is not None:
            update += ", reconciled_by = :evidence"
            values[":evidence"] = evidence
        return Bill.model_validate(self._update(order_pk(OrderKind.BILL, app_id, bill_no), update, condition, values))

    # ------------------------------------------------------------------ refunds
    def get_refund(self, app_id: str, refund_no: str, *, consistent: bool = True) -> Refund | None:
        item = self._get(order_pk(OrderKind.REFUND, app_id, refund_no), consistent)
        return Refund.model_validate(item) if item else None

    def bill_and_refunds(self, app_id: str, bill_no: str, refund_nos: list[str]) -> tuple[Bill, list[Refund]] | None:
        """The bill and those refunds as of one instant (TransactGetItems), or None if it cannot be had.

        A refund settles in a transaction with its bill's `refunded_fee`; two separate reads could
        show it succeeded beside a bill that does not count it yet. At most 99 refunds.
        """
        pks = [order_pk(OrderKind.BILL, app_id, bill_no)]
        pks += [order_pk(OrderKind.REFUND, app_id, refund_no) for refund_no in refund_nos[: _TRANSACT_GET_MAX - 1]]
        request = [{"Get": {"TableName": self._table, "Key": {"pk": {"S": pk}}}} for pk in pks]
        for attempt in range(_SNAPSHOT_ATTEMPTS):
            try:
                responses = self._db.transact_get_items(TransactItems=request)["Responses"]
                break
            except ClientError as error:  # a transaction on these items was running: ask again
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                time.sleep(0.02 * 2**attempt)
        else:
            return None
        items = [from_item(response["Item"]) if response.get("Item") else None for response in responses]
        if items[0] is None:
            return None
        return Bill.model_validate(items[0]), [Refund.model_validate(item) for item in items[1:] if item is not None]

    def reserve_refund(self, refund: Refund, *, bill_total_fee: int) -> None:
        """One transaction: the refund item appears and the bill reserves its amount, or neither.

        The bill may carry one active refund at a time (BeeCloud: one successful refund per
        bill), and the reserved sum can never pass the bill's total.
        """
        bill_pk = order_pk(OrderKind.BILL, refund.app_id, refund.bill_no)
        refund_item = {
            "pk": order_pk(OrderKind.REFUND, refund.app_id, refund.refund_no),
            "kind": OrderKind.REFUND.value,
            **index_keys(OrderKind.REFUND, refund.app_id, refund.created_at_ms, refund.refund_no),
            **refund.model_dump(mode="json"),
        }
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item(refund_item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": {"pk": {"S": bill_pk}},
                            "UpdateExpression": "SET active_refund = :rn, updated_at_ms = :now "
                            "ADD refund_reserved :fee",
                            "ConditionExpression": "attribute_exists(pk) AND #status = :succeeded "
                            "AND attribute_not_exists(active_refund) "
                            "AND (attribute_not_exists(refund_reserved) OR refund_reserved <= :limit)",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": to_values(
                                {
                                    ":rn": refund.refund_no,
                                    ":now": refund.created_at_ms,
                                    ":fee": refund.refund_fee,
                                    ":succeeded": BillStatus.SUCCEEDED.value,
                                    ":limit": bill_total_fee - refund.refund_fee,
                                }
                            ),
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            raise self._refund_reservation_error(reasons, refund, bill_total_fee) from error

    def _refund_reservation_error(
        self, reasons: list[dict[str, Any]], refund: Refund, bill_total_fee: int
    ) -> RefundReservationError:
        codes = [r.get("Code", "None") for r in reasons] + ["None", "None"]
        if codes[0] == "ConditionalCheckFailed":
            old = reasons[0].get("Item")
            return RefundReservationError("duplicate_refund", from_item(old) if old else None)
        if codes[1] == "ConditionalCheckFailed":
            old = reasons[1].get("Item")
            bill = from_item(old) if old else None
            if bill is None:
                return RefundReservationError("bill_not_found")
            if bill.get("status") != BillStatus.SUCCEEDED.value:
                return RefundReservationError("bill_not_paid")
            if bill.get("active_refund"):
                return RefundReservationError("refund_in_progress")
            return RefundReservationError("too_large")
        # TransactionConflict etc.: a concurrent writer touched the bill; the caller may retry.
        return RefundReservationError("contention")

    def record_refund_accepted(self, app_id: str, refund_no: str, approval_url: str | None, *, now_ms: int) -> Refund:
        return Refund.model_validate(
            self._update(
                order_pk(OrderKind.REFUND, app_id, refund_no),
                "SET approval_url = :url, updated_at_ms = :now",
                "#status = :pending",
                {":url": approval_url, ":pending": RefundStatus.PENDING.value, ":now": now_ms},
            )
        )

    def finish_refund(
        self,
        refund: Refund,
        *,
        succeeded: bool,
        now_ms: int,
        failure_code: str | None = None,
        failure_message: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        """pending -> succeeded|failed together with the bill's refund bookkeeping, atomically.

        `evidence` (reconciliation) is stored as `reconciled_by` in the same transaction.
        """
        refund_pk = order_pk(OrderKind.REFUND, refund.app_id, refund.refund_no)
        bill_pk = order_pk(OrderKind.BILL, refund.app_id, refund.bill_no)
        status = RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED
        refund_update = {
            "TableName": self._table,
            "Key": {"pk": {"S": refund_pk}},
            "UpdateExpression": "SET #status = :status, finished_at_ms = :now, updated_at_ms = :now"
            + (", failure_code = :fcode, failure_message = :fmsg" if not succeeded else "")
            + (", reconciled_by = :evidence" if evidence is not None else ""),
            "ConditionExpression": "#status = :pending AND refund_fee = :fee",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": to_values(
                {
                    ":status": status.value,
                    ":pending": RefundStatus.PENDING.value,
                    ":fee": refund.refund_fee,
                    ":now": now_ms,
                    **(
                        {":fcode": failure_code or "refund_failed", ":fmsg": failure_message or ""}
                        if not succeeded
                        else {}
                    ),
                    **({":evidence": evidence} if evidence is not None else {}),
                }
            ),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if succeeded:
            bill_update_expr = "SET updated_at_ms = :now ADD refunded_fee :fee"
        else:
            bill_update_expr = "SET updated_at_ms = :now REMOVE active_refund ADD refund_reserved :neg"
        bill_update = {
            "TableName": self._table,
            "Key": {"pk": {"S": bill_pk}},
            "UpdateExpression": bill_update_expr,
            "ConditionExpression": "active_refund = :rn",
            "ExpressionAttributeValues": to_values(
                {":rn": refund.refund_no, ":now": now_ms}
                | ({":fee": refund.refund_fee} if succeeded else {":neg": -refund.refund_fee})
            ),
        }
        try:
            self._db.transact_write_items(TransactItems=[{"Update": refund_update}, {"Update": bill_update}])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            old = reasons[0].get("Item") if reasons else None
            raise TransitionRejectedError(from_item(old) if old else None) from error

    # ------------------------------------------------------------------ lists
    def list_orders(
        self,
        app_id: str,
        kind: OrderKind,
        *,
        limit: int,
        cursor: str | None = None,
        created_from_ms: int | None = None,
        created_to_ms: int | None = None,
        filters: dict[str, str] | None = None,
    ) -> Page:
        """Newest first; filters apply after the key range, so keep reading until the page fills.

        The index holds keys only, so a status change never rewrites it (half the WCU of every
        update); each chunk of keys is fetched with one BatchGetItem and filtered here. Each round
        asks every index shard for its newest `chunk` keys below the boundary and keeps the newest
        `chunk` of them all: the global newest are always among them. The cursor is the last key
        returned, and the next page starts below it in every shard.
        """
        low = f"{_clamp_ms(created_from_ms):013d}" if created_from_ms is not None else "0"
        high = f"{_clamp_ms(created_to_ms):013d}~" if created_to_ms is not None else "9999999999999~"
        if low > high:
            return Page(items=[], cursor=None)  # an empty range (the API refuses it before)
        below = decode_cursor(cursor, app_id, kind, low=low, high=high) if cursor else None
        wanted = sorted((filters or {}).items())
        items: list[dict[str, Any]] = []
        index = self._list_index()
        while True:
            missing = limit - len(items)
            # Unfiltered, every key fetched is returned; filtered, read ahead a little.
            chunk = min(missing if not wanted else max(missing, _FILTERED_CHUNK), _BATCH_GET_MAX)
            keys, exhausted = self._newest_keys(index, app_id, kind, low, high, below, chunk)
            fetched = self._batch_get([key["pk"] for key in keys])
            for position, key in enumerate(keys):
                item = fetched.get(key["pk"])
                if item is not None and all(item.get(field) == value for field, value in wanted):
                    items.append(item)
                if len(items) == limit:
                    more = position < len(keys) - 1 or not exhausted
                    return Page(
                        items=items, cursor=encode_cursor({"pk": key["pk"], "gsi1sk": key["gsi1sk"]}) if more else None
                    )
            if exhausted or not keys:
                return Page(items=items, cursor=None)
            below = keys[-1]["gsi1sk"]

    def _shard_pool(self) -> ThreadPoolExecutor:
        """Built on the first list and kept for the container: a page reads every shard at once."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=INDEX_SHARDS + 1, thread_name_prefix="index-shard")
        return self._pool

    def _list_index(self) -> str:
        """The index a page reads: the two in turn, or the first while the copy cannot be read."""
        index = next(self._next_index)
        if index != GSI_NAME and time.monotonic() < self._copy_unreadable_until:
            return GSI_NAME
        return index

    def _newest_keys(
        self, index: str, app_id: str, kind: OrderKind, low: str, high: str, below: str | None, chunk: int
    ) -> tuple[list[dict[str, str]], bool]:
        """The newest `chunk` index keys of all shards in [low, high) below `below`; and whether that is all."""

        def query(index_name: str, partition: str) -> dict[str, Any]:
            # Below a cursor, the range ends just under it (DynamoDB refuses an unused value).
            upper = high if below is None else _just_below(below)
            values = {":pk": partition, ":low": low, ":high": upper}
            condition = "#pk = :pk AND #sk BETWEEN :low AND :high"
            response: dict[str, Any] = self._db.query(
                TableName=self._table,
                IndexName=index_name,
                KeyConditionExpression=condition,
                ExpressionAttributeNames={"#pk": "gsi1pk", "#sk": "gsi1sk"},
                ExpressionAttributeValues=to_values(values),
                ScanIndexForward=False,
                Limit=chunk,
            )
            return response

        def shard(partition: str) -> tuple[list[dict[str, str]], bool]:
            try:
                response = query(index, partition)
            except ClientError as error:
                if index == GSI_NAME or error.response.get("Error", {}).get("Code") != "ValidationException":
                    raise
                # The copy is missing or still backfilling (a stack just updated): the first has every key.
                self._copy_unreadable_until = time.monotonic() + _COPY_RETRY_AFTER_S
                response = query(GSI_NAME, partition)
            found = [{"pk": i["pk"]["S"], "gsi1sk": i["gsi1sk"]["S"]} for i in response.get("Items", [])]
            return found, "LastEvaluatedKey" not in response

        answers = list(self._shard_pool().map(shard, index_partitions(app_id, kind)))
        merged = sorted((key for found, _ in answers for key in found), key=lambda k: k["gsi1sk"], reverse=True)
        exhausted = all(done for _, done in answers) and len(merged) <= chunk
        return merged[:chunk], exhausted

    def _batch_get(self, pks: list[str]) -> dict[str, dict[str, Any]]:
        """Items by pk; keys DynamoDB leaves unprocessed (throttling) are asked for again."""
        found: dict[str, dict[str, Any]] = {}
        pending: list[dict[str, Any]] = [{"pk": {"S": pk}} for pk in pks]
        for attempt in range(_BATCH_GET_ATTEMPTS):
            if not pending:
                return found
            if attempt:
                time.sleep(min(0.05 * 2**attempt, 1.0))
            response = self._db.batch_get_item(RequestItems={self._table: {"Keys": pending}})
            for item in response.get("Responses", {}).get(self._table, []):
                found[item["pk"]["S"]] = from_item(item)
            pending = response.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
        if pending:
            raise ServiceUnavailableError("the orders table is throttling reads; retry the same request")
        return found

    # ------------------------------------------------------------------ plumbing
    def _put_new(self, item: dict[str, Any]) -> None:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not _is_conditional_failure(error):
                raise
            raise AlreadyExistsError(from_item(error.response.get("Item", {}))) from error

    def _get(self, pk: str, consistent: bool) -> dict[str, Any] | None:
        response = self._db.get_item(TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=consistent)
        item = response.get("Item")
        return from_item(item) if item else None

    def _update(self, pk: str, update: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        names = {"#status": "status"} if "#status" in update + condition else None
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": update,
            "ConditionExpression": f"attribute_exists(pk) AND ({condition})",
            "ExpressionAttributeValues": to_values(values),
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            return from_item(self._db.update_item(**request)["Attributes"])
        except ClientError as error:
            if not _is_conditional_failure(error):
                raise
            old = error.response.get("Item")
            raise TransitionRejectedError(from_item(old) if old else None) from error


_ORDER_NO = r"[0-9A-Za-z_-]{1,32}"
_MAX_MS = 9_999_999_999_999  # the 13 digits of gsi1sk's time


def _clamp_ms(ms: int) -> int:
    """Times before 1970 or after 2286 select the same orders as those limits (and keep 13 digits)."""
    return min(max(ms, 0), _MAX_MS)


def _just_below(sort_key: str) -> str:
    """The greatest string below `sort_key` that BETWEEN can take as an inclusive upper bound."""
    return sort_key[:-1] + chr(ord(sort_key[-1]) - 1) + "~"


def decode_cursor(cursor: str, app_id: str, kind: OrderKind, *, low: str, high: str) -> str:
    """The index sort key a page ends on; only for the app and kind it was issued for, inside the range.

    Raises InvalidCursorError (a ValueError) for anything else: no cross-tenant paging, and
    nothing DynamoDB would refuse (empty or mismatched keys, a start outside the range).
    """
    fields = decode_cursor_fields(
        cursor,
        {
            "pk": re.compile(re.escape(f"{kind.value.upper()}#{app_id}#") + f"({_ORDER_NO})"),
            "gsi1sk": re.compile(rf"[0-9]{{13}}#({_ORDER_NO})"),
        },
    )
    sort_key = fields["gsi1sk"].group(0)
    if fields["pk"].group(1) != fields["gsi1sk"].group(1):
        raise InvalidCursorError("cursor does not belong to this list")
    if not low <= sort_key <= high:
        raise InvalidCursorError("cursor does not match created_from/created_to")
    return sort_key
