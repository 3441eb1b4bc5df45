"""The console's services on the template's console table (moto, held to DynamoDB's request rules), on a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paygate.console.audit import AuditLog
from paygate.console.sessions import SessionService
from paygate.console.users import UserService
from paygate.store.console import ConsoleStore
from tests.paygate.webhooks.strict_dynamodb import StrictDynamoDB
from tests.support.services import NOW_MS, console_table


class Clock:
    """Milliseconds the test moves by hand."""

    def __init__(self) -> None:
        self.ms = NOW_MS

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db() -> Iterator[StrictDynamoDB]:
    with console_table() as client:
        yield StrictDynamoDB(client)


@pytest.fixture
def console(db: StrictDynamoDB) -> ConsoleStore:
    return ConsoleStore(db, "console")


@pytest.fixture
def users(console: ConsoleStore, clock: Clock) -> UserService:
    return UserService(console, clock)


@pytest.fixture
def sessions(console: ConsoleStore, users: UserService, clock: Clock) -> SessionService:
    return SessionService(console, users, clock)


@pytest.fixture
def audit(console: ConsoleStore, clock: Clock) -> AuditLog:
    return AuditLog(console, clock)
