"""The reliability suite's stack: one LocalStack for the whole package, with logs on disk.

The data directory keeps DynamoDB Local's data on disk (so the storage scenario can stop and
restart the JVM without losing the ledger) and the function workers' output in
`logs/functions.log`, which the callback and leak scenarios read. Loggers of the runner and the
sandboxes (in this process) are captured too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from paygate_local.stack import LocalStack, StackConfig
from paygate_local.workers import KILL_DIR_ENV
from tests.reliability.support import FIGURES, FIGURES_FILE, LEASE_MS, POLL_DEADLINE_S, Gateway


class _LineCollector(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(f"{record.name}\t{self.format(record)}")
        except Exception:
            self.handleError(record)


_CAPTURED = ("paygate_local", "sandbox", "uvicorn", "httpx", "botocore", "werkzeug")


@pytest.fixture(scope="package")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One stack for the package (moto's state is process-wide: one stack at a time)."""
    data_dir = tmp_path_factory.mktemp("reliability-stack")
    lines: list[str] = []
    collector = _LineCollector(lines)
    saved = {}
    for name in _CAPTURED:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(collector)
    kill_dir = data_dir / "kill-points"
    stack = LocalStack(
        StackConfig.on_free_ports(
            time_scale=0.01,
            demo_app=False,
            data_dir=data_dir,
            integration_timeout=29.0,
            # Pollers every 1-2 s, giving up within the suite's time: an order BeilyPay forgot
            # (a sandbox restarted without its state) must end reported, not pending.
            parameter_overrides={
                "PollFirstWaitSeconds": "1",
                "PollMaxWaitSeconds": "2",
                "PollDeadlineSeconds": str(POLL_DEADLINE_S),
            },
            # A short provider lease, so that a retry may take over a killed worker's call
            # within the test; and the directory of kill points the workers watch.
            function_env={"PROVIDER_LEASE_MS": str(LEASE_MS), KILL_DIR_ENV: str(kill_dir)},
        )
    )
    info = stack.start()
    try:
        yield Gateway(stack, info, logs_dir=data_dir / "logs", runner_lines=lines, kill_dir=kill_dir)
    finally:
        stack.stop()
        for name in _CAPTURED:
            logger = logging.getLogger(name)
            logger.removeHandler(collector)
            logger.setLevel(saved[name])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures of this run (only when the suite ran)."""
    if not FIGURES.scenarios:
        return
    figures = FIGURES.as_dict()
    terminalreporter.write_sep("=", "paygate reliability figures")
    for name, value in figures.items():
        terminalreporter.write_line(f"  {name:<18} {value}")
    terminalreporter.write_line(f"  scenarios          {len(FIGURES.scenarios)}")
    for finding in FIGURES.findings:
        terminalreporter.write_line(f"  ! {finding}")
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    FIGURES_FILE.write_text(
        json.dumps({**figures, "scenarios": FIGURES.scenarios, "findings": FIGURES.findings}, indent=2) + "\n"
    )


@pytest.fixture(autouse=True)
def _scenario(request: pytest.FixtureRequest) -> None:
    FIGURES.scenarios.append(request.node.name)


@pytest.fixture(autouse=True)
def _faults_end_with_their_scenario(request: pytest.FixtureRequest) -> Iterator[None]:
    """A fault rule or kill point a scenario armed and did not use never reaches the next one.

    The stack is shared by every scenario of a worker, in whatever order xdist hands out the
    files, and provider call counters are fault rules too: a leftover rule on the same path would
    be consumed first and the next scenario would count nothing.
    """
    yield
    if "gateway" not in request.fixturenames:
        return
    gateway: Gateway = request.getfixturevalue("gateway")
    for sandbox in ("beecloud", "beilypay"):
        gateway.clear_faults(sandbox)
    if gateway.kill_dir is not None:
        for armed in gateway.kill_dir.glob("*.json"):  # not yet taken by a worker
            armed.unlink(missing_ok=True)
