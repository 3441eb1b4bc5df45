"""Last: nothing secret in any log line the whole suite produced.

Scanned: every function worker's output (Powertools JSON logs, EMF metrics, tracebacks), the
runner's and the sandboxes' loggers (in this process) and DynamoDB Local's log. Looked for: every
API key (and its secret part), every provider secret, and the payouts' full account number,
mobile and e-mail. Findings name the kind and where, never the value.
"""

from __future__ import annotations

from pathlib import Path

from tests.reliability.support import (
    FIGURES,
    PAYOUT_ACCOUNT,
    PAYOUT_EMAIL,
    PAYOUT_MOBILE,
    Gateway,
    bill_body,
    eventually,
    payout_body,
    today,
)


def _needles(gateway: Gateway) -> dict[str, str]:
    needles = {PAYOUT_ACCOUNT: "account number", PAYOUT_EMAIL: "e-mail", PAYOUT_MOBILE: "mobile"}
    for merchant in gateway.merchants:
        needles[merchant.beecloud["app_secret"]] = "BeeCloud app secret"
        needles[merchant.beecloud["master_secret"]] = "BeeCloud master secret"
        needles[str(merchant.beilypay["secret"])] = "BeilyPay secret"
    for value in gateway.secrets:
        if value.startswith("pgk."):
            needles[value] = "API key"
            needles[value.split(".", 2)[2]] = "API key secret part"
    return needles


def _drive_every_sensitive_path(gateway: Gateway) -> None:
    """Own traffic through each path that handles a secret or personal data, so the scan never
    depends on which scenarios ran before it in this process (xdist spreads files over workers)."""
    shop = gateway.merchant("leak-scan")
    assert shop.http.post("/bills", json=bill_body("LEAKSCAN0001")).status_code == 201
    code_url = shop.http.get("/bills/LEAKSCAN0001").json()["payment"]["code_url"]
    gateway.beecloud.get(code_url)
    eventually(lambda: shop.http.get("/bills/LEAKSCAN0001").json()["status"] == "succeeded")
    refund = {"refund_no": f"{today()}901", "bill_no": "LEAKSCAN0001", "refund_fee": 50}
    assert shop.http.post("/refunds", json=refund).status_code == 201
    assert shop.http.post("/payouts", json=payout_body("LEAKSCAN-PO-1")).status_code in (201, 202)
    forged = {
        "sign": "0" * 32,
        "timestamp": 1,
        "transaction_type": "PAY",
        "transaction_id": "LEAKSCAN0001",
        "transaction_fee": 100,
        "channel_type": "WX",
        "trade_success": True,
    }
    assert gateway.anonymous.post(f"/callbacks/beecloud/{shop.app_id}", json=forged).status_code == 400
    assert gateway.anonymous.get("/bills", headers={"Authorization": f"Bearer {shop.api_key}x"}).status_code == 401


def test_no_key_secret_account_mobile_or_email_in_any_log_line(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    _drive_every_sensitive_path(gateway)
    sources: dict[str, list[str]] = {
        "function workers": [line for _name, line in gateway.function_lines()],
        "runner and sandboxes": list(gateway.runner_lines),
    }
    dynamodb_log = Path(gateway.logs_dir) / "dynamodb.log"
    if dynamodb_log.exists():
        sources["DynamoDB Local"] = dynamodb_log.read_text(encoding="utf-8", errors="replace").splitlines()
    assert len(sources["function workers"]) > 20, "the scan must see the functions' logs"
    needles = _needles(gateway)
    for source, lines in sources.items():
        for number, line in enumerate(lines, start=1):
            for needle, kind in needles.items():
                if needle in line:
                    FIGURES.violation("leaked_secrets", f"{kind} in {source} line {number}")
    FIGURES.assert_clean(start)
