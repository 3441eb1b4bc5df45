"""Every Python example in README.md and docs/ runs, against a real local stack.

The examples name a few things a reader has at hand (`api_key`, `base_url`, a BeeCloud app's
`app_id`/`app_secret`/`master_secret`, `beecloud_url`, `webhook_url`); the test gives them the
values of its own stack. Examples write the default ports of `make run`; this stack listens on
ports the OS picked, so those URLs are mapped. A block fenced as ```python no-run is shown, not
run: keep those rare, and say why next to the fence.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paygate_local.stack import LocalStack, StackConfig

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```", re.S | re.M)
DEFAULT_PORTS = {"api_url": "http://127.0.0.1:3000", "beecloud_url": "http://127.0.0.1:8101",
                 "beilypay_url": "http://127.0.0.1:8102"}  # fmt: skip


def examples() -> list[Any]:
    """Each runnable block as a test parameter named after its file and line."""
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if "no-run" in match.group(1).split():
                continue
            line = text.count("\n", 0, match.start()) + 1
            found.append(pytest.param(match.group(2), id=f"{path.relative_to(ROOT)}:{line}"))
    return found


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(StackConfig.on_free_ports(time_scale=0.01)) as running:
        yield running


@pytest.fixture
def names(stack: LocalStack) -> dict[str, Any]:
    info = stack.info
    assert info is not None
    assert info.beecloud is not None
    return {
        "api_key": info.api_key,
        "base_url": info.api_url,
        "beecloud_url": info.beecloud_url,
        "app_id": info.beecloud["app_id"],
        "app_secret": info.beecloud["app_secret"],
        "master_secret": info.beecloud["master_secret"],
        "webhook_url": f"{info.api_url}/callbacks/beecloud/{info.app_id}",
    }


def test_the_docs_have_examples_to_run():
    assert len(examples()) >= 8


@pytest.mark.parametrize("code", examples())
def test_the_example_runs(code: str, stack: LocalStack, names: dict[str, Any]):
    info = stack.info
    assert info is not None
    for field, default in DEFAULT_PORTS.items():
        code = code.replace(default, getattr(info, field))

    compiled = compile(code, "<example>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, {"__name__": "__example__", **names})  # noqa: S307 - the repo's own docs

    if inspect.iscoroutine(result):  # an example written with top-level `async with` / `await`
        asyncio.run(result)
