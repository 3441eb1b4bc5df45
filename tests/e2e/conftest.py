"""The whole gateway on the local stack, driven over real sockets like a merchant would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paygate_local.stack import LocalStack, StackConfig
from tests.support.gateway import (
    Gateway,
)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """One stack per test module: a fresh ledger, fresh sandboxes, an empty event log."""
    stack = LocalStack(StackConfig.on_free_ports(time_scale=0.01, demo_app=False))
    info = stack.start()
    try:
        yield Gateway(stack, info)
    finally:
        stack.stop()
