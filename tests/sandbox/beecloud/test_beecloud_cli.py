"""``python -m sandbox.beecloud`` runs alone, from flags or from a config file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.beecloud.__main__ import build_config, parse_args
from tests.sandbox.beecloud.beecloud_support import APP_ID, APP_SECRET, OTHER_APP_ID, md5, now_ms, wait_until

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def process_runner() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def _start(processes: list[subprocess.Popen[bytes]], *args: str) -> str:
    port = _free_port()
    command = [sys.executable, "-m", "sandbox.beecloud", "--host", "127.0.0.1", "--port", str(port), *args]
    processes.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(url + "/_sandbox/health").status_code == 200
        except httpx.TransportError:
            return False

    wait_until(healthy, timeout_s=15, what="the emulator process")
    return url


def _bill(url: str, app_id: str, secret: str) -> dict[str, object]:
    timestamp = now_ms()
    body = {
        "app_id": app_id,
        "timestamp": timestamp,
        "app_sign": md5(f"{app_id}{timestamp}{secret}"),
        "channel": "WX_NATIVE",
        "total_fee": 1,
        "bill_no": "cli00001",
        "title": "t",
    }
    return dict(httpx.post(url + "/1/rest/bill", json=body).json())


def test_runs_from_flags(process_runner: list[subprocess.Popen[bytes]]) -> None:
    url = _start(
        process_runner,
        *("--app-id", APP_ID, "--app-secret", APP_SECRET, "--master-secret", "m"),
        *("--webhook-url", "http://127.0.0.1:9/hook", "--time-scale", "0.01"),
    )
    answer = _bill(url, APP_ID, APP_SECRET)
    assert answer["result_code"] == 0
    assert answer["code_url"] == f"{url}/pay/{APP_ID}/cli00001"


def test_runs_from_a_config_file(process_runner: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    config = {
        "apps": [
            {"app_id": APP_ID, "app_secret": "s1", "master_secret": "m1", "webhook_url": "http://127.0.0.1:9/a"},
            {"app_id": OTHER_APP_ID, "app_secret": "s2", "master_secret": "m2", "webhook_url": "http://127.0.0.1:9/b"},
        ],
        "time_scale": 0.01,
        "public_url": "https://pay.example",
    }
    path = tmp_path / "beecloud.json"
    path.write_text(json.dumps(config))
    url = _start(process_runner, "--config", str(path))
    assert _bill(url, OTHER_APP_ID, "s2")["code_url"] == f"https://pay.example/pay/{OTHER_APP_ID}/cli00001"
    assert _bill(url, APP_ID, "s2")["result_code"] == 1


def test_flags_override_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "beecloud.json"
    path.write_text(json.dumps({"time_scale": 0.5, "min_bill_no_len": 8, "webhook_schedule": [0, 1]}))
    config = build_config(parse_args(["--config", str(path), "--time-scale", "0.1"]))
    assert (config.time_scale, config.min_bill_no_len, config.webhook_schedule) == (0.1, 8, (0.0, 1.0))
    assert config.apps == []


def test_bad_configuration_exits_with_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"apps": [], "no_such_setting": 1}))
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.beecloud", "--config", str(path)], cwd=ROOT, capture_output=True, timeout=30
    )
    assert result.returncode == 2
    assert b"no_such_setting" in result.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "sandbox.beecloud", "--app-id", APP_ID], cwd=ROOT, capture_output=True, timeout=30
    )
    assert missing.returncode == 2
