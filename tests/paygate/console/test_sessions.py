"""Console sessions: only the token's hash is stored; a session ends at 8 hours, after 30 idle
minutes, at sign-out, and at once when its user is disabled, re-passworded or given another role."""

from __future__ import annotations

import hashlib

import pytest

from paygate.console.sessions import IDLE_TIMEOUT_MS, SESSION_TTL_MS, ConsoleSession, SessionService
from paygate.console.users import ConsoleUser, Role, UserService

APP = "app_0123456789abcdef"
EMAIL = "ops@shop.example"
PASSWORD = "correct horse battery"
IP = "203.0.113.7"
AGENT = "Mozilla/5.0 (test)"
MINUTE_MS = 60_000


@pytest.fixture
def user(users: UserService, clock) -> ConsoleUser:
    created, _ = users.create(APP, EMAIL, Role.OPERATOR, PASSWORD)
    clock.advance(1000)  # the user signs in a moment after it was created
    return created


def _updates(db) -> int:
    return sum(1 for operation, _ in db.requests if operation == "UpdateItem")


def test_a_session_is_stored_under_the_tokens_hash_never_the_token(sessions: SessionService, user, db, clock):
    token, session = sessions.start(user, IP, AGENT)

    (item,) = [i for i in db.scan(TableName="console")["Items"] if i["pk"]["S"].startswith("SESSION#")]
    assert item["pk"]["S"] == "SESSION#" + hashlib.sha256(token.encode()).hexdigest()
    assert item["sk"]["S"] == "SESSION"
    assert token not in str(item)
    assert session.session_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (session.app_id, session.email, session.role, session.ip, session.user_agent) == (
        APP,
        EMAIL,
        Role.OPERATOR,
        IP,
        AGENT,
    )
    assert session.created_at_ms == session.last_seen_ms == clock.ms
    assert session.expires_at_ms == clock.ms + SESSION_TTL_MS
    assert int(item["expires_at"]["N"]) * 1000 >= session.expires_at_ms  # the table's TTL, in seconds
    assert int(item["expires_at"]["N"]) * 1000 - session.expires_at_ms < 1000
    assert len(token) >= 43  # 32 random bytes
    assert len(session.csrf_token) >= 43
    assert sessions.current(token) == session


def test_each_sign_in_gets_its_own_token_and_csrf_token(sessions: SessionService, user):
    first_token, first = sessions.start(user, IP, AGENT)
    second_token, second = sessions.start(user, IP, AGENT)

    assert first_token != second_token
    assert first.csrf_token != second.csrf_token
    assert sessions.current(first_token) == first
    assert sessions.current(second_token) == second


@pytest.mark.parametrize("token", [None, "", "unknown-token", "x" * 10_000, "\ud800"])
def test_no_session_for_a_missing_or_unknown_token(sessions: SessionService, user, token):
    sessions.start(user, IP, AGENT)
    assert sessions.current(token) is None


def test_a_disabled_user_cannot_start_a_session(sessions: SessionService, users: UserService, user):
    with pytest.raises(ValueError, match="disabled"):
        sessions.start(users.disable(EMAIL), IP, AGENT)


def test_a_session_ends_after_30_idle_minutes(sessions: SessionService, user, clock):
    token, _ = sessions.start(user, IP, AGENT)

    clock.advance(IDLE_TIMEOUT_MS - 1)
    still = sessions.current(token)
    clock.advance(IDLE_TIMEOUT_MS - 1)  # measured from the last request
    again = sessions.current(token)
    clock.advance(IDLE_TIMEOUT_MS)
    over = sessions.current(token)
    clock.advance(-IDLE_TIMEOUT_MS)  # over for good, even for a clock that disagrees

    assert still is not None
    assert again is not None
    assert over is None
    assert sessions.current(token) is None


def test_a_busy_session_still_ends_8_hours_after_sign_in(sessions: SessionService, user, clock):
    token, session = sessions.start(user, IP, AGENT)

    while clock.ms + 10 * MINUTE_MS < session.expires_at_ms:
        clock.advance(10 * MINUTE_MS)
        assert sessions.current(token) is not None
    clock.ms = session.expires_at_ms - 1
    assert sessions.current(token) is not None
    clock.ms = session.expires_at_ms

    assert sessions.current(token) is None


