"""Last: nothing secret in any log line the whole suite produced.

Scanned (after driving every path that handles a secret, the console's sign-in and refund
included): every function worker's output (Powertools JSON logs, EMF metrics, tracebacks), the
runner's and the sandboxes' loggers (in this process) and DynamoDB Local's log. Looked for: every
API key (and its secret part), every provider secret, the console's passwords and session
tokens, and the payouts' full account number, mobile and e-mail. Findings name the kind and where, never the value.
"""

from __future__ import annotations

import re
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
        if value.startswith("pgc."):  # the console's passwords and session tokens (see _drive_the_console)
            needles[value.removeprefix("pgc.")] = "console password or session token"
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


def _drive_the_console(gateway: Gateway) -> None:
    """A console user signs in (after a wrong password), opens a bill and refunds from it."""
    shop = gateway.merchant("leak-scan-console")
    user = gateway.stack.create_console_user(shop.app_id, "leak-scan@shop.example")
    console = f"{gateway.info.api_url}/console"
    gateway.secrets.add("pgc." + user["password"])
    wrong = gateway.anonymous.post(f"{console}/login", data={"email": user["email"], "password": "wrong-" + "x" * 12})
    assert wrong.status_code == 401
    signed_in = gateway.anonymous.post(f"{console}/login", data={"email": user["email"], "password": user["password"]})
    assert signed_in.status_code == 303
    token = signed_in.cookies["paygate_console"]
    gateway.secrets.add("pgc." + token)
    assert shop.http.post("/bills", json=bill_body("LEAKSCAN0002")).status_code == 201
    gateway.beecloud.get(shop.http.get("/bills/LEAKSCAN0002").json()["payment"]["code_url"])
    eventually(lambda: shop.http.get("/bills/LEAKSCAN0002").json()["status"] == "succeeded")
    cookies = {"Cookie": f"paygate_console={token}"}
    page = gateway.anonymous.get(f"{console}/bills/LEAKSCAN0002", headers=cookies).text
    form = dict(re.findall(r'name="(csrf|refund_no)" value="([^"]+)"', page))
    refunded = gateway.anonymous.post(
        f"{console}/bills/LEAKSCAN0002/refund", data={**form, "amount": "0.50", "confirm": "yes"}, headers=cookies
    )
    assert refunded.status_code == 303, refunded.text[:300]


def test_no_key_secret_account_mobile_or_email_in_any_log_line(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    _drive_every_sensitive_path(gateway)
    _drive_the_console(gateway)
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
