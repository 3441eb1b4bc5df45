import pytest

from tests.functions._webhooks import receiver, webhooks  # noqa: F401
from tests.support.functions import load_function


@pytest.fixture(autouse=True)
def fresh_container_limits() -> None:
    """Each test is a fresh container: the per-address sign-in brake starts full (its tests share one address)."""
    load_function("console").sign_in_attempts.clear()
