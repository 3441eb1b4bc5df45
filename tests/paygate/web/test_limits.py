"""The per-key limit of the checkout status endpoint: a burst, then the rate; keys apart; bounded."""

from __future__ import annotations

from paygate.web.limits import KeyedRateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_a_second_with_the_wait_to_tell():
    clock = Clock()
    limit = KeyedRateLimit(rate=1.0, burst=3, clock=clock)

    assert [limit.retry_after("a") for _ in range(4)] == [None, None, None, 1]
    clock.now += 1.0
    assert limit.retry_after("a") is None
    assert limit.retry_after("b") is None  # another page has its own bucket


def test_the_wait_covers_the_missing_token_at_a_slow_rate():
    clock = Clock()
    limit = KeyedRateLimit(rate=0.25, burst=1, clock=clock)

    assert limit.retry_after("a") is None
    assert limit.retry_after("a") == 4


def test_it_holds_at_most_max_keys_dropping_the_least_recent():
    clock = Clock()
    limit = KeyedRateLimit(rate=1.0, burst=1, max_keys=2, clock=clock)

    limit.retry_after("a")
    limit.retry_after("b")
    limit.retry_after("c")  # "a" is dropped: it starts again with a full bucket

    assert limit.retry_after("a") is None
    assert limit.retry_after("c") == 1
