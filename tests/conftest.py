"""Plugins every test directory may use, and the checks every test gets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paygate_local import iam

# The browser fixtures (browser, page, screenshot_dir): Playwright loads only when a test asks for one.
pytest_plugins = ["tests.support.browser"]


@pytest.fixture(autouse=True)
def _no_call_that_iam_would_refuse() -> Iterator[None]:
    """A local stack's function called an AWS API its role does not allow: AWS would refuse it.

    Neither DynamoDB Local nor moto checks permissions, so the containers check actions against the
    template's policies (paygate_local.iam); a refused best-effort write would otherwise pass unseen.
    """
    before = len(iam.DENIED)
    yield
    refused = iam.DENIED[before:]
    assert not refused, f"calls IAM would refuse (add the action to the function's policies): {refused}"


@pytest.fixture(autouse=True, scope="session")
def _no_late_call_that_iam_would_refuse() -> Iterator[None]:
    """The same for calls that landed after their test (a stack's queues drain on their own time)."""
    yield
    assert not iam.DENIED, f"calls IAM would refuse (add the action to the function's policies): {iam.DENIED}"
