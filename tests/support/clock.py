"""Dates as the product sees them, for tests that must pass at any instant, in any time zone.

A refund_no carries the day in China time (UTC+8) and paygate checks it when the request
arrives. A date computed once (at import, or at the start of a long test) and used for a refund
created later is wrong after 00:00 China time; so is a date computed a moment before midnight
and sent a moment after. `refund_no` closes both gaps: it is called right before the request
that creates the refund, and it never hands out a date that ends within `margin_s`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from paygate.clock import CHINA_TZ, china_date, now_ms

DAY_MS = 86_400_000
CHINA_OFFSET_MS = 8 * 3_600_000
MIDNIGHT_MARGIN_S = 5.0  # far longer than one request to the local stack takes


def next_china_midnight_ms(ms: int) -> int:
    """The first instant (ms since the epoch) of the China day after the one `ms` falls in."""
    return (ms + CHINA_OFFSET_MS) // DAY_MS * DAY_MS + DAY_MS - CHINA_OFFSET_MS


def china_ms(text: str) -> int:
    """`"2028-02-29 23:59:59.900"` read as China wall-clock time, in ms since the epoch."""
    moment = datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def today_in_china(
    *,
    margin_s: float = MIDNIGHT_MARGIN_S,
    clock: Callable[[], int] = now_ms,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Today's yyyyMMdd in China time that stays today for at least `margin_s` more seconds.

    Within `margin_s` of China midnight it waits for midnight to pass (a bounded wait: at most
    `margin_s`), so the day returned is the day paygate (and BeeCloud) will check against.
    """
    now = clock()
    left_ms = next_china_midnight_ms(now) - now
    if left_ms <= margin_s * 1000:
        sleep(left_ms / 1000 + 0.05)
        now = clock()
    return china_date(now)


def refund_no(
    serial: str,
    *,
    margin_s: float = MIDNIGHT_MARGIN_S,
    clock: Callable[[], int] = now_ms,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """A refund_no valid now: today's China date + `serial`. Call it right before the POST, keep it."""
    return f"{today_in_china(margin_s=margin_s, clock=clock, sleep=sleep)}{serial}"
