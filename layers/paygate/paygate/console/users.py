"""Console users: who may sign in to an app's console, with which password, in which role.

An email is the sign-in name and belongs to one user in the whole deployment (paygate.store.console
writes the user and its login pointer in one transaction). Passwords are stored only as scrypt
hashes. Five wrong passwords in a row lock the user for 15 minutes; the failures are counted
with an atomic ADD, so attempts made at the same time cannot slip past the limit. To the caller,
an unknown email, a wrong password and a disabled user are the same answer, and take the same work.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from paygate.clock import now_ms
from paygate.errors import ConflictError, InvalidRequestError, NotFoundError
from paygate.store.console import ConsoleStore

# A child of the function's Logger. Never a password, a hash or an email in a line.
logger = Logger(child=True)

MAX_FAILED_LOGINS = 5
LOCKOUT_MS = 15 * 60_000
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
MAX_EMAIL_LENGTH = 254

_SCRYPT_N = 2**15
_SCRYPT_R = 8
_SCRYPT_P = 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_SALT_BYTES = 16
_KEY_BYTES = 32
# The hash an unknown email's password is checked against (of a password nobody knows), so that
# signing in as a stranger costs what signing in as a user does.
_DUMMY_HASH = "scrypt$32768$8$1$NPQ6p7SYjJY0UIY6HE40Ew==$G0wNUIB6rmzW6paLMnqdzKBiGWBcqyHt6IqSOu6ZOBA="

_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f.]+(\.[^@\s\x00-\x1f\x7f.]+)+")
_APP_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"

    @property
    def can_act(self) -> bool:
        """May change things: refund, refresh, resend webhooks, create/disable/rotate webhook endpoints."""
        return self is Role.OPERATOR


class ConsoleUser(BaseModel):
    """One person's access to one app's console."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    email: str  # lower-case; the sign-in name, unique in the deployment
    role: Role
    disabled: bool = False
    failed_logins: int = 0  # wrong passwords in a row since the last success or lock
    locked_until_ms: int = 0
    created_at_ms: int
    password_changed_at_ms: int  # sessions started before it are void
    disabled_at_ms: int = 0  # the last disable: sessions started before it are void, even once enabled again
    password_hash: str = Field(repr=False)

    def public(self) -> dict[str, Any]:
        """What may be shown or printed: everything but the hash."""
        return self.model_dump(mode="json", exclude={"password_hash"})


