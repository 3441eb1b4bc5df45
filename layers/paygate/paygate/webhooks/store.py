"""The webhooks table: endpoints (per app), stored events (TTL) and the delivery log (TTL).

Keys (pk, sk):
  endpoint           APP#<app_id>                  WHEP#<endpoint_id>   the primary copy
  endpoint replica   APP#<app_id>#R<k>             WHEP#<endpoint_id>   k = 0 .. REPLICAS-1
  replica header     APP#<app_id>#R<k>             WHEP                 checked_at_ms
  event              EVT#<app_id>#<event_id>       EVENT                one partition per event
  attempt            WHEP#<endpoint_id>#<shard>    DLV#<ms:013d>#<delivery_id>  newest first by sk
  older attempt      WHEP#<endpoint_id>            DLV#<ms:013d>#<delivery_id>  written before sharding
`expires_at` (epoch seconds) is the table's TTL attribute on events and attempts.

What each key allows one merchant (a partition serves 3,000 strongly consistent reads of up to
4 KB and 1,000 writes of up to 1 KB a second):
- `APP#<app_id>#R<k>`: every event's fan-out queries one replica and every delivery reads its
  endpoint from one, chosen at random, so one merchant's events and deliveries together get
  REPLICAS x 3,000 = 48,000 reads a second. The reads stay strongly consistent: a change is
  written to every replica in the same transaction as the primary, so an endpoint created,
  rotated or deleted a moment ago is seen by the very next event, with no cache to wait out.
- `APP#<app_id>`: the primary copy, which every change writes and conditions on, and which the
  replicas are checked against once every REPLICA_CHECK_MS per app; read otherwise only when a
  replica has no copy (a 404, or the deliveries queued for an endpoint before its delete: a
  one-off drain). Endpoint changes are management calls, a few a day: no ceiling on traffic.
- `WHEP#<endpoint_id>#<shard>`: each delivery attempt writes one of ATTEMPT_SHARDS shards (a stable
  hash of its delivery id), so one endpoint takes 16 x 1,000 = 16,000 attempts a second. A log page
  queries every shard and the unsharded partition once.
- `EVT#<app_id>#<event_id>`: one event's own partition: no per-merchant ceiling.

Why replicas and not a cache: a per-container cache of the endpoint list would lift the read
ceiling too, but a new endpoint would miss events for the cache's lifetime, and a deleted one
would keep receiving them. Replicas cost 16 copies per endpoint (a few KB) and a 17-item
transaction per change, and keep every read exact.

Compatibility: endpoints stored before replicas exist only as the primary item, which keeps its
key and shape, and every change still writes it, so an older version of the functions (during a
deploy, or after a rollback) reads and writes the same items as before. A replica without its
header has never been checked: the reader uses the primary (exact, just not spread) and copies
it to every replica, then writes the headers. The periodic check repairs what an older version
changed in the primary alone. Attempts written before sharding stay in `WHEP#<endpoint_id>`, which
every log page still reads; TTL empties it within 30 days.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from paygate.clock import now_ms
from paygate.errors import ServiceUnavailableError
from paygate.store.cursors import InvalidCursorError, encode_cursor
from paygate.store.cursors import decode_cursor as decode_cursor_fields
from paygate.store.items import from_item, to_item, to_values
from paygate.webhooks.models import DeliveryAttempt, StoredEvent, WebhookEndpoint

logger = Logger(child=True)

EVENT_SK = "EVENT"
HEADER_SK = "WHEP"  # sorts before every WHEP#<endpoint_id>: one query reads the header and the endpoints
ENDPOINT_PREFIX = "WHEP#"
ATTEMPT_PREFIX = "DLV#"
# 16 x 3,000 consistent reads/s per merchant. Changing it needs no migration: a replica without
# its header is filled from the primary by its first reader, and one no longer read is left alone.
REPLICAS = 16
# 16 x 1,000 attempts/s per endpoint. Changing it re-homes nothing: a log page reads every shard
# below it and the unsharded partition.
ATTEMPT_SHARDS = 16
# How long a replica header vouches for its partition before one reader compares it with the
# primary again (what an older version changed in the primary alone shows up within this).
REPLICA_CHECK_MS = 300_000
# Attributes that change after an endpoint is created (rotation); a copy is taken only while
# they are still as read. A later change of another attribute must be listed here too.
_MUTABLE = ("rotating_until", "secret_rotated_at_ms")
_TRANSACTION_ATTEMPTS = 3
_CHECK_MEMO_MAX = 10_000


def primary_pk(app_id: str) -> str:
    return f"APP#{app_id}"


def replica_pk(app_id: str, replica: int) -> str:
    return f"APP#{app_id}#R{replica}"


def endpoint_sk(endpoint_id: str) -> str:
    return f"{ENDPOINT_PREFIX}{endpoint_id}"


def endpoint_key(app_id: str, endpoint_id: str) -> dict[str, Any]:
    """The primary item's key."""
    return to_values({"pk": primary_pk(app_id), "sk": endpoint_sk(endpoint_id)})


