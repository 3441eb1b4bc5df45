"""One place for 'now', so tests and the ledger agree on milliseconds since the epoch."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_from_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def china_date(ms: int) -> str:
    """BeeCloud's refund_no starts with the refund day in China (UTC+8)."""
    return datetime.fromtimestamp(ms / 1000, tz=CHINA_TZ).strftime("%Y%m%d")