# ---------------------------------------------------------------- passwords


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$<b64 salt>$<b64 key>`: the parameters travel with the hash, so they can be raised later."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _KEY_BYTES)
    return "$".join(
        ("scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), base64.b64encode(salt).decode(), _b64(key))
    )


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time compare; False (never an exception) for anything but a hash this module wrote."""
    try:
        scheme, n, r, p, salt_b64, key_b64 = encoded.split("$")
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(key_b64, validate=True)
        if scheme != "scrypt" or not salt or not 16 <= len(expected) <= 64:
            return False
        key = _scrypt(password, salt, int(n), int(r), int(p), len(expected))
    except (ValueError, binascii.Error, MemoryError, OverflowError):  # bad fields, or parameters over maxmem
        return False
    return hmac.compare_digest(key, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    raw = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(raw, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=length)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_password() -> str:
    """24 URL-safe characters (144 random bits), for a password the operator hands over."""
    return secrets.token_urlsafe(18)


def check_password(password: str) -> str:
    """A password a person chose: 12 to 128 characters."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidRequestError(
            f"a password has {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters", code="invalid_password"
        )
    return password


def normal_email(email: str) -> str | None:
    """The sign-in name as stored (trimmed, lower-case), or None if it is no email address."""
    email = email.strip().lower()
    return email if len(email) <= MAX_EMAIL_LENGTH and _EMAIL.fullmatch(email) else None


# ---------------------------------------------------------------- signing in


class LoginOutcome(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"  # unknown email, wrong password, or a disabled user
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    """`user` is set whenever the email is a user's (for that app's audit log), even when refused:
    the caller must not tell the person more than the outcome."""

    outcome: LoginOutcome
    user: ConsoleUser | None
    locked_until_ms: int = 0


class UserService:
    def __init__(self, store: ConsoleStore, clock: Callable[[], int] = now_ms) -> None:
        self._store = store
        self._clock = clock

    def create(self, app_id: str, email: str, role: Role, password: str | None = None) -> tuple[ConsoleUser, str]:
        """The new user and its password (generated when None, shown once by the caller)."""
        if not _APP_ID.fullmatch(app_id):
            raise InvalidRequestError("not an app id", code="invalid_app_id")
        address = normal_email(email)
        if address is None:
            raise InvalidRequestError(
                "not an email address (local@domain, at most 254 characters)", code="invalid_email"
            )
        password = new_password() if password is None else check_password(password)
        now = self._clock()
        user = ConsoleUser(
            app_id=app_id,
            email=address,
            role=Role(role),
            created_at_ms=now,
            password_changed_at_ms=now,
            password_hash=hash_password(password),
        )
        if not self._store.create_user(user.model_dump(mode="json")):
            raise ConflictError("a console user with this email exists", code="user_exists")
        return user, password

    def get(self, email: str) -> ConsoleUser | None:
        address = normal_email(email)
        if address is None:
            return None
        app_id = self._store.login_app(address)
        if app_id is None:
            return None
        item = self._store.user(app_id, address)
        return ConsoleUser.model_validate(item) if item else None

    def by_app(self, app_id: str, email: str) -> ConsoleUser | None:
        """One GetItem: how a session re-reads its user on every request."""
        item = self._store.user(app_id, email)
        return ConsoleUser.model_validate(item) if item else None

    def list(self, app_id: str) -> builtins.list[ConsoleUser]:
        users = [ConsoleUser.model_validate(item) for item in self._store.users(app_id)]
        return sorted(users, key=lambda user: user.email)

    def disable(self, email: str) -> ConsoleUser:
        """Signs the user out everywhere at once, and for good (see `disabled_at_ms`)."""
        return self._change(email, {"disabled": True, "disabled_at_ms": self._clock()})

    def enable(self, email: str) -> ConsoleUser:
        return self._change(email, {"disabled": False})

    def set_role(self, email: str, role: Role) -> ConsoleUser:
        """Takes effect at once: the user's sessions in the old role end (sessions.py)."""
        return self._change(email, {"role": Role(role).value})

    def reset_password(self, email: str, password: str | None = None) -> str:
        """The new password (generated when None); unlocks the user and ends its sessions."""
        password = new_password() if password is None else check_password(password)
        encoded = hash_password(password)
        self._change(
            email,
            {
                "password_hash": encoded,
                "password_changed_at_ms": self._clock(),
                "failed_logins": 0,
                "locked_until_ms": 0,
            },
        )
        return password

    def authenticate(self, email: str, password: str) -> LoginResult:
        now = self._clock()
        user = self.get(email)
        if user is None:
            verify_password(password, _DUMMY_HASH)  # the same work as for a user
            return LoginResult(LoginOutcome.BAD_CREDENTIALS, None)
        if user.disabled:
            verify_password(password, user.password_hash)
            return LoginResult(LoginOutcome.BAD_CREDENTIALS, user)
        if user.locked_until_ms > now:  # the answer says so already: no work spent on guesses
            return LoginResult(LoginOutcome.LOCKED, user, user.locked_until_ms)
        if verify_password(password, user.password_hash):
            signed_in = self._store.record_login(user.app_id, user.email, user.password_hash, now)
            if signed_in is not None:
                return LoginResult(LoginOutcome.OK, ConsoleUser.model_validate(signed_in))
            return self._as_it_stands(user, now)  # locked, disabled or given a new password meanwhile
        return self._failed(user, now)

    def _failed(self, user: ConsoleUser, now: int) -> LoginResult:
        counted = self._store.count_failed_login(user.app_id, user.email, now)
        if counted is None:
            return self._as_it_stands(user, now)  # another attempt locked it meanwhile
        if int(counted["failed_logins"]) < MAX_FAILED_LOGINS:
            return LoginResult(LoginOutcome.BAD_CREDENTIALS, ConsoleUser.model_validate(counted))
        locked = self._store.lock_user(user.app_id, user.email, now, now + LOCKOUT_MS, MAX_FAILED_LOGINS)
        if locked is None:
            return self._as_it_stands(user, now)
        logger.warning("console user locked after failed sign-ins", extra={"app_id": user.app_id})
        return LoginResult(LoginOutcome.LOCKED, ConsoleUser.model_validate(locked), now + LOCKOUT_MS)

    def _as_it_stands(self, user: ConsoleUser, now: int) -> LoginResult:
        """After a lost race: LOCKED if the user is locked now, else refused."""
        current = self.by_app(user.app_id, user.email)
        if current is not None and not current.disabled and current.locked_until_ms > now:
            return LoginResult(LoginOutcome.LOCKED, current, current.locked_until_ms)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS, current or user)

    def _change(self, email: str, fields: dict[str, Any]) -> ConsoleUser:
        address = normal_email(email)
        app_id = self._store.login_app(address) if address else None
        changed = self._store.set_user(app_id, address, fields) if app_id and address else None
        if changed is None:
            raise NotFoundError("no console user with this email")
        return ConsoleUser.model_validate(changed)
