"""The audit log: each app sees its own entries, newest first, page by page; no entry holds a secret."""

from __future__ import annotations

import pytest

from paygate.console.audit import MAX_PAGE, AuditEntry, AuditLog
from paygate.store.cursors import InvalidCursorError, encode_cursor

APP = "app_0123456789abcdef"
OTHER_APP = "app_fedcba9876543210"


def _entry(at_ms: int, app_id: str = APP, **fields: object) -> AuditEntry:
    return AuditEntry.model_validate(
        {
            "app_id": app_id,
            "at_ms": at_ms,
            "actor": "ops@shop.example",
            "action": "bill.refund",
            "target": f"bill{at_ms}",
            "outcome": "ok",
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (test)",
            **fields,
        }
    )


def test_entries_come_back_newest_first_as_written(audit: AuditLog, clock):
    written = [_entry(clock.ms + i, detail={"refund_fee": 250, "refund_no": f"R{i}"}) for i in range(3)]
    for entry in written:
        audit.record(entry)

    entries, cursor = audit.recent(APP)

    assert entries == written[::-1]
    assert cursor is None


def test_paging_walks_every_entry_once_newest_first(audit: AuditLog, clock):
    for i in range(5):
        audit.record(_entry(clock.ms + i * 1000))

    pages = []
    cursor = None
    while True:
        entries, cursor = audit.recent(APP, limit=2, before=cursor)
        pages.append([entry.at_ms - clock.ms for entry in entries])
        if cursor is None:
            break

    assert pages == [[4000, 3000], [2000, 1000], [0]]  # and no empty page at the end


def test_a_full_last_page_has_no_next_cursor(audit: AuditLog, clock):
    for i in range(4):
        audit.record(_entry(clock.ms + i))

    first, cursor = audit.recent(APP, limit=2)
    second, end = audit.recent(APP, limit=2, before=cursor)

    assert len(first) == len(second) == 2
    assert end is None


def test_entries_of_the_same_millisecond_are_all_kept(audit: AuditLog, clock):
    for action in ("session.sign_in", "bill.refund", "session.sign_out"):
        audit.record(_entry(clock.ms, action=action))

    entries, _ = audit.recent(APP)

    assert sorted(entry.action for entry in entries) == ["bill.refund", "session.sign_in", "session.sign_out"]


def test_an_app_sees_only_its_own_log(audit: AuditLog, clock):
    audit.record(_entry(clock.ms, target="mine"))
    audit.record(_entry(clock.ms + 1, app_id=OTHER_APP, target="theirs"))

    mine, _ = audit.recent(APP)
    theirs, _ = audit.recent(OTHER_APP)

    assert [entry.target for entry in mine] == ["mine"]
    assert [entry.target for entry in theirs] == ["theirs"]


def test_an_entry_without_a_time_is_stamped_by_the_logs_clock(audit: AuditLog, clock):
    audit.record(_entry(0))

    (entry,), _ = audit.recent(APP)

    assert entry.at_ms == clock.ms


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "garbage",
        encode_cursor({"sk": "USER#ops@shop.example"}),
        encode_cursor({"sk": "1795599000000#zzzzzzzz"}),
        encode_cursor({"pk": "AUDIT#app_fedcba9876543210", "sk": "1795599000000#0123abcd"}),
        "x" * 5000,
    ],
)
def test_a_cursor_the_log_did_not_issue_is_refused(audit: AuditLog, cursor):
    with pytest.raises(InvalidCursorError):
        audit.recent(APP, before=cursor)


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE + 1])
def test_the_page_size_is_bounded(audit: AuditLog, limit):
    with pytest.raises(ValueError, match="limit"):
        audit.recent(APP, limit=limit)


@pytest.mark.parametrize(
    "detail",
    [
        {"password": "hunter2hunter2"},
        {"new_Password": "x"},
        {"secret": "s"},
        {"webhook_secret": "s"},
        {"token": "t"},
        {"csrf_token": "t"},
        {"api_key": "k"},
        {"Key": "k"},
        {"request": {"headers": {"Authorization": "Bearer x"}}},
        {"attempts": [{"session_token": "t"}]},
    ],
)
def test_a_detail_that_looks_like_a_secret_is_refused(audit: AuditLog, db, clock, detail):
    with pytest.raises(ValueError, match="no secrets"):
        audit.record(_entry(clock.ms, detail=detail))

    assert audit.recent(APP) == ([], None)
    assert db.scan(TableName="console")["Items"] == []


def test_the_console_actions_details_are_accepted(audit: AuditLog, clock):
    audit.record(_entry(clock.ms, detail={"refund_fee": 250, "refund_no": "R1"}))
    audit.record(_entry(clock.ms + 1, action="webhook.resend", detail={"endpoint_id": "we_1"}))

    entries, _ = audit.recent(APP)

    assert [entry.detail for entry in entries] == [{"endpoint_id": "we_1"}, {"refund_fee": 250, "refund_no": "R1"}]
