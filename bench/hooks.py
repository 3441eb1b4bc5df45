"""Measurement hooks for bench/warm.py: botocore event hooks and an httpx transport wrapper.

Nothing in production code changes. Every botocore client created after `Recorder.install()`
gets hooks on its own event system (`provide-client-params` starts the clock and asks DynamoDB
for `ReturnConsumedCapacity=TOTAL`, `after-call` / `after-call-error` stop it), and httpx's
transports are wrapped at class level. A call is attributed to the sample in the current
context (a ContextVar), so only calls made by the handler under measurement count: the
sandboxes' own threads (notifies), moto and the stack's workers are never counted, while
`asyncio.to_thread` work started by the handler (it copies the context) is. A thread pool's
workers start without the context (a list page reads every index shard from one): their calls
go to the invocation being recorded, as the handler process runs one invocation at a time.

Waits that overlap (those shard queries) count once: a sample's AWS and HTTP times are the
union of its calls' intervals, so "overhead" stays what the handler's own thread spent. Each
sample also carries the process's CPU time over the invocation (every thread of the handler
process: the handler, its pools, botocore's and httpx's parsing), which no wait inflates.
"""

from __future__ import annotations

import importlib.abc
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Operations that accept ReturnConsumedCapacity.
_CAPACITY_OPS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}
_WRITE_OPS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_T0 = "_bench_t0"
_OWNER = "_bench_sample"


@dataclass
class Call:
    """One AWS API call or one outgoing HTTP request made by the handler."""

    service: str  # dynamodb | events | secretsmanager | stepfunctions | sqs | ... | http
    operation: str  # API operation, or "POST host/path" for http
    seconds: float
    ended_at: float = 0.0  # time.perf_counter() when it returned (0: unknown; then it counts as serial)
    tables: tuple[str, ...] = ()
    wcu: float = 0.0
    rcu: float = 0.0
    capacity_source: str | None = None  # returned | computed (DynamoDB only)
    entries: int = 0  # PutEvents entries
    error: str | None = None
    # DynamoDB partitions touched: (table, partition key value, "read" | "write"), GSI entries included.
    partitions: tuple[tuple[str, str, str], ...] = ()


@dataclass
class Sample:
    calls: list[Call] = field(default_factory=list)
    total_s: float = 0.0
    cpu_s: float = 0.0  # the handler process's CPU time (all its threads) over the invocation
    # Modules searched for on the import path during the invocation: a warm request should find
    # every import in sys.modules; a search means an import that fails (and is retried) each time.
    module_lookups: list[str] = field(default_factory=list)

    def seconds(self, service: str | None = None, *, exclude: str | None = None) -> float:
        return waited_s(
            [
                c
                for c in self.calls
                if (service is None or c.service == service) and (exclude is None or c.service != exclude)
            ]
        )

    @property
    def aws_s(self) -> float:
        return self.seconds(exclude="http")

    @property
    def http_s(self) -> float:
        return self.seconds("http")


def waited_s(calls: Iterable[Call]) -> float:
    """Wall time covered by the calls: the union of their intervals (parallel waits count once).

    A call without its end time (built by hand) counts in full, as if made alone.
    """
    calls = list(calls)
    timed = sorted((c.ended_at - c.seconds, c.ended_at) for c in calls if c.ended_at)
    total = sum(c.seconds for c in calls if not c.ended_at)
    reach = float("-inf")
    for start, end in timed:
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


_current: ContextVar[Sample | None] = ContextVar("bench_sample", default=None)
# The invocation being recorded, for threads that start without its context (a pool's workers).
_recording: list[Sample] = []


