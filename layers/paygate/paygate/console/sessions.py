"""Console sessions: server-side, behind a random token the browser holds in a cookie.

Only the token's SHA-256 is stored, so a read of the table signs no one in. A session ends at
the latest 8 hours after sign-in, after 30 minutes without a request, at sign-out, and at once
when its user is disabled, gets a new password or a new role: every request re-reads the user
(one GetItem). A session whose role no longer matches is refused rather than carried over to the
new role: the person signs in again and sees what the new role allows, and a demotion can never
be outrun by a session that was open when it happened.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from paygate.clock import now_ms
from paygate.console.users import ConsoleUser, Role, UserService
from paygate.store.console import ConsoleStore

SESSION_TTL_MS = 8 * 3600_000  # absolute: from sign-in, however busy the session
IDLE_TIMEOUT_MS = 30 * 60_000
SEEN_EVERY_MS = 60_000  # last_seen_ms is written at most this often (idle expiry is that coarse)
MAX_TOKEN_LENGTH = 256
MAX_SOURCE_LENGTH = 512


class ConsoleSession(BaseModel):
    """A signed-in browser; `session_hash` is the sha256 hex of its token (the token is never stored)."""

    model_config = ConfigDict(frozen=True)

    session_hash: str
    app_id: str
    email: str
    role: Role
    csrf_token: str
    created_at_ms: int
    last_seen_ms: int
    expires_at_ms: int  # absolute
    ip: str
    user_agent: str


def token_hash(token: str) -> str | None:
    """None for what cannot be a token we issued (empty, too long, not encodable)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        return None


def _epoch_s(ms: int) -> int:
    """DynamoDB's TTL is in seconds: rounded up, so the item never goes before the session ends."""
    return -(-ms // 1000)


class SessionService:
    def __init__(self, store: ConsoleStore, users: UserService, clock: Callable[[], int] = now_ms) -> None:
        self._store = store
        self._users = users
        self._clock = clock

    def start(self, user: ConsoleUser, ip: str, user_agent: str) -> tuple[str, ConsoleSession]:
        """A new session for a user who just signed in: the token (for the cookie, never stored) and the session."""
        if user.disabled:
            raise ValueError("a disabled user gets no session")
        while True:
            token = secrets.token_urlsafe(32)
            now = self._clock()
            session = ConsoleSession(
                session_hash=hashlib.sha256(token.encode()).hexdigest(),
                app_id=user.app_id,
                email=user.email,
                role=user.role,
                csrf_token=secrets.token_urlsafe(32),
                created_at_ms=now,
                last_seen_ms=now,
                expires_at_ms=now + SESSION_TTL_MS,
                ip=ip[:MAX_SOURCE_LENGTH],
                user_agent=user_agent[:MAX_SOURCE_LENGTH],
            )
            fields = session.model_dump(mode="json", exclude={"session_hash"})
            if self._store.create_session(session.session_hash, fields, _epoch_s(session.expires_at_ms)):
                return token, session

    def current(self, token: str | None) -> ConsoleSession | None:
        """The session the token opens, or None: unknown, over (absolute or idle), ended, or its
        user disabled, gone, given a new password or a new role since it started."""
        session_hash = token_hash(token) if token else None
        if session_hash is None:
            return None
        item = self._store.session(session_hash)
        if item is None:
            return None
        session = ConsoleSession.model_validate({**item, "session_hash": session_hash})
        now = self._clock()
        over = now >= session.expires_at_ms or now - session.last_seen_ms >= IDLE_TIMEOUT_MS
        if over or not self._user_allows(session):
            self._store.delete_session(session_hash)  # over for good: tidy up before the TTL does
            return None
        if now - session.last_seen_ms >= SEEN_EVERY_MS:
            idle_end = min(session.expires_at_ms, now + IDLE_TIMEOUT_MS)
            if self._store.touch_session(session_hash, now - SEEN_EVERY_MS, now, _epoch_s(idle_end)):
                session = session.model_copy(update={"last_seen_ms": now})
        return session

    def end(self, token: str | None) -> None:
        """Sign-out; ending a session that is not there is not an error."""
        session_hash = token_hash(token) if token else None
        if session_hash is not None:
            self._store.delete_session(session_hash)

    @staticmethod
    def csrf_ok(session: ConsoleSession, submitted: str | None) -> bool:
        """The form's token is the session's (constant-time compare)."""
        if not isinstance(submitted, str) or not submitted:
            return False
        try:
            return hmac.compare_digest(session.csrf_token.encode(), submitted.encode("utf-8"))
        except UnicodeEncodeError:
            return False

    def _user_allows(self, session: ConsoleSession) -> bool:
        user = self._users.by_app(session.app_id, session.email)
        return (
            user is not None
            and not user.disabled
            and user.role == session.role
            and user.password_changed_at_ms < session.created_at_ms
            and user.disabled_at_ms < session.created_at_ms
        )