def event_key(app_id: str, event_id: str) -> dict[str, Any]:
    return to_values({"pk": f"EVT#{app_id}#{event_id}", "sk": EVENT_SK})


def attempt_shard(delivery_id: str) -> int:
    """Stable across processes and deploys (unlike hash()): one attempt always lives in one shard."""
    return int.from_bytes(hashlib.blake2b(delivery_id.encode(), digest_size=2).digest()) % ATTEMPT_SHARDS


def attempts_pk(endpoint_id: str, shard: int | None = None) -> str:
    """A shard of the endpoint's delivery log; without a shard, the partition of attempts before sharding."""
    return f"WHEP#{endpoint_id}" if shard is None else f"WHEP#{endpoint_id}#{shard}"


def attempt_partitions(endpoint_id: str) -> list[str]:
    """Every partition a log page reads: the shards, and the one unsharded partition of older attempts."""
    return [attempts_pk(endpoint_id, shard) for shard in range(ATTEMPT_SHARDS)] + [attempts_pk(endpoint_id)]


@dataclass(frozen=True)
class AttemptPage:
    attempts: list[DeliveryAttempt]
    cursor: str | None


def _conditional_failure(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class WebhooksStore:
    """Endpoints, events and attempts; tenancy is in every key (no read crosses apps)."""

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        clock: Callable[[], int] = now_ms,
        pick_replica: Callable[[], int] | None = None,
    ) -> None:
        self._db = client
        self._table = table
        self._clock = clock
        self._pick_replica = pick_replica or (lambda: secrets.randbelow(REPLICAS))
        self._pool: ThreadPoolExecutor | None = None
        self._checks: dict[str, int] = {}  # app -> when this container last tried a replica check

    # ------------------------------------------------------------------ endpoints: changes
    def put_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """The primary and every replica, or nothing."""
        data = endpoint.model_dump()
        sk = endpoint_sk(endpoint.endpoint_id)
        created = self._change(
            endpoint.app_id,
            endpoint.endpoint_id,
            self._put(primary_pk(endpoint.app_id), sk, data, condition="attribute_not_exists(pk)"),
            lambda pk: self._put(pk, sk, data),
        )
        if not created:
            raise RuntimeError(f"webhook endpoint {endpoint.endpoint_id} already exists")

    def delete_endpoint(self, app_id: str, endpoint_id: str) -> bool:
        """False: no such endpoint. Every copy goes in the same transaction as the primary."""
        sk = endpoint_sk(endpoint_id)
        deleted = self._change(
            app_id,
            endpoint_id,
            self._delete(primary_pk(app_id), sk, condition="attribute_exists(pk)"),
            lambda pk: self._delete(pk, sk),
        )
        if deleted:
            return True
        # No primary. Replicas of an endpoint an older version deleted (in the primary alone) are
        # what readers see until the next check: deleting those is what the caller asked for.
        if self._get_item(replica_pk(app_id, self._pick_replica()), sk) is None:
            return False
        return self._drop_copies(app_id, sk)

    def take_rotation_lease(self, app_id: str, endpoint_id: str, *, now_ms: int, until_ms: int) -> bool:
        """One secret rotation at a time per endpoint (its read-modify-write must not interleave)."""
        key = (primary_pk(app_id), endpoint_sk(endpoint_id))
        return self._change(
            app_id,
            endpoint_id,
            self._update(
                *key,
                "SET rotating_until = :until",
                "attribute_exists(pk) AND (attribute_not_exists(rotating_until) OR rotating_until < :now)",
                {":until": until_ms, ":now": now_ms},
            ),
            lambda pk: self._update(
                pk, key[1], "SET rotating_until = :until", "attribute_exists(pk)", {":until": until_ms}
            ),
        )

    def release_rotation_lease(self, app_id: str, endpoint_id: str, *, rotated_at_ms: int | None) -> None:
        """Deleted meanwhile: nothing to release."""
        update = "REMOVE rotating_until" + (" SET secret_rotated_at_ms = :at" if rotated_at_ms else "")
        values = {":at": rotated_at_ms} if rotated_at_ms else {}
        sk = endpoint_sk(endpoint_id)
        self._change(
            app_id,
            endpoint_id,
            self._update(primary_pk(app_id), sk, update, "attribute_exists(pk)", values),
            lambda pk: self._update(pk, sk, update, "attribute_exists(pk)", values),
        )

    def _change(
        self,
        app_id: str,
        endpoint_id: str,
        primary: dict[str, Any],
        copy: Callable[[str], dict[str, Any]],
    ) -> bool:
        """`primary` on the primary item and `copy` on each replica's, in one transaction.

        False when the primary's condition failed (nothing was written). A copy's condition
        fails only when the copy is missing (an endpoint stored before replicas, not yet
        copied): it is copied from the primary and the change is tried again.
        """
        operations = [primary] + [copy(replica_pk(app_id, k)) for k in range(REPLICAS)]
        for _ in range(2):
            codes = self._transact(operations)
            if codes is None:
                return True
            if codes[0] == "ConditionalCheckFailed":
                return False
            if "ConditionalCheckFailed" not in codes[1:]:
                break
            item = self._get_item(primary_pk(app_id), endpoint_sk(endpoint_id))
            if item is None:
                return False
            self._copy(app_id, item)
        raise ServiceUnavailableError("the webhooks table is busy; retry the same request")

    # ------------------------------------------------------------------ endpoints: reads
    def get_endpoint(self, app_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        """From one replica; the primary when that has no copy (older endpoint, or none at all)."""
        sk = endpoint_sk(endpoint_id)
        item = self._get_item(replica_pk(app_id, self._pick_replica()), sk)
        if item is None:
            item = self._get_item(primary_pk(app_id), sk)
            if item is not None:
                self._copy(app_id, item)  # the next read finds it in any replica
        return _endpoint(item) if item else None

    def list_endpoints(self, app_id: str) -> list[WebhookEndpoint]:
        """Oldest first, from one replica; an app has at most a few (WEBHOOK_MAX_ENDPOINTS), so no paging.

        A replica without its header has never been filled: the primary answers, and is copied.
        A header older than REPLICA_CHECK_MS makes one reader per container check the replicas.
        """
        header, items = self._read_replica(app_id, self._pick_replica())
        if header is None or self._check_due(app_id, header):
            items = self.check_replicas(app_id, items)
        return sorted((_endpoint(i) for i in items), key=lambda e: (e.created_at_ms, e.endpoint_id))

    def check_replicas(self, app_id: str, replica_items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Make every replica match the primary; returns the primary's items (exact, whatever happens).

        `replica_items` are one replica's endpoints as just read; all replicas hold the same, since
        every write to them is one transaction over all. Each copy is conditional on the primary
        still being as read, each removal on the primary still being absent. The headers are
        written only when every repair went through.
        """
        primary = self._query(primary_pk(app_id), ENDPOINT_PREFIX)
        copies = {item["sk"]: item for item in replica_items}
        complete = True
        for item in primary:
            if _without_pk(copies.pop(item["sk"], None)) != _without_pk(item):
                complete = self._copy(app_id, item) and complete
        for sk in copies:
            complete = self._drop_copies(app_id, sk) and complete
        if complete:
            self._write_headers(app_id)
        return primary

    def _check_due(self, app_id: str, header: dict[str, Any]) -> bool:
        """Whether this reader checks now: the header is due, this container has not tried lately, and
        it wins the claim on replica 0's header (so one reader of all containers does the work)."""
        now = self._clock()
        if int(header.get("checked_at_ms", 0)) > now - REPLICA_CHECK_MS:
            return False
        if self._checks.get(app_id, 0) > now - REPLICA_CHECK_MS:
            return False
        if len(self._checks) >= _CHECK_MEMO_MAX:
            self._checks.clear()
        self._checks[app_id] = now
        try:
            self._db.update_item(
                TableName=self._table,
                Key=to_values({"pk": replica_pk(app_id, 0), "sk": HEADER_SK}),
                UpdateExpression="SET checked_at_ms = :now",
                ConditionExpression="attribute_exists(pk) AND checked_at_ms <= :due",
                ExpressionAttributeValues=to_values({":now": now, ":due": now - REPLICA_CHECK_MS}),
            )
        except ClientError as error:
            if not _conditional_failure(error):
                logger.warning("replica check not claimed", extra={"app_id": app_id, "error": str(error)})
            return False
        return True

    # ------------------------------------------------------------------ endpoints: replica upkeep
    def _copy(self, app_id: str, item: dict[str, Any]) -> bool:
        """Write the app's primary `item` (as read) to every replica, if the primary is still as read.

        The guard is a write that changes nothing (SET app_id to itself) under that condition:
        both functions may update items, so no IAM action beyond theirs is needed.
        """
        condition = ["attribute_exists(pk)"]
        values: dict[str, Any] = {":app_id": item["app_id"]}
        for n, name in enumerate(_MUTABLE):
            if name in item:
                condition.append(f"{name} = :m{n}")
                values[f":m{n}"] = item[name]
            else:
                condition.append(f"attribute_not_exists({name})")
        guard = self._update(primary_pk(app_id), item["sk"], "SET app_id = :app_id", " AND ".join(condition), values)
        copies = [self._put(replica_pk(app_id, k), item["sk"], item) for k in range(REPLICAS)]
        return self._best_effort([guard, *copies], "copy", app_id)

    def _drop_copies(self, app_id: str, sk: str) -> bool:
        """Delete every replica's copy of an endpoint the primary does not have, if it still has not."""
        guard = self._delete(primary_pk(app_id), sk, condition="attribute_not_exists(pk)")
        copies = [self._delete(replica_pk(app_id, k), sk) for k in range(REPLICAS)]
        return self._best_effort([guard, *copies], "drop", app_id)

    def _write_headers(self, app_id: str) -> None:
        now = self._clock()
        headers = [self._put(replica_pk(app_id, k), HEADER_SK, {"checked_at_ms": now}) for k in range(REPLICAS)]
        self._best_effort(headers, "headers", app_id)

    def _best_effort(self, operations: list[dict[str, Any]], what: str, app_id: str) -> bool:
        """Replica upkeep never fails a read: the caller already has an exact answer from the primary."""
        try:
            codes = self._transact(operations)
        except ClientError as error:  # e.g. a function whose IAM lacks an action: logged, retried next time
            logger.warning("replica upkeep failed", extra={"what": what, "app_id": app_id, "error": str(error)})
            return False
        if codes is not None:
            logger.info("replica upkeep skipped", extra={"what": what, "app_id": app_id, "codes": codes})
        return codes is None

    def _read_replica(self, app_id: str, replica: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """One replica's header (None: never filled) and endpoint items."""
        items = self._query(replica_pk(app_id, replica), HEADER_SK)
        header = next((i for i in items if i["sk"] == HEADER_SK), None)
        return header, [i for i in items if i["sk"] != HEADER_SK]

    # ------------------------------------------------------------------ events
    def record_event(self, event: StoredEvent, *, expires_at: int) -> bool:
        """Store the event unless it was already fanned out; False = a duplicate to skip."""
        item = {"pk": f"EVT#{event.app_id}#{event.event_id}", "sk": EVENT_SK, **event.model_dump()}
        item |= {"expires_at": expires_at, "fanned_out": False}
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk) OR fanned_out = :false",
                ExpressionAttributeValues=to_values({":false": False}),
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def mark_fanned_out(self, app_id: str, event_id: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=event_key(app_id, event_id),
            UpdateExpression="SET fanned_out = :true",
            ExpressionAttributeValues=to_values({":true": True}),
        )

    def get_event(self, app_id: str, event_id: str) -> StoredEvent | None:
        response = self._db.get_item(TableName=self._table, Key=event_key(app_id, event_id))
        item = response.get("Item")
        return StoredEvent.model_validate(_strip_keys(from_item(item))) if item else None

    # ------------------------------------------------------------------ delivery log
    def put_attempt(self, attempt: DeliveryAttempt, *, expires_at: int) -> None:
        item = {
            "pk": attempts_pk(attempt.endpoint_id, attempt_shard(attempt.delivery_id)),
            "sk": f"{ATTEMPT_PREFIX}{attempt.attempted_at_ms:013d}#{attempt.delivery_id}",
            **attempt.model_dump(mode="json"),
            "expires_at": expires_at,
        }
        self._db.put_item(TableName=self._table, Item=to_item(item))

    def list_attempts(self, endpoint_id: str, *, limit: int, cursor: str | None = None) -> AttemptPage:
        """Newest first; the cursor is only valid for the endpoint it was issued for.

        Each shard (and the unsharded partition) answers its newest `limit` attempts below the
        cursor, at once; the newest `limit` of them all are the page (the global newest are always
        among them). The cursor is the page's last key; the next page starts below it everywhere.
        """
        below = decode_cursor(cursor, endpoint_id) if cursor else None

        def shard(partition: str) -> tuple[list[dict[str, Any]], bool]:
            values: dict[str, Any] = {":pk": partition}
            if below is None:
                condition = "pk = :pk AND begins_with(sk, :prefix)"
                values[":prefix"] = ATTEMPT_PREFIX
            else:  # a delivery-log partition holds attempts only: below the cursor is the whole range
                condition = "pk = :pk AND sk < :below"
                values[":below"] = below
            response = self._db.query(
                TableName=self._table,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=to_values(values),
                ScanIndexForward=False,
                Limit=limit,
            )
            return [from_item(i) for i in response["Items"]], "LastEvaluatedKey" not in response

        answers = list(self._shard_pool().map(shard, attempt_partitions(endpoint_id)))
        merged = sorted((item for found, _ in answers for item in found), key=lambda i: str(i["sk"]), reverse=True)
        page = merged[:limit]
        more = len(merged) > limit or not all(done for _, done in answers)
        last = page[-1] if page and more else None
        return AttemptPage(
            [DeliveryAttempt.model_validate(_strip_keys(i)) for i in page],
            encode_cursor({"pk": last["pk"], "sk": last["sk"]}) if last else None,
        )

    def _shard_pool(self) -> ThreadPoolExecutor:
        """Built on the first log page and kept for the container: a page reads every shard at once."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=ATTEMPT_SHARDS + 1, thread_name_prefix="attempt-shard")
        return self._pool

    # ------------------------------------------------------------------ plumbing
    def _put(self, pk: str, sk: str, data: dict[str, Any], *, condition: str | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self._table, "Item": to_item({**data, "pk": pk, "sk": sk})}
        if condition:
            request["ConditionExpression"] = condition
        return {"Put": request}

    def _delete(self, pk: str, sk: str, *, condition: str | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self._table, "Key": to_values({"pk": pk, "sk": sk})}
        if condition:
            request["ConditionExpression"] = condition
        return {"Delete": request}

    def _update(self, pk: str, sk: str, update: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_values({"pk": pk, "sk": sk}),
            "UpdateExpression": update,
            "ConditionExpression": condition,
        }
        if values:
            request["ExpressionAttributeValues"] = to_values(values)
        return {"Update": request}

    def _transact(self, operations: list[dict[str, Any]]) -> list[str] | None:
        """None once committed; else the cancellation code of each operation, in order.

        A conflict with a concurrent transaction on the same items is tried again a few times; a
        failed condition is an answer and is returned at once. Each try has its own request token,
        so botocore's own retries of one try cannot apply it twice.
        """
        codes: list[str] = []
        for attempt in range(_TRANSACTION_ATTEMPTS):
            if attempt:
                time.sleep(0.02 * 2**attempt)
            try:
                self._db.transact_write_items(TransactItems=operations, ClientRequestToken=uuid.uuid4().hex)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or []
                codes = [str(r.get("Code") or "None") for r in reasons] + ["None"] * (len(operations) - len(reasons))
                if "ConditionalCheckFailed" in codes:
                    return codes
                continue
            return None
        return codes

    def _get_item(self, pk: str, sk: str) -> dict[str, Any] | None:
        response = self._db.get_item(TableName=self._table, Key=to_values({"pk": pk, "sk": sk}), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def _query(self, pk: str, prefix: str) -> list[dict[str, Any]]:
        """Every item of the partition whose sort key starts with `prefix`, strongly consistent."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_values({":pk": pk, ":prefix": prefix}),
            "ConsistentRead": True,
        }
        while True:
            response = self._db.query(**request)
            items.extend(from_item(i) for i in response["Items"])
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _endpoint(item: dict[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint.model_validate(_strip_keys(item))


def _without_pk(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return {k: v for k, v in item.items() if k != "pk"} if item is not None else None


def _strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at", "fanned_out", "rotating_until")}


_DELIVERY_ID = r"dlv_[0-9A-Za-z]{1,64}"
_SORT_KEY = re.compile(rf"{ATTEMPT_PREFIX}[0-9]{{13}}#({_DELIVERY_ID})")


def decode_cursor(cursor: str, endpoint_id: str) -> str:
    """The sort key a page ended on; only from a cursor of this endpoint's delivery log.

    The key's partition must be one of the endpoint's (a shard, or the unsharded partition), and a
    shard must be the one its delivery id hashes to. Anything else raises InvalidCursorError (a
    ValueError): no paging through another endpoint's, or another app's, log.
    """
    fields = decode_cursor_fields(
        cursor,
        {
            "pk": re.compile(re.escape(attempts_pk(endpoint_id)) + r"(?:#(0|[1-9][0-9]?))?"),
            "sk": _SORT_KEY,
        },
    )
    shard = fields["pk"].group(1)
    if shard is not None and int(shard) != attempt_shard(fields["sk"].group(1)):
        raise InvalidCursorError("cursor does not belong to this list")
    return fields["sk"].group(0)
