"""Scheduled rules fire locally as EventBridge fires them: the expressions, the clock, the delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from paygate_local.schedules import Schedule, ScheduledRule, Scheduler, UnsupportedScheduleError, scheduled_event
from tests.paygate_local.helpers import aws_client, eventually


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # The daily reconciliation: 18:30 UTC, later the same day or the next.
        ("cron(30 18 * * ? *)", "2026-12-04T18:29:59", "2026-12-04T18:30:00"),
        ("cron(30 18 * * ? *)", "2026-12-04T18:30:00", "2026-12-05T18:30:00"),
        ("cron(30 18 * * ? *)", "2026-12-31T20:00:00", "2027-01-01T18:30:00"),
        # Day of week counts 1 = Sunday ... 7 = Saturday, and takes names.
        ("cron(0 12 ? * MON-FRI *)", "2026-12-05T13:00:00", "2026-12-07T12:00:00"),  # Saturday -> Monday
        ("cron(0 9 ? * 1 *)", "2026-12-04T00:00:00", "2026-12-06T09:00:00"),  # 1 is Sunday
        ("cron(0/15 * * * ? *)", "2026-12-04T10:07:00", "2026-12-04T10:15:00"),
        ("cron(0 0 29 FEB ? *)", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),  # the next leap day
        ("cron(5,35 8-9 1 * ? 2027)", "2026-12-04T00:00:00", "2027-01-01T08:05:00"),
    ],
)
def test_cron_fires_at_the_next_matching_minute_in_utc(expression, after, expected):
    assert Schedule.parse(expression).next_after(at(after)) == at(expected)


def test_a_rate_counts_from_the_rules_creation():
    created = at("2026-12-04T10:00:00")

    schedule = Schedule.parse("rate(5 minutes)")

    assert schedule.next_after(created, since=created) == at("2026-12-04T10:05:00")
    assert schedule.next_after(at("2026-12-04T10:12:00"), since=created) == at("2026-12-04T10:15:00")
    assert Schedule.parse("rate(1 day)").next_after(created, since=created) == at("2026-12-05T10:00:00")


@pytest.mark.parametrize(
    "expression",
    ["cron(30 18 * * * *)", "cron(30 18 ? * ? *)", "cron(30 18 * *)", "cron(61 18 * * ? *)", "rate(0 minutes)",
     "rate(5 fortnights)", "at(2026-12-04T10:00:00)"],
)  # fmt: skip
def test_expressions_eventbridge_refuses_are_refused(expression):
    with pytest.raises(ValueError, match=r"."):
        Schedule.parse(expression)


def test_l_w_and_hash_are_said_not_to_fire_locally():
    with pytest.raises(UnsupportedScheduleError):
        Schedule.parse("cron(0 12 L * ? *)")


def test_the_scheduler_fires_what_is_due_once_and_keeps_going_after_a_failed_delivery():
    received: list[dict] = []
    clock = [at("2026-12-04T18:29:00")]
    scheduler = Scheduler(now=lambda: clock[0])

    def broken(event: dict) -> None:
        raise RuntimeError("target unreachable")

    scheduler.add(ScheduledRule("nightly", "arn:rule/nightly", Schedule.parse("cron(30 18 * * ? *)"), received.append))
    scheduler.add(ScheduledRule("broken", "arn:rule/broken", Schedule.parse("cron(30 18 * * ? *)"), broken))

    early = scheduler.tick(clock[0])
    clock[0] = at("2026-12-04T18:30:00")
    upcoming = scheduler.tick(clock[0])
    again = scheduler.tick(clock[0] + timedelta(seconds=30))

    assert early == at("2026-12-04T18:30:00")
    assert upcoming == at("2026-12-05T18:30:00")
    assert again == upcoming
    assert len(received) == 1  # fired once, not once per tick
    event = received[0]
    assert (event["detail-type"], event["source"], event["resources"]) == (
        "Scheduled Event",
        "aws.events",
        ["arn:rule/nightly"],
    )
    assert (event["time"], event["detail"]) == ("2026-12-04T18:30:00Z", {})


def test_a_scheduled_event_has_eventbridges_shape():
    event = scheduled_event("arn:aws:events:us-east-1:123456789012:rule/r", at("2026-12-04T18:30:00"))

    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def _scheduled_items(stack) -> list[dict]:
    items = aws_client("dynamodb", stack.info.dynamodb_url).scan(TableName="plt-fixture-ItemsTable")["Items"]
    return [json.loads(item["event"]["S"]) for item in items if item["pk"]["S"].startswith("scheduled#")]


def test_the_stack_lists_its_scheduled_rules_with_their_next_firing(fixture_stack):
    listed = httpx.get(fixture_stack.info.api_url + "/_local/schedules").json()

    by_schedule = {entry["schedule"]: entry for entry in listed}
    assert set(by_schedule) == {"cron(30 18 * * ? *)", "rate(1 hour)"}  # the disabled one is not scheduled
    nightly = by_schedule["cron(30 18 * * ? *)"]
    assert {"ScheduledFunction", "Nightly"} <= set(nightly["targets"])
    assert nightly["next"].endswith("T18:30:00Z")


def test_firing_on_demand_delivers_the_rules_input_or_the_scheduled_event(fixture_stack):
    before = len(_scheduled_items(fixture_stack))

    nightly = httpx.post(fixture_stack.info.api_url + "/_local/schedules/fire", params={"rule": "Nightly"})
    hourly = httpx.post(fixture_stack.info.api_url + "/_local/schedules/fire", params={"rule": "Hourly"})
    unknown = httpx.post(fixture_stack.info.api_url + "/_local/schedules/fire", params={"rule": "Weekly"})

    assert (nightly.status_code, hourly.status_code, unknown.status_code) == (202, 202, 404)
    assert "Nightly" in unknown.json()["known"]
    events = eventually(lambda: (found := _scheduled_items(fixture_stack)[before:]) and len(found) >= 2 and found)
    assert {"job": "nightly"} in events  # the rule's Input replaces the event, as in AWS
    (scheduled,) = [e for e in events if e != {"job": "nightly"}]
    assert scheduled["detail-type"] == "Scheduled Event"
