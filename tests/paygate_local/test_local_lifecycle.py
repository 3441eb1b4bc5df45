"""Starting and stopping: nothing leaks, the CLI exits cleanly, the project template boots."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from paygate_local.dynamodb_local import DynamoDBLocal
from paygate_local.stack import LocalStack
from tests.paygate_local.helpers import FIXTURE_TEMPLATE, eventually, free_ports_config

REPO = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def listening(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) == 0


def test_stop_ends_every_worker_and_every_server(dynamodb_url):
    config = free_ports_config(template=FIXTURE_TEMPLATE, name_prefix="plt-stop", dynamodb_url=dynamodb_url)
    stack = LocalStack(config)
    info = stack.start()
    try:
        for path in ("/echo", "/other", "/slow?seconds=0"):
            assert httpx.get(info.api_url + path, timeout=30).status_code == 200
        assert stack.functions is not None
        pids = stack.functions.worker_pids()
        assert len(pids) == 3
    finally:
        stack.stop()

    assert [pid for pid in pids if alive(pid)] == []
    urls = [info.api_url, info.moto_url, info.beecloud_url, info.beilypay_url]
    assert [url for url in urls if listening(url)] == []
    stack.stop()  # idempotent


def test_the_project_template_boots_with_a_demo_app_and_creates_tenants(dynamodb_url):
    config = free_ports_config(dynamodb_url=dynamodb_url, name_prefix="plt-real", demo_app=True, time_scale=0.01)
    with LocalStack(config) as stack:
        info = stack.info
        assert info is not None
        assert info.api_key is not None
        other = stack.create_app("tenant-b")

        demo_list = httpx.get(f"{info.api_url}/bills", headers={"Authorization": f"Bearer {info.api_key}"})
        other_list = httpx.get(f"{info.api_url}/bills", headers={"Authorization": f"Bearer {other['api_key']}"})
        anonymous = httpx.get(f"{info.api_url}/bills")
        beecloud_apps = httpx.get(f"{info.beecloud_url}/_sandbox/apps").json()

        assert (demo_list.status_code, other_list.status_code) == (200, 200)
        assert anonymous.status_code == 401
        assert other["app_id"] != info.app_id
        assert set(other) >= {"app_id", "api_key", "beecloud", "beilypay"}
        webhooks = {app["webhook_url"] for app in beecloud_apps["apps"]}
        assert f"{info.api_url}/callbacks/beecloud/{other['app_id']}" in webhooks
        swagger = httpx.get(info.swagger_url)
        spec = httpx.get(f"{info.api_url}/_local/openapi.json").json()
        assert swagger.status_code == 200
        assert "SwaggerUIBundle" in swagger.text
        assert httpx.get(f"{info.api_url}/_local/swagger-ui.js").status_code == 200
        assert spec["servers"][0]["url"] == info.api_url
        assert "/bills" in spec["paths"]
        env = stack.admin_env()
        assert env["APPS_TABLE"] == "plt-real-AppsTable"
        assert env["AWS_ENDPOINT_URL"] == info.moto_url


def run_cli(data_dir: Path) -> tuple[dict, int, list[int]]:
    """Start `python -m paygate_local`, wait for stack.json, SIGTERM it; (stack.json, rc, children)."""
    stack_json = data_dir / "stack.json"
    before = stack_json.stat().st_mtime_ns if stack_json.exists() else None

    def written() -> bool:
        return stack_json.exists() and stack_json.stat().st_mtime_ns != before

    ports = [f"--{name}-port=0" for name in ("api", "moto", "dynamodb", "beecloud", "beilypay")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "paygate_local", "--data-dir", str(data_dir), "--time-scale", "0.01", *ports],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        eventually(lambda: written() or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        info = json.loads(stack_json.read_text())
        assert httpx.get(f"{info['api_url']}/bills", headers={"Authorization": f"Bearer {info['api_key']}"}).is_success
        spawned = children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "demo API key" in output
    return info, proc.returncode, spawned


@pytest.mark.e2e
def test_cli_runs_writes_stack_json_stops_on_sigterm_and_reuses_the_demo_app(tmp_path):
    first, rc, spawned = run_cli(tmp_path)

    assert rc == 0
    assert spawned  # at least the DynamoDB Local JVM and a worker
    time.sleep(0.2)
    assert [pid for pid in spawned if alive(pid)] == []
    assert set(first) >= {"api_url", "api_key", "app_id", "beecloud_url", "beilypay_url", "events_url", "swagger_url"}
    assert (tmp_path / "dynamodb").is_dir()
    assert (tmp_path / "logs" / "functions.log").stat().st_size > 0

    second, rc, _ = run_cli(tmp_path)

    assert rc == 0
    assert (second["app_id"], second["api_key"]) == (first["app_id"], first["api_key"])


def test_dynamodb_local_stops_its_jvm():
    ddb = DynamoDBLocal(port=0)
    ddb.start()
    assert ddb.proc is not None
    pid = ddb.proc.pid

    ddb.stop()

    assert not alive(pid)
    assert not listening(ddb.url)
