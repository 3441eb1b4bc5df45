"""Security: tenant isolation, rotated keys, constant-time comparisons, size limits, where secrets live.

Invariants: app B's key never reads or changes app A's orders (404, exactly like a missing order,
never 403); a rotated key stops working at once; every secret or signature comparison in the
product goes through hmac.compare_digest; secrets reach the functions only through Secrets
Manager, never through their environment.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from paygate_local.template import load_yaml
from tests.reliability.support import (
    FIGURES,
    PAYOUT_ACCOUNT,
    Gateway,
    assert_error_shape,
    bill_body,
    eventually,
    payout_body,
)
from tests.support.clock import refund_no as todays_refund_no

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "paygate" / "paygate"


def test_app_b_never_reads_or_changes_app_a_orders_and_gets_404_not_403(gateway: Gateway) -> None:
    alice, bob = gateway.merchant("tenant-a"), gateway.merchant("tenant-b")
    assert alice.http.post("/bills", json=bill_body("TENANTA00001", channel="UN_APP", total_fee=500)).status_code == 201
    gateway.beecloud.post(f"/_sandbox/bills/{alice.beecloud_app_id}/TENANTA00001/pay")
    eventually(lambda: alice.http.get("/bills/TENANTA00001").json()["status"] == "succeeded")
    refund_no = todays_refund_no("TEN01")
    refund = alice.http.post("/refunds", json={"refund_no": refund_no, "bill_no": "TENANTA00001", "refund_fee": 100})
    assert refund.status_code == 201, refund.text
    assert alice.http.post("/payouts", json=payout_body("TENANT-A-PO1")).status_code in (201, 202)
    # Alice's refund and payout settle on the providers' callbacks a moment later; the snapshot is
    # taken once both are final, so the comparison at the end can only see what Bob changed.
    paths = ("/bills/TENANTA00001", f"/refunds/{refund_no}", "/payouts/TENANT-A-PO1")
    before = eventually(lambda: _all_final({p: alice.http.get(p).json() for p in paths}))

    probes = [
        bob.http.get("/bills/TENANTA00001"),
        bob.http.get(f"/refunds/{refund_no}"),
        bob.http.get("/payouts/TENANT-A-PO1"),
        bob.http.post(
            "/refunds", json={"refund_no": todays_refund_no("TEN02"), "bill_no": "TENANTA00001", "refund_fee": 1}
        ),
        bob.http.post(f"/refunds/{refund_no}/refresh"),
    ]
    FIGURES.add("bad_inputs_tried", len(probes) + 3)
    for probe in probes:
        assert probe.status_code == 404, probe.text  # exactly what a missing order answers
        assert assert_error_shape(probe, 404)["code"].endswith("_not_found")
    for path in ("/bills", "/refunds", "/payouts"):
        assert bob.http.get(path).json()["data"] == []
    cursor = alice.http.get("/bills", params={"limit": 1}).json()["next_cursor"]
    alice.http.post("/bills", json=bill_body("TENANTA00002"))
    cursor = alice.http.get("/bills", params={"limit": 1}).json()["next_cursor"]
    assert cursor
    stolen = bob.http.get("/bills", params={"cursor": cursor})
    assert assert_error_shape(stolen, 422)["code"] == "invalid_cursor"
    # The same order number is Bob's own, separate order: never a conflict with Alice's.
    assert bob.http.post("/bills", json=bill_body("TENANTA00001", total_fee=999)).status_code == 201
    assert {p: alice.http.get(p).json() for p in before} == before
    FIGURES.add("orders_checked", 3)


def _all_final(views: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """The views if no order among them can still move on its own (nothing pending), else None."""
    return views if all(view["status"] in {"succeeded", "failed"} for view in views.values()) else None


def _admin(gateway: Gateway, *args: str) -> dict[str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "paygate.apps.admin", *args],
        env=gateway.stack.admin_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(proc.stdout))


def test_a_rotated_key_is_refused_within_the_documented_bound_and_keys_are_not_interchangeable(
    gateway: Gateway,
) -> None:
    shop, other = gateway.merchant("rotate"), gateway.merchant("rotate-other")
    old = shop.api_key
    assert shop.http.get("/bills").status_code == 200

    rotated = _admin(gateway, "apps", "rotate-key", "--app-id", shop.app_id, "--json")
    gateway.secrets.add(rotated["api_key"])

    def status(key: str) -> int:
        FIGURES.add("requests_sent")
        return gateway.anonymous.get("/bills", headers={"Authorization": f"Bearer {key}"}).status_code

    # docs/performance.md "Capacity": a container trusts its copy of the app for APP_CACHE_TTL_S (the
    # template's default, 5 s); a key it does not know is read again at most once a second.
    bound_s = float(load_yaml(ROOT / "template.yaml")["Parameters"]["ApiKeyCacheSeconds"]["Default"])
    eventually(lambda: status(rotated["api_key"]) == 200, timeout=2.0, interval=0.2)
    eventually(lambda: status(old) == 401, timeout=bound_s + 1.0, interval=0.2)
    secret_part = old.split(".", 2)[2]
    forged = [
        f"pgk.{other.app_id}.{secret_part}",  # my secret under another app's id
        old.upper(),
        old[:-1],
        old + "x",
        f"pgk.{shop.app_id}.",
        "pgk..",
        "Bearer",
        "x" * 5000,
    ]
    FIGURES.add("bad_inputs_tried", len(forged) + 3)
    for key in forged:
        assert status(key) == 401, key
    for header in ({}, {"Authorization": old}, {"Authorization": f"Basic {old}"}):
        response = gateway.anonymous.get("/bills", headers=header)
        assert assert_error_shape(response, 401)["code"] == "unauthorized"


_SECRET_NAME = re.compile(r"sign|secret|key_hash|digest|token|password|api_key", re.IGNORECASE)


def test_every_secret_or_signature_comparison_is_constant_time() -> None:
    """Review aid: `==`/`!=` with a secret-looking operand in product code fails this test."""
    offenders = []
    for path in sorted(LAYER.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare) or not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value is None for o in operands):
                continue
            names = " ".join(ast.unparse(o) for o in operands if not isinstance(o, ast.Constant))
            if _SECRET_NAME.search(names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == [], "compare secrets with hmac.compare_digest:\n" + "\n".join(offenders)
    uses = sum(p.read_text(encoding="utf-8").count("compare_digest") for p in LAYER.rglob("*.py"))
    assert uses >= 3  # API keys, BeeCloud and BeilyPay signatures


def test_request_size_is_limited_on_every_route_including_callbacks(gateway: Gateway) -> None:
    shop = gateway.merchant("sizes")
    big = json.dumps({"pad": "x" * 70_000})
    FIGURES.add("bad_inputs_tried", 3)
    for path, client in (("/bills", shop.http), ("/payouts", shop.http)):
        response = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert assert_error_shape(response, 413)["code"] == "body_too_large", path
    # A provider reads only the acknowledgement word: a refused callback answers as every refused one does.
    callback = gateway.anonymous.post(
        f"/callbacks/beecloud/{shop.app_id}", content=big, headers={"Content-Type": "application/json"}
    )
    assert (callback.status_code, callback.text) == (413, "rejected")


def test_secrets_reach_functions_only_through_secrets_manager(gateway: Gateway) -> None:
    template = load_yaml(ROOT / "template.yaml")
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    envs = [globals_env] + [
        (r.get("Properties", {}).get("Environment") or {}).get("Variables", {})
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::Serverless::Function"
    ]
    for env in envs:
        for name, value in env.items():
            if re.search(r"SECRET|PASSWORD|API_KEY|TOKEN", name) and isinstance(value, str):
                raise AssertionError(f"{name} looks like a secret in plain text in template.yaml")
    # Logging the event would log the Authorization header (an API key) and provider callbacks.
    for env in envs:
        assert str(env.get("POWERTOOLS_LOGGER_LOG_EVENT", "false")).lower() != "true"
    for handler in (ROOT / "functions").glob("*/app.py"):
        assert "log_event=True" not in handler.read_text(encoding="utf-8"), handler
    # At run time: no function's environment holds any key or secret handed to the stack.
    assert gateway.stack.functions is not None
    if not gateway.secrets:
        gateway.merchant("secrets")  # run alone: give the stack some secrets to keep out of sight
    for pool in gateway.stack.functions.pools.values():
        values = set(pool.env.values())
        assert not (values & gateway.secrets), pool.spec.logical_id
        assert PAYOUT_ACCOUNT not in " ".join(values)
    # The domain reads configuration once, through settings; secrets through Powertools Parameters.
    readers = [p for p in LAYER.rglob("*.py") if "os.environ" in p.read_text(encoding="utf-8")]
    assert [p.name for p in readers] in ([], ["settings.py"]), readers
    assert "parameters.SecretsProvider" in (LAYER / "credentials.py").read_text(encoding="utf-8")
