"""The console's audit log: who did what to which bill or endpoint, from where, and how it ended.

One partition per app, newest first, paged with an opaque cursor. Entries are written, never
changed. An entry never holds a password, a token or a secret: `record` refuses a detail whose
key looks like one, so a careless call fails in tests instead of leaking into the log.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from paygate.clock import now_ms
from paygate.store.console import AUDIT_SK, ConsoleStore, audit_sk
from paygate.store.cursors import decode_cursor, encode_cursor

MAX_PAGE = 200
_SECRET_KEY = re.compile(r"password|passwd|passphrase|secret|token|key|csrf|cookie|authori[sz]ation|credential", re.I)
_CURSOR_SHAPE = {"sk": AUDIT_SK}


class AuditEntry(BaseModel):
    """`action`: bill.refund, bill.refresh, webhook.resend, webhook_endpoint.create|disable|rotate_secret,
    session.sign_in, session.sign_in_failed, session.sign_out. `outcome`: `ok` or an error code."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    at_ms: int = 0  # 0: stamped by the log's clock when recorded
    actor: str  # the console user's email
    action: str
    target: str  # what it was done to: a bill_no, an event or endpoint id, an email
    outcome: str
    ip: str
    user_agent: str
    detail: dict[str, Any] = Field(default_factory=dict)


def secret_keys(detail: Any, path: str = "") -> list[str]:
    """The keys in `detail` (nested dicts and lists too) whose names look like a secret's."""
    found: list[str] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{path}.{key}" if path else str(key)
            if _SECRET_KEY.search(str(key)):
                found.append(name)
            found.extend(secret_keys(value, name))
    elif isinstance(detail, list | tuple):
        for value in detail:
            found.extend(secret_keys(value, path))
    return found


class AuditLog:
    def __init__(self, store: ConsoleStore, clock: Callable[[], int] = now_ms) -> None:
        self._store = store
        self._clock = clock

    def record(self, entry: AuditEntry) -> None:
        suspicious = secret_keys(entry.detail)
        if suspicious:
            raise ValueError(f"an audit entry holds no secrets; refused detail keys: {', '.join(suspicious)}")
        if not entry.at_ms:
            entry = entry.model_copy(update={"at_ms": self._clock()})
        fields = entry.model_dump(mode="json")
        while not self._store.create_audit_entry(entry.app_id, audit_sk(entry.at_ms, secrets.token_hex(4)), fields):
            pass  # the same millisecond and the same 32 random bits: draw again

    def recent(self, app_id: str, limit: int = 50, before: str | None = None) -> tuple[list[AuditEntry], str | None]:
        """Up to `limit` entries, newest first, and the cursor of the next (older) page, None at the end.

        `before` is a cursor this method returned; anything else raises paygate.store.cursors.
        InvalidCursorError (a ValueError, its message fit to show).
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"limit is 1 to {MAX_PAGE}")
        before_sk = decode_cursor(before, _CURSOR_SHAPE)["sk"].group(0) if before is not None else None
        found = self._store.audit_entries(app_id, limit + 1, before_sk)  # one more: is there a next page?
        page = found[:limit]
        entries = [AuditEntry.model_validate(item) for _, item in page]
        cursor = encode_cursor({"sk": page[-1][0]}) if len(found) > limit else None
        return entries, cursor