def test_last_seen_is_written_at_most_once_a_minute(sessions: SessionService, user, db, clock):
    token, session = sessions.start(user, IP, AGENT)
    before = _updates(db)

    for _ in range(5):
        clock.advance(10_000)
        assert sessions.current(token) is not None
    quiet = _updates(db)
    clock.advance(10_000)  # a minute since sign-in
    seen = sessions.current(token)

    assert quiet == before  # five requests within the minute: no write
    assert _updates(db) == before + 1
    assert seen is not None
    assert seen.last_seen_ms == clock.ms
    item = db.get_item(
        TableName="console", Key={"pk": {"S": f"SESSION#{session.session_hash}"}, "sk": {"S": "SESSION"}}
    )
    assert int(item["Item"]["last_seen_ms"]["N"]) == clock.ms
    # The TTL follows the idle end, so an abandoned session leaves the table soon after it is over.
    assert int(item["Item"]["expires_at"]["N"]) == -(-(clock.ms + IDLE_TIMEOUT_MS) // 1000)


def test_two_requests_racing_write_last_seen_once(sessions: SessionService, console, user, db, clock):
    token, session = sessions.start(user, IP, AGENT)
    clock.advance(MINUTE_MS)
    seen_by = clock.ms - MINUTE_MS  # both requests read the session before either wrote

    first = console.touch_session(session.session_hash, seen_by, clock.ms, 0)
    second = console.touch_session(session.session_hash, seen_by, clock.ms, 0)
    current = sessions.current(token)

    assert (first, second) == (True, False)
    assert current is not None
    assert current.last_seen_ms == clock.ms


def test_signing_out_ends_the_session_and_repeats_harmlessly(sessions: SessionService, user, clock):
    token, _ = sessions.start(user, IP, AGENT)
    other_token, _ = sessions.start(user, IP, AGENT)

    sessions.end(token)
    sessions.end(token)
    sessions.end(None)
    sessions.end("")
    clock.advance(MINUTE_MS)  # a late request must not bring it back by writing last_seen

    assert sessions.current(token) is None
    assert sessions.current(other_token) is not None


def test_an_ended_session_is_not_recreated_by_a_last_seen_write(console, sessions: SessionService, user, clock):
    token, session = sessions.start(user, IP, AGENT)
    sessions.end(token)

    assert not console.touch_session(session.session_hash, clock.ms, clock.ms + MINUTE_MS, 0)
    assert console.session(session.session_hash) is None


def test_disabling_a_user_ends_its_sessions_for_good(sessions: SessionService, users: UserService, user, clock):
    token, _ = sessions.start(user, IP, AGENT)
    unused_token, _ = sessions.start(user, IP, AGENT)
    clock.advance(1000)

    users.disable(EMAIL)
    refused = sessions.current(token)
    clock.advance(1000)
    users.enable(EMAIL)

    assert refused is None
    assert sessions.current(token) is None
    assert sessions.current(unused_token) is None  # not seen while disabled, still not revived
    clock.advance(1000)
    fresh_token, _ = sessions.start(users.get(EMAIL) or user, IP, AGENT)
    assert sessions.current(fresh_token) is not None


def test_a_new_password_ends_the_sessions_started_before(sessions: SessionService, users: UserService, user, clock):
    token, _ = sessions.start(user, IP, AGENT)
    clock.advance(1000)

    users.reset_password(EMAIL)
    clock.advance(1000)
    after_token, _ = sessions.start(users.get(EMAIL) or user, IP, AGENT)

    assert sessions.current(token) is None
    assert sessions.current(after_token) is not None


def test_a_new_role_ends_the_sessions_in_the_old_one(sessions: SessionService, users: UserService, user, clock):
    token, session = sessions.start(user, IP, AGENT)
    assert session.role.can_act

    users.set_role(EMAIL, Role.VIEWER)

    assert sessions.current(token) is None
    clock.advance(1000)
    demoted = users.get(EMAIL)
    assert demoted is not None
    new_token, _ = sessions.start(demoted, IP, AGENT)
    current = sessions.current(new_token)
    assert current is not None
    assert not current.role.can_act


def test_a_session_of_a_user_that_is_gone_is_refused(sessions: SessionService, user, db):
    token, _ = sessions.start(user, IP, AGENT)
    db.delete_item(TableName="console", Key={"pk": {"S": f"APP#{APP}"}, "sk": {"S": f"USER#{EMAIL}"}})

    assert sessions.current(token) is None


def test_csrf_token_compare(sessions: SessionService, user):
    _, session = sessions.start(user, IP, AGENT)
    _, other = sessions.start(user, IP, AGENT)

    assert sessions.csrf_ok(session, session.csrf_token)
    for submitted in (None, "", "guess", other.csrf_token, session.csrf_token + "x", session.csrf_token[:-1], "é"):
        assert not sessions.csrf_ok(session, submitted)


def test_session_model_round_trips(sessions: SessionService, user):
    _, session = sessions.start(user, IP, AGENT)
    assert ConsoleSession.model_validate(session.model_dump()) == session
