"""Scheduled rules fire locally as EventBridge fires them: `rate(...)` and `cron(...)`, in UTC.

moto stores a rule's ScheduleExpression but never fires it, so the daily reconciliation would
never run on a laptop. `Scheduler` keeps each scheduled rule's next time, and when it comes (or
when someone asks, `POST /_local/schedules/fire?rule=...`, `python -m paygate_local fire ...`)
hands EventBridge's "Scheduled Event" to the rule's targets through the bridge, so Input,
InputPath and the retry policy apply exactly as for any other event. Times are wall-clock UTC:
the stack's time scale does not shorten a schedule.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from paygate_local.template import ACCOUNT_ID, REGION

log = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}  # EventBridge: 1 = Sunday
_SEARCH_LIMIT = timedelta(days=366 * 5)


class UnsupportedScheduleError(ValueError):
    """An expression EventBridge accepts but this emulation does not fire (said once at start)."""


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """The values a cron field allows; None for `*` or `?` (anything)."""
    if text in ("*", "?"):
        return None
    if any(mark in text for mark in ("L", "W", "#")) and not (names and text.upper() in names):
        raise UnsupportedScheduleError(f"cron field {text!r}: L, W and # are not fired locally")
    values: set[int] = set()
    for part in text.split(","):
        part_range, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if part_range == "*":
            start, end = low, high
        elif "-" in part_range:
            first, last = part_range.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(part_range, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or step < 1:
            raise ValueError(f"cron field {text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return int(text)


@dataclass(frozen=True)
class Schedule:
    """A parsed ScheduleExpression; `next_after(t)` is the first firing strictly after `t`."""

    expression: str
    every: timedelta | None = None
    minutes: frozenset[int] | None = None
    hours: frozenset[int] | None = None
    days_of_month: frozenset[int] | None = None
    months: frozenset[int] | None = None
    days_of_week: frozenset[int] | None = None
    years: frozenset[int] | None = None

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        expression = expression.strip()
        if rate := _RATE.match(expression):
            count, unit = int(rate[1]), rate[2].rstrip("s")
            if count < 1:
                raise ValueError(f"{expression}: the rate must be at least 1")
            return cls(expression, every=timedelta(**{f"{unit}s": count}))
        cron = _CRON.match(expression)
        if not cron:
            raise ValueError(f"{expression!r} is neither rate(...) nor cron(...)")
        fields = cron[1].split()
        if len(fields) != 6:
            raise ValueError(f"{expression}: cron takes 6 fields (minutes hours day-of-month month day-of-week year)")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ValueError(f"{expression}: exactly one of day-of-month and day-of-week must be ?")
        return cls(
            expression,
            minutes=_field(minute, 0, 59),
            hours=_field(hour, 0, 23),
            days_of_month=_field(dom, 1, 31),
            months=_field(month, 1, 12, {k.upper(): v for k, v in _MONTHS.items()}),
            days_of_week=_field(dow, 1, 7, _DAYS),
            years=_field(year, 1970, 2199),
        )

    def next_after(self, after: datetime, *, since: datetime | None = None) -> datetime | None:
        """The next firing after `after` (UTC); a rate counts from `since` (the rule's creation)."""
        if self.every is not None:
            origin = since or after
            elapsed = max(after - origin, timedelta(0))
            periods = elapsed // self.every + 1
            return origin + periods * self.every
        moment = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = moment + _SEARCH_LIMIT
        while moment < limit:
            if not self._day_matches(moment):
                moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            elif self.hours is not None and moment.hour not in self.hours:
                moment = (moment + timedelta(hours=1)).replace(minute=0)
            elif self.minutes is not None and moment.minute not in self.minutes:
                moment += timedelta(minutes=1)
            else:
                return moment
        return None

    def _day_matches(self, moment: datetime) -> bool:
        weekday = (moment.isoweekday() % 7) + 1  # Sunday 1 ... Saturday 7
        return (
            (self.years is None or moment.year in self.years)
            and (self.months is None or moment.month in self.months)
            and (self.days_of_month is None or moment.day in self.days_of_month)
            and (self.days_of_week is None or weekday in self.days_of_week)
        )


def scheduled_event(rule_arn: str, at: datetime) -> dict[str, Any]:
    """The event EventBridge sends a scheduled rule's targets."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


Deliver = Callable[[dict[str, Any]], None]  # hands one event to one rule's targets


@dataclass
class ScheduledRule:
    name: str
    arn: str
    schedule: Schedule
    deliver: Deliver
    aliases: frozenset[str] = frozenset()  # the target function's logical id, the SAM event id
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    next_at: datetime | None = None
    fired: list[str] = field(default_factory=list)

    def fire(self, at: datetime) -> None:
        self.deliver(scheduled_event(self.arn, at))
        self.fired = [*self.fired[-9:], at.strftime("%Y-%m-%dT%H:%M:%SZ")]
        log.info("scheduled rule %s fired (%s)", self.name, self.schedule.expression)


class Scheduler:
    """One thread firing every enabled scheduled rule at its next time."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.rules: list[ScheduledRule] = []
        self._now = now
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="schedules", daemon=True)

    def add(self, rule: ScheduledRule) -> None:
        with self._lock:
            rule.next_at = rule.schedule.next_after(self._now(), since=rule.created)
            self.rules.append(rule)
        self._wake.set()

    def find(self, name: str) -> ScheduledRule | None:
        with self._lock:
            return next((r for r in self.rules if name == r.name or name in r.aliases), None)

    def fire_now(self, name: str) -> ScheduledRule | None:
        """On demand, as `aws events` cannot: the rule's event now, its schedule unchanged."""
        rule = self.find(name)
        if rule is not None:
            rule.fire(self._now())
        return rule

    def tick(self, now: datetime) -> datetime | None:
        """Fire what is due at `now`; the next time anything is due."""
        with self._lock:
            due = [r for r in self.rules if r.next_at is not None and r.next_at <= now]
            for rule in due:
                rule.next_at = rule.schedule.next_after(now, since=rule.created)
            upcoming = [r.next_at for r in self.rules if r.next_at is not None]
        for rule in due:
            try:
                rule.fire(now)
            except Exception:  # one target's failure never stops the clock
                log.exception("scheduled rule %s could not be delivered", rule.name)
        return min(upcoming, default=None)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.clear()
            upcoming = self.tick(self._now())
            wait = 3600.0 if upcoming is None else max((upcoming - self._now()).total_seconds(), 0.0)
            self._wake.wait(min(wait, 3600.0))

    def route(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """GET /_local/schedules: every scheduled rule, its expression, next and last firings."""
        with self._lock:
            listed = [
                {
                    "rule": r.name,
                    "schedule": r.schedule.expression,
                    "targets": sorted(r.aliases),
                    "next": r.next_at.strftime("%Y-%m-%dT%H:%M:%SZ") if r.next_at else None,
                    "fired": list(r.fired),
                }
                for r in self.rules
            ]
        return 200, "application/json", json.dumps(listed).encode()

    def fire_route(self, query: dict[str, list[str]]) -> tuple[int, str, bytes]:
        """POST /_local/schedules/fire?rule=<rule, target function or event id>."""
        name = (query.get("rule") or [""])[-1]
        rule = self.fire_now(name) if name else None
        if rule is None:
            known = sorted({alias for r in self.rules for alias in (r.name, *r.aliases)})
            body = {"message": f"no scheduled rule {name!r}", "known": known}
            return 404, "application/json", json.dumps(body).encode()
        return 202, "application/json", json.dumps({"fired": rule.name, "at": rule.fired[-1]}).encode()
