"""EventBridge rules on moto, with Lambda and Step Functions targets bridged through SQS.

moto delivers rule matches to SQS targets but fails PutEvents with a 500 when a rule targets a
Lambda function or a state machine. So such a rule is created with a runner-owned queue as its
target, and a bridge thread long-polls that queue and invokes the function (async semantics:
two retries) or starts the execution. A catch-all rule per bus feeds the in-memory event log.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from paygate_local.moto_server import MotoServer
from paygate_local.schedules import Schedule, ScheduledRule, Scheduler
from paygate_local.template import ACCOUNT_ID, REGION
from paygate_local.workers import Functions

log = logging.getLogger(__name__)

CATCH_ALL = {"source": [{"prefix": ""}]}
# moto's default delivery template drops `account`; this one is AWS's whole envelope.
_ENVELOPE = {
    "InputPathsMap": {
        key: f"$.{key}" for key in ("id", "detail-type", "source", "account", "time", "region", "resources", "detail")
    },
    "InputTemplate": (
        '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
        '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
        '"detail": <detail>}'
    ),
}
ASYNC_RETRY_DELAYS_S = (60, 120)  # Lambda's asynchronous invocation: two retries, 1 and 2 min
BRIDGE_VISIBILITY_S = 900


@dataclass
class RuleSpec:
    """One EventBridge rule as the template declares it (AWS::Events::Rule or a SAM event)."""

    name: str
    bus: str
    pattern: dict[str, Any] | None
    targets: list[dict[str, Any]]
    state: str = "ENABLED"
    schedule: str | None = None
    aliases: frozenset[str] = frozenset()  # other names it answers to (a SAM event's id)


@dataclass
class EventLog:
    """Every event published on any bus, newest last (what `GET /_local/events` serves)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    limit: int = 10_000

    def add(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)
            del self.events[: -self.limit]

    def query(self, detail_type: str | None = None, source: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                e
                for e in self.events
                if (detail_type is None or e.get("detail-type") == detail_type)
                and (source is None or e.get("source") == source)
            ]

    def route(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """The /_local/events handler: optional ?detail_type= and ?source= filters."""
        detail_type = query["detail_type"][-1] if "detail_type" in query else None
        source = query["source"][-1] if "source" in query else None
        body = json.dumps(self.query(detail_type, source)).encode()
        return 200, "application/json", body


def _complete_envelope(event: Any) -> Any:
    """moto's delivered envelope lacks `account`; add it back so consumers see AWS's shape."""
    if isinstance(event, dict) and {"id", "source", "detail-type", "detail"} <= set(event):
        event.setdefault("version", "0")
        event.setdefault("account", ACCOUNT_ID)
        event.setdefault("region", REGION)
    return event


def _input_path(event: Any, path: str) -> Any:
    """EventBridge InputPath: the simple `$.a.b` JSONPath subset."""
    value = event
    for key in [k for k in path.lstrip("$").split(".") if k]:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _queue_name(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", "-".join(parts))[:80]


class Poller(threading.Thread):
    """Long-polls one SQS queue on moto and hands each message to `handle` (True = delete)."""

    def __init__(self, moto: MotoServer, queue_url: str, handle: Callable[[dict[str, Any]], bool]) -> None:
        super().__init__(name=f"poll-{queue_url.rsplit('/', 1)[-1]}", daemon=True)
        self.sqs = moto.client("sqs")
        self.queue_url = queue_url
        self.handle = handle
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                received = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                )
            except Exception:
                if not self.stopping.is_set():
                    log.exception("polling %s failed", self.queue_url)
                    self.stopping.wait(1)
                continue
            for message in received.get("Messages", []):
                try:
                    done = self.handle(message)
                except Exception:
                    log.exception("bridge handler failed on %s", self.queue_url)
                    done = False
                if done:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def stop(self) -> None:
        self.stopping.set()


class EventBridge:
    """Creates buses and rules on moto and runs the bridges and the event log."""

    def __init__(self, moto: MotoServer, functions: Functions, prefix: str, time_scale: float = 1.0) -> None:
        self.moto = moto
        self.functions = functions
        self.prefix = prefix
        self.time_scale = time_scale
        self.events = moto.client("events")
        self.sqs = moto.client("sqs")
        self.sfn = moto.client("stepfunctions")
        self.log = EventLog()
        self.pollers: list[Poller] = []
        self.scheduler = Scheduler()

    def create_bus(self, name: str) -> None:
        if name != "default":
            self.events.create_event_bus(Name=name)

    def start_event_log(self, buses: list[str]) -> None:
        """One catch-all rule per bus, all into one queue drained into `self.log`."""
        url, arn = self._queue(_queue_name(self.prefix, "event-log"))
        for bus in buses:
            rule = _queue_name(self.prefix, "event-log")[:64]
            self.events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(CATCH_ALL))
            target = {"Id": "event-log", "Arn": arn, "InputTransformer": _ENVELOPE}
            self.events.put_targets(Rule=rule, EventBusName=bus, Targets=[target])

        def record(message: dict[str, Any]) -> bool:
            self.log.add(_complete_envelope(json.loads(message["Body"])))
            return True

        self._poll(url, record)

    def create_rule(self, rule: RuleSpec) -> None:
        """Put the rule; SQS targets as declared, Lambda / Step Functions targets via a bridge."""
        kwargs: dict[str, Any] = {"Name": rule.name, "EventBusName": rule.bus, "State": rule.state}
        if rule.pattern is not None:
            kwargs["EventPattern"] = json.dumps(rule.pattern)
        if rule.schedule:
            kwargs["ScheduleExpression"] = rule.schedule
        arn = self.events.put_rule(**kwargs)["RuleArn"]
        targets, queues = [], []
        for target in rule.targets:
            service = target["Arn"].split(":")[2]
            if service in {"lambda", "states"}:
                through, url = self._bridge(rule, target, service)
                targets.append(through)
                queues.append(url)
            elif {"Input", "InputPath", "InputTransformer"} & set(target):
                targets.append(target)
            else:
                targets.append({**target, "InputTransformer": _ENVELOPE})
        if targets:
            self.events.put_targets(Rule=rule.name, EventBusName=rule.bus, Targets=targets)
        if rule.schedule and rule.state == "ENABLED":
            self._schedule(rule, arn, queues)

    def _schedule(self, rule: RuleSpec, arn: str, queues: list[str]) -> None:
        """moto never fires a schedule: the scheduler does, through the rule's bridges."""
        assert rule.schedule is not None
        try:
            schedule = Schedule.parse(rule.schedule)
        except ValueError as exc:
            log.warning("rule %s (%s) never fires locally: %s", rule.name, rule.schedule, exc)
            return
        if len(queues) != len(rule.targets):
            log.warning("rule %s: only its Lambda and Step Functions targets fire locally", rule.name)
        aliases = {rule.name}
        for target in rule.targets:
            pool = self.functions.find(target["Arn"])
            if pool is not None:
                aliases.add(pool.spec.logical_id)
        aliases.update(rule.aliases)

        def deliver(event: dict[str, Any]) -> None:
            for url in queues:
                self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))

        self.scheduler.add(ScheduledRule(rule.name, arn, schedule, deliver, frozenset(aliases)))

    def _bridge(self, rule: RuleSpec, target: dict[str, Any], service: str) -> tuple[dict[str, Any], str]:
        url, arn = self._queue(_queue_name(self.prefix, "bridge", rule.name, target["Id"]))
        through = {"Id": target["Id"], "Arn": arn, "InputTransformer": target.get("InputTransformer", _ENVELOPE)}

        def payload(message: dict[str, Any]) -> Any:
            event = _complete_envelope(json.loads(message["Body"]))
            if "Input" in target:
                return json.loads(target["Input"])
            if "InputPath" in target:
                return _input_path(event, target["InputPath"])
            return event

        if service == "lambda":
            self._poll(url, lambda m: self._deliver_to_lambda(url, target["Arn"], m, payload(m)))
        else:
            self._poll(url, lambda m: self._start_execution(target["Arn"], payload(m)))
        return through, url

    def _deliver_to_lambda(self, url: str, arn: str, message: dict[str, Any], event: Any) -> bool:
        pool = self.functions.find(arn)
        if pool is None:
            log.error("rule target %s is not a function of this template; event dropped", arn)
            return True
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        result = pool.invoke(event, arn)
        if result.function_error is None:
            return True
        if attempt > len(ASYNC_RETRY_DELAYS_S):
            log.error("%s failed %d times on an event; dropped (no DLQ locally)", pool.spec.name, attempt)
            return True
        delay = max(int(ASYNC_RETRY_DELAYS_S[attempt - 1] * self.time_scale), 0)
        self.sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
        )
        return False

    def _start_execution(self, arn: str, event: Any) -> bool:
        # EventBridge names the execution itself; moto's interpreter would call every unnamed one "None".
        self.sfn.start_execution(stateMachineArn=arn, name=str(uuid.uuid4()), input=json.dumps(event))
        return True

    def _queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(BRIDGE_VISIBILITY_S)})[
            "QueueUrl"
        ]
        return url, f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"

    def _poll(self, url: str, handle: Callable[[dict[str, Any]], bool]) -> None:
        poller = Poller(self.moto, url, handle)
        poller.start()
        self.pollers.append(poller)

    def stop(self) -> None:
        self.scheduler.stop()
        for poller in self.pollers:
            poller.stop()
        for poller in self.pollers:
            poller.join(timeout=5)


