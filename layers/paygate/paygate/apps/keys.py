"""API keys: random, shown once, stored only as a hash, compared in constant time.

A key reads `pgk.<app_id>.<secret>`: the app id locates the record with one GetItem, the
secret's SHA-256 is compared with hmac.compare_digest. Keys carry 256 bits of randomness, so a
fast hash is the right tool (no password stretching needed).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

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


def authenticate(authorization: str | None, apps: AppsStore) -> App:
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
    app = apps.get(app_id)
    if app is None or app.status != "active":
        # Still hash and compare, so unknown apps cost the same time as wrong secrets.
        hmac.compare_digest(hash_key(token), "0" * 64)
        raise denied
    if not hmac.compare_digest(hash_key(token), app.key_hash):
        raise denied
    return app