class _LookupRecorder(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: notes each module searched for while an invocation is recorded."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        sample = _sample_here()
        if sample is not None:
            sample.module_lookups.append(fullname)


def _sample_here() -> Sample | None:
    sample = _current.get()
    if sample is None and _recording:
        return _recording[-1]
    return sample


# ---------------------------------------------------------------- DynamoDB item sizes (for computed capacity)
def attribute_value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one DynamoDB AttributeValue, per DynamoDB's item size rules."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(s).encode()) for s in inner)
    if kind == "NS":
        return sum(attribute_value_size({"N": n}) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(attribute_value_size(v) + 1 for v in inner)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Mapping[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in item.items())


def write_units(size: int) -> float:
    return float(max(1, math.ceil(size / 1024)))


def read_units(size: int, *, consistent: bool) -> float:
    units = float(max(1, math.ceil(size / 4096)))
    return units if consistent else units / 2


def _computed_capacity(operation: str, params: Mapping[str, Any], parsed: Mapping[str, Any]) -> tuple[float, float]:
    """WCU/RCU from item sizes when DynamoDB (Local) did not return ConsumedCapacity.

    Writes: 1 WCU per KB of the larger of the old and new item (a failed condition still costs
    the write); transactions x2. Reads: 1 RCU per 4 KB strongly consistent, 0.5 eventually.
    """
    if operation == "GetItem":
        return 0.0, read_units(item_size(parsed.get("Item")), consistent=bool(params.get("ConsistentRead")))
    if operation in ("Query", "Scan"):
        size = sum(item_size(i) for i in parsed.get("Items", []))
        return 0.0, read_units(size, consistent=bool(params.get("ConsistentRead")))
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        new = params.get("Item") or parsed.get("Attributes")
        old = parsed.get("Item")  # ReturnValuesOnConditionCheckFailure=ALL_OLD on a failed condition
        return write_units(max(item_size(new), item_size(old))), 0.0
    if operation == "TransactWriteItems":
        wcu = 0.0
        reasons = parsed.get("CancellationReasons") or []
        for i, entry in enumerate(params.get("TransactItems", [])):
            ((_, request),) = entry.items()
            old = reasons[i].get("Item") if i < len(reasons) else None
            wcu += 2 * write_units(max(item_size(request.get("Item")), item_size(old)))
        return wcu, 0.0
    return 0.0, 0.0


@dataclass(frozen=True)
class Index:
    """A global secondary index, as far as write costs go."""

    keys: frozenset[str]
    projection: str  # KEYS_ONLY | INCLUDE | ALL


# Table name -> its GSIs; filled by Recorder.learn_tables before measuring.
_INDEXES: dict[str, tuple[Index, ...]] = {}


def _updated_attributes(request: Mapping[str, Any]) -> set[str]:
    """Attribute names an UpdateExpression may touch (aliases resolved; a superset is fine)."""
    names = request.get("ExpressionAttributeNames") or {}
    tokens = re.findall(r"#?[A-Za-z_][A-Za-z0-9_]*", str(request.get("UpdateExpression", "")))
    return {names.get(t, t) for t in tokens}


def transaction_capacity(params: Mapping[str, Any], indexes: Mapping[str, tuple[Index, ...]]) -> float:
    """WCU of a TransactWriteItems by AWS's rules, not DynamoDB Local's.

    Each item write costs 2x its size in KB (prepare and commit); an index entry written after
    the commit is a standard write. A Put writes an entry in every index whose keys it carries;
    an Update rewrites one when the index projects non-key attributes or the update touches its
    keys. (DynamoDB Local counts no index writes in a transaction when the index projects ALL, and
    doubles them when it projects keys only.)
    """
    wcu = 0.0
    for entry in params.get("TransactItems", []):
        ((action, request),) = entry.items()
        if action == "ConditionCheck":
            continue
        item = request.get("Item")
        wcu += 2 * write_units(item_size(item) if item else 1)
        for index in indexes.get(str(request["TableName"]), ()):
            if action == "Put" and item is not None and index.keys <= set(item):
                wcu += write_units(item_size(item) if index.projection != "KEYS_ONLY" else 1)
            elif action == "Delete" or (
                action == "Update" and (index.projection != "KEYS_ONLY" or index.keys & _updated_attributes(request))
            ):
                wcu += 1
    return wcu


def _returned_capacity(consumed: Any, operation: str) -> tuple[float, float] | None:
    """WCU/RCU from ConsumedCapacity; DynamoDB Local gives only CapacityUnits (by operation type then)."""
    if not consumed:
        return None
    entries = consumed if isinstance(consumed, list) else [consumed]
    wcu = rcu = 0.0
    for entry in entries:
        write = entry.get("WriteCapacityUnits")
        read = entry.get("ReadCapacityUnits")
        if write is None and read is None:
            units = float(entry.get("CapacityUnits") or 0)
            write, read = (units, 0.0) if operation in _WRITE_OPS else (0.0, units)
        wcu += float(write or 0)
        rcu += float(read or 0)
    return wcu, rcu


def _tables(params: Mapping[str, Any]) -> tuple[str, ...]:
    if "TableName" in params:
        return (str(params["TableName"]),)
    names: list[str] = []
    for entry in params.get("TransactItems", []):
        for request in entry.values():
            names.append(str(request["TableName"]))
    names.extend(str(t) for t in params.get("RequestItems", {}))
    return tuple(names)


# ---------------------------------------------------------------- the recorder
class Recorder:
    """Installs the hooks once; `record()` collects one handler invocation's calls."""

    def __init__(self) -> None:
        self._installed = False
        self.clients_hooked = 0

    def install(self) -> None:
        if self._installed:
            return
        import botocore.session
        import httpx

        original_create_client = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original_create_client(session, *args, **kwargs)
            recorder.hook_client(client)
            return client

        botocore.session.Session.create_client = create_client
        sys.meta_path.insert(0, _LookupRecorder())

        sync_handle = httpx.HTTPTransport.handle_request
        async_handle = httpx.AsyncHTTPTransport.handle_async_request

        def handle_request(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
            sample = _sample_here()
            if sample is None:
                return sync_handle(transport, request)
            started = time.perf_counter()
            try:
                response = sync_handle(transport, request)
                response.read()  # the body is part of the provider's time
                return response
            finally:
                sample.calls.append(_http_call(request, time.perf_counter() - started))

        async def handle_async_request(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
            sample = _sample_here()
            if sample is None:
                return await async_handle(transport, request)
            started = time.perf_counter()
            try:
                response = await async_handle(transport, request)
                await response.aread()
                return response
            finally:
                sample.calls.append(_http_call(request, time.perf_counter() - started))

        setattr(httpx.HTTPTransport, "handle_request", handle_request)  # noqa: B010 (a patch, on purpose)
        setattr(httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request)  # noqa: B010
        self._installed = True

    def hook_client(self, client: Any) -> None:
        """Register the timing and counting hooks on one botocore client."""
        events = client.meta.events  # hierarchical: "after-call" matches after-call.<service>.<operation>
        events.register("provide-client-params", self._on_params, unique_id="bench-params")
        events.register("after-call", self._on_after_call, unique_id="bench-after-call")
        events.register("after-call-error", self._on_after_error, unique_id="bench-after-error")
        self.clients_hooked += 1

    def learn_tables(self, client: Any, names: list[str]) -> None:
        """Read each table's indexes (outside any sample) so transactions can be costed."""
        for name in names:
            table = client.describe_table(TableName=name)["Table"]
            _INDEXES[name] = tuple(
                Index(frozenset(k["AttributeName"] for k in gsi["KeySchema"]), gsi["Projection"]["ProjectionType"])
                for gsi in table.get("GlobalSecondaryIndexes", [])
            )

    @contextmanager
    def record(self) -> Iterator[Sample]:
        sample = Sample()
        token = _current.set(sample)
        _recording.append(sample)
        cpu_started = time.process_time()
        started = time.perf_counter()
        try:
            yield sample
        finally:
            sample.total_s = time.perf_counter() - started
            sample.cpu_s = time.process_time() - cpu_started
            _recording.remove(sample)
            _current.reset(token)

    # botocore handlers -------------------------------------------------
    @staticmethod
    def _on_params(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        sample = _sample_here()
        if sample is None:
            return
        context[_OWNER] = sample
        context["_bench_params"] = dict(params)
        context["_bench_op"] = (model.service_model.service_name, model.name)
        if model.service_model.service_name == "dynamodb" and model.name in _CAPACITY_OPS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        context[_T0] = time.perf_counter()

    @staticmethod
    def _on_after_call(
        http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        sample = context.get(_OWNER)
        if not isinstance(sample, Sample):
            return
        ended = time.perf_counter()
        elapsed = ended - context[_T0]
        service = model.service_model.service_name
        params = context.get("_bench_params", {})
        call = Call(service=service, operation=model.name, seconds=elapsed, ended_at=ended)
        if service == "dynamodb":
            call.tables = _tables(params)
            call.partitions = partitions_touched(model.name, params)
            returned = _returned_capacity(parsed.get("ConsumedCapacity"), model.name)
            if model.name == "TransactWriteItems" and _INDEXES:
                call.wcu, call.capacity_source = transaction_capacity(params, _INDEXES), "computed"
            elif returned is not None:
                call.wcu, call.rcu = returned
                call.capacity_source = "returned"
            else:
                call.wcu, call.rcu = _computed_capacity(model.name, params, parsed)
                call.capacity_source = "computed"
        elif service == "events" and model.name == "PutEvents":
            call.entries = len(params.get("Entries", []))
        if getattr(http_response, "status_code", 200) >= 300:
            call.error = str(parsed.get("Error", {}).get("Code", "error"))
        sample.calls.append(call)

    @staticmethod
    def _on_after_error(exception: Exception, context: dict[str, Any], **_: Any) -> None:
        sample = context.get(_OWNER)
        if not isinstance(sample, Sample):
            return
        ended = time.perf_counter()
        elapsed = ended - context[_T0]
        service, operation = context["_bench_op"]
        call = Call(service=service, operation=operation, seconds=elapsed, ended_at=ended)
        call.tables = _tables(context.get("_bench_params", {}))
        call.error = type(exception).__name__
        sample.calls.append(call)


def _http_call(request: Any, seconds: float) -> Call:
    return Call(
        service="http",
        operation=f"{request.method} {request.url.host}:{request.url.port}",
        seconds=seconds,
        ended_at=time.perf_counter(),
    )


# ---------------------------------------------------------------- partitions
_GSI_PARTITION_KEYS = ("gsi1pk",)  # the tables' index partition keys (template.yaml)


def _key_of(table: str, attributes: Mapping[str, Any] | None, access: str) -> list[tuple[str, str, str]]:
    if not attributes or "pk" not in attributes:
        return []
    ((_, pk),) = attributes["pk"].items()
    touched = [(table, str(pk), access)]
    if access == "write":  # an item carrying an index key also writes that index's partition
        touched += [
            (f"{table}/{name}", str(next(iter(attributes[name].values()))), "write")
            for name in _GSI_PARTITION_KEYS
            if name in attributes
        ]
    return touched


def partitions_touched(operation: str, params: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """The partitions one DynamoDB call reads or writes, by their partition key value.

    A Query on an index is attributed to the index's partition; an UpdateItem to the item's own
    (its index entry, if any, moves with the item and is not known from the request alone).
    """
    table = str(params.get("TableName", ""))
    if operation == "GetItem":
        return tuple(_key_of(table, params.get("Key"), "read"))
    if operation in ("PutItem",):
        return tuple(_key_of(table, params.get("Item"), "write"))
    if operation in ("UpdateItem", "DeleteItem"):
        return tuple(_key_of(table, params.get("Key"), "write"))
    if operation == "Query":
        values = params.get("ExpressionAttributeValues") or {}
        first = next(iter(values.values()), None)
        index = params.get("IndexName")
        name = f"{table}/{index}" if index else table
        return ((name, str(next(iter(first.values()))), "read"),) if first else ()
    if operation == "BatchWriteItem":
        written: list[tuple[str, str, str]] = []
        for name, requests in (params.get("RequestItems") or {}).items():
            for request in requests:
                put, delete = request.get("PutRequest"), request.get("DeleteRequest")
                written += _key_of(str(name), put["Item"] if put else delete["Key"], "write")
        return tuple(written)
    if operation == "BatchGetItem":
        return tuple(
            key
            for name, wanted in (params.get("RequestItems") or {}).items()
            for item_key in wanted.get("Keys", [])
            for key in _key_of(str(name), item_key, "read")
        )
    if operation == "TransactWriteItems":
        touched: list[tuple[str, str, str]] = []
        for entry in params.get("TransactItems", []):
            ((action, request),) = entry.items()
            access = "read" if action == "ConditionCheck" else "write"
            touched += _key_of(str(request["TableName"]), request.get("Item") or request.get("Key"), access)
        return tuple(touched)
    return ()


def hottest_partitions(samples: list[Sample]) -> dict[str, Any]:
    """Per request, over `samples`: the most reads and the most writes that fall on one partition."""
    reads: dict[tuple[str, str], int] = {}
    writes: dict[tuple[str, str], int] = {}
    for sample in samples:
        for call in sample.calls:
            for table, key, access in call.partitions:
                counts = reads if access == "read" else writes
                counts[(table, key)] = counts.get((table, key), 0) + 1
    n = max(1, len(samples))

    def top(counts: dict[tuple[str, str], int]) -> dict[str, Any]:
        if not counts:
            return {"per_request": 0.0, "partition": None}
        (table, key), count = max(counts.items(), key=lambda kv: kv[1])
        return {"per_request": round(count / n, 3), "partition": f"{table}:{_shape(key)}"}

    return {"requests": len(samples), "reads": top(reads), "writes": top(writes)}


def _shape(key: str) -> str:
    """A partition key with its ids blanked (APP#app_…), so the report names a key's kind, not a tenant."""
    return re.sub(r"[0-9a-f]{16,}|[0-9]{6,}|[A-Z0-9-]{8,}$", "…", key)


# ---------------------------------------------------------------- summaries
def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def count_calls(
    sample: Sample, table_names: Mapping[str, str], *, is_provider: Callable[[Call], bool] | None = None
) -> dict[str, Any]:
    """One invocation's calls in the JSON schema of bench_warm (`calls.<op>`)."""
    by_operation: dict[str, int] = {}
    wcu = rcu = 0.0
    sources: set[str] = set()
    dynamodb_requests = 0
    http_requests = 0
    provider_requests = 0
    counts = {"eventbridge_entries": 0, "eventbridge_requests": 0, "secretsmanager_requests": 0}
    counts |= {"stepfunctions_starts": 0, "stepfunctions_stops": 0, "sqs_requests": 0}
    for call in sample.calls:
        if call.service == "dynamodb":
            dynamodb_requests += 1
            tables = sorted({table_names.get(t, t) for t in call.tables}) or ["?"]
            key = f"{'+'.join(tables)}:{call.operation}"
            by_operation[key] = by_operation.get(key, 0) + 1
            wcu += call.wcu
            rcu += call.rcu
            if call.capacity_source:
                sources.add(call.capacity_source)
        elif call.service == "http":
            http_requests += 1
            if is_provider is None or is_provider(call):
                provider_requests += 1
        elif call.service == "events":
            counts["eventbridge_requests"] += 1
            counts["eventbridge_entries"] += call.entries
        elif call.service == "secretsmanager":
            counts["secretsmanager_requests"] += 1
        elif call.service == "stepfunctions" and call.operation == "StartExecution":
            counts["stepfunctions_starts"] += 1
        elif call.service == "stepfunctions" and call.operation == "StopExecution":
            counts["stepfunctions_stops"] += 1
        elif call.service == "sqs":
            counts["sqs_requests"] += 1
    source = "returned" if sources == {"returned"} else "computed" if sources == {"computed"} else "mixed"
    return {
        "lambda_invocations": 1,
        "dynamodb": {
            "requests": dynamodb_requests,
            "by_operation": dict(sorted(by_operation.items())),
            "wcu": _round(wcu),
            "rcu": _round(rcu),
            "capacity_source": source if sources else "none",
        },
        "provider_requests": provider_requests,
        "other_http_requests": http_requests - provider_requests,
        **counts,
        "module_lookups": sorted(set(sample.module_lookups)),
    }


def _round(value: float) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01")))