def rules_from_template(
    rule_resources: list[tuple[str, dict[str, Any]]],
    sam_events: list[tuple[str, str, dict[str, Any]]],
    prefix: str,
) -> list[RuleSpec]:
    """AWS::Events::Rule resources plus SAM `EventBridgeRule`/`CloudWatchEvent`/`Schedule` events.

    `rule_resources` is (physical name, properties); `sam_events` is (target ARN, event id, event).
    """
    rules = [
        RuleSpec(
            name=name,
            bus=_bus_name(props.get("EventBusName", "default")),
            pattern=props.get("EventPattern"),
            targets=list(props.get("Targets") or []),
            state=props.get("State", "ENABLED"),
            schedule=props.get("ScheduleExpression"),
        )
        for name, props in rule_resources
    ]
    for target_arn, event_id, event in sam_events:
        props = event.get("Properties") or {}
        target: dict[str, Any] = {
            "Id": (props.get("Target") or {}).get("Id", f"{event_id}Target"),
            "Arn": target_arn,
        }
        for key in ("Input", "InputPath", "InputTransformer"):
            if key in props:
                target[key] = props[key]
        rules.append(
            RuleSpec(
                name=_queue_name(prefix, event_id)[:64],
                bus=_bus_name(props.get("EventBusName", "default")),
                pattern=props.get("Pattern"),
                targets=[target],
                state="DISABLED" if props.get("Enabled") is False else props.get("State", "ENABLED"),
                schedule=props.get("Schedule"),
                aliases=frozenset({event_id}),
            )
        )
    return rules


def _bus_name(name_or_arn: str) -> str:
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
