"""Configuration loading and ``python -m sandbox.beilypay`` as a real process (``run_forever``)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.beilypay.__main__ import build_config, parse_args
from sandbox.beilypay.config import DEFAULT_NOTIFY_SCHEDULE, BeilyPayAppConfig, BeilyPayConfig
from tests.sandbox.beilypay.beilypay_support import APP_ID, MERCHANT_ID, SECRET, seed_sign
from tests.support.raw_http import raw_request

REPO_ROOT = Path(__file__).resolve().parents[3]
JSON = {"Content-Type": "application/json"}


def test_flags_register_one_app() -> None:
    args = parse_args(
        ["--app-id", str(APP_ID), "--merchant-id", "3", "--secret", SECRET, "--balance", "500", "--time-scale", "0.5"]
    )

    config = build_config(args)

    assert config.apps == [BeilyPayAppConfig(app_id=APP_ID, merchant_id=3, secret=SECRET, balance=500)]
    assert config.time_scale == 0.5
    assert config.notify_schedule == DEFAULT_NOTIFY_SCHEDULE
    assert (args.host, args.port) == ("127.0.0.1", 8102)


def test_app_id_needs_merchant_and_secret() -> None:
    with pytest.raises(SystemExit, match="--merchant-id"):
        build_config(parse_args(["--app-id", "1"]))


def test_config_file_with_several_apps(tmp_path: Path) -> None:
    path = tmp_path / "beilypay.json"
    path.write_text(
        json.dumps(
            {
                "apps": [
                    {"app_id": 1, "merchant_id": 1, "secret": "a", "balance": 10},
                    {"app_id": 2, "merchant_id": 1, "secret": "b"},
                ],
                "time_scale": 0.1,
                "notify_schedule": [0, 1, 2],
                "payout_delay_s": 1.5,
            }
        )
    )

    config = build_config(parse_args(["--config", str(path), "--time-scale", "0.2"]))

    assert [app.app_id for app in config.apps] == [1, 2]
    assert config.apps[1].balance == 0
    assert config.notify_schedule == (0, 1, 2)
    assert (config.time_scale, config.payout_delay_s) == (0.2, 1.5)  # flags win over the file


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        '{"apps": [{"app_id": 1}]}',
        '{"apps": [], "speed": 2}',
        '{"apps": [{"app_id": 1, "merchant_id": 1, "secret": "s", "extra": 1}]}',
    ],
)
def test_bad_config_files_are_rejected(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)

    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        BeilyPayConfig.from_file(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_module_runs_as_a_server() -> None:
    port = free_port()
    command = [sys.executable, "-m", "sandbox.beilypay", "--port", str(port), "--app-id", str(APP_ID)]
    command += ["--merchant-id", str(MERCHANT_ID), "--secret", SECRET, "--balance", "12345"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"{url}/_sandbox/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the emulator exited"
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.05)
        params = {"appId": APP_ID, "merchantId": MERCHANT_ID}
        answer = httpx.post(f"{url}/merchant/accountInfo", json={**params, "sign": seed_sign(params, SECRET)}).json()
        assert answer["data"]["settlementAmount"] == 123.45
        # As the Python SDK sends it: an absolute-form target, answered without naming uvicorn.
        body = json.dumps({**params, "sign": seed_sign(params, SECRET)}).encode()
        raw = raw_request(url, "POST", "/merchant/accountInfo", body=body, headers=JSON, absolute=True)
        assert json.loads(raw.body)["data"]["settlementAmount"] == 123.45
        assert b"server" not in dict(raw.headers)
    finally:
        process.terminate()
        process.wait(timeout=10)
