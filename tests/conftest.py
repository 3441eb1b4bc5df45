"""Plugins every test directory may use, and the checks every test gets."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from paygate_local import iam

# A test's own one-off requests (httpx.get, httpx.post, ...) default to 30 s instead of httpx's
# 5 s. Most go to a local stack, whose first request to a function starts its container (a fresh
# interpreter importing the handler): with the suite's workers, browsers and JVMs on two cores,
# that alone can take longer than 5 s. A request that sets its own timeout keeps it; clients
# (httpx.Client), and so the gateway's own code, are not touched.
_TEST_REQUEST_TIMEOUT = httpx.Timeout(30.0)
_REQUESTS = (httpx.request, httpx.stream, httpx.get, httpx.options, httpx.head, httpx.post, httpx.put)
for _request in (*_REQUESTS, httpx.patch, httpx.delete):
    getattr(_request, "__wrapped__", _request).__kwdefaults__["timeout"] = _TEST_REQUEST_TIMEOUT  # stream is wrapped

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


# The directories whose files take longest (each starts local stacks, browsers or linters) are
# handed to the workers first: with files spread whole over a few workers (`--dist loadfile`),
# a long file taken last would leave the others idle while it runs.
_SLOW_FIRST = ("reliability", "e2e", "browser", "bench", "paygate_local", "template", "docs", "client")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        parts = item.nodeid.split("/")
        top = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
        return _SLOW_FIRST.index(top) if top in _SLOW_FIRST else len(_SLOW_FIRST)

    items.sort(key=rank)  # stable: each file's tests keep their order
