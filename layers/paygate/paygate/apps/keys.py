"""API keys: random, shown once, stored only as a hash, compared in constant time.

A key reads `pgk.<app_id>.<secret>`: the app id locates the record, the secret's SHA-256 is
compared with hmac.compare_digest. Keys carry 256 bits of randomness, so a fast hash is the right
tool (no password stretching needed).

The record is read through a per-container cache (`AppCache`): one busy merchant must not put one
read of its app item on every request (one DynamoDB partition serves at most 3,000 reads a
second). What the cache costs is a bound on revocation: a rotated-out key or a suspended app is
refused at the latest `ttl_s` seconds after the change (docs/performance.md "Capacity"). A key
the cached record does not know is checked against a fresh read, at most once a second per app
and container, so a newly issued key works at once and wrong keys cannot force a read each.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from paygate.errors import UnauthorizedError
from paygate.models import App
from paygate.store.apps import AppsStore

KEY_PREFIX = "pgk"
_APP_ID = re.compile(r"^app_[0-9a-f]{16}$")


def new_app_id() -> str:
    return "app_" + secrets.token_hex(8)


def new_api_key(app_id: str) -> str:
    return f"{KEY_PREFIX}.{app_id}.{secrets.token_urlsafe(32)}"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def parse_app_id(api_key: str) -> str | None:
    parts = api_key.split(".")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not _APP_ID.match(parts[1]) or not parts[2]:
        return None
    return parts[1]


def is_valid_app_id(app_id: str) -> bool:
    return bool(_APP_ID.match(app_id))


class AppLookup(Protocol):
    def get(self, app_id: str, *, refresh: bool = False) -> App | None: ...


@dataclass(frozen=True)
class _Entry:
    app: App | None
    read_at: float
    expires_at: float


class AppCache:
    """App records per container, each read at most once per `ttl_s` (plus rare forced refreshes).

    Unknown apps are cached too, so a flood of made-up app ids costs one read per id per TTL.
    Bounded: past `max_apps` records the oldest read is dropped first.
    """

    def __init__(
        self,
        store: AppsStore,
        *,
        ttl_s: float,
        refresh_every_s: float = 1.0,
        max_apps: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._refresh_every_s = refresh_every_s
        self._max_apps = max_apps
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def get(self, app_id: str, *, refresh: bool = False) -> App | None:
        """The cached record; with `refresh`, a fresh read unless one was made in the last second."""
        now = self._clock()
        entry = self._entries.get(app_id)
        if entry is not None and now < entry.expires_at and not (refresh and self._may_refresh(entry, now)):
            return entry.app
        app = self._store.get(app_id)
        self._entries.pop(app_id, None)
        if len(self._entries) >= self._max_apps:
            del self._entries[next(iter(self._entries))]
        self._entries[app_id] = _Entry(app, read_at=now, expires_at=now + self._ttl_s)
        return app

    def _may_refresh(self, entry: _Entry, now: float) -> bool:
        return now >= entry.read_at + self._refresh_every_s


def _accepts(app: App | None, token_hash: str) -> bool:
    """Compares even for an unknown or inactive app: every refusal costs the same."""
    active = app is not None and app.status == "active"
    expected = app.key_hash if app is not None and active else "0" * 64
    return hmac.compare_digest(token_hash, expected) and active


def authenticate(authorization: str | None, apps: AppLookup) -> App:
    """The same 401 for every failure, so a caller learns nothing about which part was wrong."""
    denied = UnauthorizedError("missing or invalid API key", code="unauthorized")
    if not authorization:
        raise denied
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise denied
    token = token.strip()
    app_id = parse_app_id(token)
    if app_id is None:
        raise denied
    token_hash = hash_key(token)
    app = apps.get(app_id)
    if _accepts(app, token_hash):
        assert app is not None
        return app
    # Maybe a key issued (or an app re-activated) since the record was cached: read it again.
    app = apps.get(app_id, refresh=True)
    if _accepts(app, token_hash):
        assert app is not None
        return app
    raise denied
