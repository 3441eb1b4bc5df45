"""Starting and stopping: nothing leaks, the CLI exits cleanly, the project template boots."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from paygate_local.stack import LocalStack
from tests.paygate_local.helpers import eventually, free_ports_config

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


@pytest.fixture(scope="module")
def project_stack(dynamodb_url):
    """The project's own template.yaml, as `make run` starts it (in memory, free ports)."""
    config = free_ports_config(dynamodb_url=dynamodb_url, name_prefix="plt-real", time_scale=0.01)
    with LocalStack(config) as stack:
        yield stack


def test_create_app_registers_a_tenant_in_paygate_and_both_sandboxes(project_stack):
    info = project_stack.info

    tenant = project_stack.create_app("tenant-b")

    assert set(tenant) >= {"app_id", "api_key", "beecloud", "beilypay"}
    listed = httpx.get(f"{info.api_url}/bills", headers={"Authorization": f"Bearer {tenant['api_key']}"})
    assert listed.status_code == 200
    assert httpx.get(f"{info.api_url}/bills").status_code == 401
    beecloud_apps = httpx.get(f"{info.beecloud_url}/_sandbox/apps").json()["apps"]
    assert {
        "app_id": tenant["beecloud"]["app_id"],
        "webhook_url": f"{info.api_url}/callbacks/beecloud/{tenant['app_id']}",
    } in beecloud_apps
    beilypay_apps = httpx.get(f"{info.beilypay_url}/_sandbox/apps").json()["apps"]
    assert tenant["beilypay"]["app_id"] in {app["app_id"] for app in beilypay_apps}


def test_swagger_ui_serves_the_openapi_document_against_the_local_api(project_stack):
    info = project_stack.info

    page = httpx.get(info.swagger_url)
    spec = httpx.get(f"{info.api_url}/_local/openapi.json").json()

    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert httpx.get(f"{info.api_url}/_local/swagger-ui.js").status_code == 200
    assert spec["servers"][0]["url"] == info.api_url
    assert "/bills" in spec["paths"]


def test_admin_env_points_the_operator_cli_at_the_stack(project_stack):
    env = project_stack.admin_env()

    assert env["APPS_TABLE"] == "plt-real-AppsTable"
    assert env["AWS_ENDPOINT_URL"] == project_stack.info.moto_url
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == project_stack.info.dynamodb_url
    assert env["BEECLOUD_BASE_URL"] == project_stack.info.beecloud_url


def test_stop_ends_every_worker_and_every_server(project_stack):
    """Runs last among the project_stack tests: it stops the module's stack itself."""
    info = project_stack.info
    assert httpx.get(f"{info.api_url}/bills").status_code == 401  # at least one worker is up
    pids = project_stack.functions.worker_pids()
    assert pids

    project_stack.stop()

    assert [pid for pid in pids if alive(pid)] == []
    urls = [info.api_url, info.moto_url, info.beecloud_url, info.beilypay_url]
    assert [url for url in urls if listening(url)] == []
    project_stack.stop()  # idempotent


def descendants(pid: int) -> list[int]:
    found = children(pid)
    return found + [grandchild for child in found for grandchild in descendants(child)]


def run_cli(data_dir: Path, stop_signal: int = signal.SIGTERM) -> tuple[dict, int, list[int]]:
    """Start `python -m paygate_local`, wait for stack.json, signal it; (stack.json, rc, descendants)."""
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
        signed_in = httpx.post(
            f"{info['console_url']}/login", data={"email": info["console_email"], "password": info["console_password"]}
        )  # the demo operator the banner names can sign in to the console
        assert signed_in.status_code == 303, signed_in.text[:300]
        assert "paygate_console" in signed_in.headers["set-cookie"]
        spawned = descendants(proc.pid)
        commands = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in spawned]
        assert any(b"DynamoDBLocal.jar" in c for c in commands)
        assert any(b"_moto_main.py" in c for c in commands)
        proc.send_signal(stop_signal)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "demo API key" in output
    assert f"sign in as {info['console_email']} / {info['console_password']}" in output
    return info, proc.returncode, spawned


@pytest.mark.e2e
def test_cli_stops_on_sigterm_reuses_the_demo_app_and_leaves_no_orphans_when_killed(tmp_path):
    first, rc, spawned = run_cli(tmp_path)

    assert rc == 0
    assert len(spawned) >= 4  # moto, the JVM and its leash, a worker at least
    assert [pid for pid in spawned if alive(pid)] == []
    assert set(first) >= {"api_url", "api_key", "app_id", "beecloud_url", "beilypay_url", "events_url", "swagger_url"}
    assert (tmp_path / "dynamodb").is_dir()
    assert (tmp_path / "logs" / "functions.log").stat().st_size > 0

    second, rc, spawned = run_cli(tmp_path, signal.SIGKILL)  # no cleanup at all this time

    assert (second["app_id"], second["api_key"]) == (first["app_id"], first["api_key"])
    assert (second["console_email"], second["console_password"]) == (first["console_email"], first["console_password"])
    assert rc == -signal.SIGKILL
    eventually(lambda: not any(alive(pid) for pid in spawned))  # moto, JVM, workers follow their runner
