"""The console table's conditional writes: counting a failure, taking the lock, recording a success."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from paygate.store.console import ConsoleStore
from tests.paygate.webhooks.strict_dynamodb import StrictDynamoDB
from tests.support.services import NOW_MS, console_table

APP = "app_0123456789abcdef"
EMAIL = "ops@shop.example"
HASH = "scrypt$32768$8$1$c2FsdA==$a2V5"


@pytest.fixture
def console() -> Iterator[ConsoleStore]:
    with console_table() as client:
        yield ConsoleStore(StrictDynamoDB(client), "console")


def _user(**fields: Any) -> dict[str, Any]:
    return {
        "app_id": APP,
        "email": EMAIL,
        "role": "viewer",
        "disabled": False,
        "failed_logins": 0,
        "locked_until_ms": 0,
        "created_at_ms": NOW_MS,
        "password_changed_at_ms": NOW_MS,
        "disabled_at_ms": 0,
        "password_hash": HASH,
        **fields,
    }


def test_a_user_and_its_login_pointer_are_written_together(console: ConsoleStore):
    assert console.create_user(_user())
    assert not console.create_user(_user(role="operator"))
    assert not console.create_user(_user(app_id="app_fedcba9876543210"))

    assert console.login_app(EMAIL) == APP
    assert console.user(APP, EMAIL) == _user()
    assert console.users("app_fedcba9876543210") == []


def test_failures_count_one_each_and_not_while_locked(console: ConsoleStore):
    console.create_user(_user())

    counts = [console.count_failed_login(APP, EMAIL, NOW_MS) for _ in range(5)]
    locked = console.lock_user(APP, EMAIL, NOW_MS, NOW_MS + 900_000, 5)
    locked_again = console.lock_user(APP, EMAIL, NOW_MS, NOW_MS + 1_800_000, 5)
    while_locked = console.count_failed_login(APP, EMAIL, NOW_MS + 1)

    assert [count["failed_logins"] for count in counts if count] == [1, 2, 3, 4, 5]
    assert locked is not None
    assert (locked["locked_until_ms"], locked["failed_logins"]) == (NOW_MS + 900_000, 0)
    assert locked_again is None  # the first lock stands, not extended
    assert while_locked is None
    assert console.user(APP, EMAIL) == locked
    assert console.count_failed_login(APP, EMAIL, NOW_MS + 900_000) is not None  # the lock is over


def test_the_lock_needs_the_failures(console: ConsoleStore):
    console.create_user(_user(failed_logins=4))
    assert console.lock_user(APP, EMAIL, NOW_MS, NOW_MS + 900_000, 5) is None


def test_a_success_is_recorded_only_for_the_password_enabled_and_unlocked_user(console: ConsoleStore):
    console.create_user(_user(failed_logins=3))

    assert console.record_login(APP, EMAIL, "another hash", NOW_MS) is None
    assert console.set_user(APP, EMAIL, {"locked_until_ms": NOW_MS + 1})
    assert console.record_login(APP, EMAIL, HASH, NOW_MS) is None
    assert console.set_user(APP, EMAIL, {"locked_until_ms": 0, "disabled": True})
    assert console.record_login(APP, EMAIL, HASH, NOW_MS) is None
    assert console.set_user(APP, EMAIL, {"disabled": False})
    signed_in = console.record_login(APP, EMAIL, HASH, NOW_MS)

    assert signed_in is not None
    assert signed_in["failed_logins"] == 0


def test_changes_to_a_user_that_does_not_exist_write_nothing(console: ConsoleStore):
    assert console.set_user(APP, EMAIL, {"disabled": True}) is None
    assert console.count_failed_login(APP, EMAIL, NOW_MS) is None
    assert console.record_login(APP, EMAIL, HASH, NOW_MS) is None
    assert console.user(APP, EMAIL) is None
