"""The follow-up schedule and scheduler offline: delays, the attempt bound, a refusing queue."""

from __future__ import annotations

from paygate.models import Bill, BillStatus, Channel, ProviderState
from paygate.payments.refresh import FollowUp, FollowUpSchedule, FollowUpScheduler, needs_follow_up


def _bill(**overrides):
    fields = {
        "app_id": "app_0123456789abcdef",
        "bill_no": "SCHEDULE0001",
        "channel": Channel.WX_NATIVE,
        "total_fee": 100,
        "title": "白开水",
        "status": BillStatus.PENDING,
        "request_hash": "h",
        "provider_state": ProviderState.CREATED.value,
        "lease_until_ms": 0,
        "created_at_ms": 1_000,
        "updated_at_ms": 2_000,
    }
    return Bill(**{**fields, **overrides})


def test_delays_double_from_the_parameter_and_never_pass_sqs_900_s():
    assert [FollowUpSchedule(300).delay_before(n) for n in (1, 2, 3)] == [300, 600, 900]
    assert [FollowUpSchedule(1).delay_before(n) for n in (1, 2, 3)] == [1, 2, 4]
    assert [FollowUpSchedule(900).delay_before(n) for n in (1, 2, 3)] == [900, 900, 900]


def test_the_first_follow_up_waits_the_first_delay_and_the_last_one_queues_nothing():
    sent: list[tuple[FollowUp, int]] = []
    scheduler = FollowUpScheduler(lambda f, d: sent.append((f, d)), FollowUpSchedule(300, attempts=3))

    assert scheduler.start(_bill())
    assert scheduler.next(sent[-1][0])
    assert scheduler.next(sent[-1][0])
    assert not scheduler.next(sent[-1][0])

    assert [(f.attempt, d) for f, d in sent] == [(1, 300), (2, 600), (3, 900)]
    assert {(f.app_id, f.bill_no) for f, _ in sent} == {("app_0123456789abcdef", "SCHEDULE0001")}


def test_a_refusing_queue_is_logged_not_raised():
    def refuse(follow_up: FollowUp, delay_s: int) -> None:
        raise ConnectionError("queue unreachable")

    assert FollowUpScheduler(refuse, FollowUpSchedule(300)).start(_bill()) is False


def test_only_a_pending_bill_created_at_beecloud_by_this_request_is_followed_up():
    assert needs_follow_up(_bill(), answered_since_ms=2_000)
    assert not needs_follow_up(_bill(), answered_since_ms=2_001)  # an identical repeat of an older bill
    assert not needs_follow_up(_bill(provider_state=ProviderState.UNKNOWN.value), answered_since_ms=0)
    assert not needs_follow_up(_bill(status=BillStatus.SUCCEEDED), answered_since_ms=0)
