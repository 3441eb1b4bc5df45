"""Last: nothing secret in any log line the whole suite produced.

Scanned: every function worker's output (Powertools JSON logs, EMF metrics, tracebacks), the
runner's and the sandboxes' loggers (in this process) and DynamoDB Local's log. Looked for: every
API key (and its secret part), every provider secret, and the payouts' full account number,
mobile and e-mail. Findings name the kind and where, never the value.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.support import FIGURES, PAYOUT_ACCOUNT, PAYOUT_EMAIL, PAYOUT_MOBILE, Gateway


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


def test_no_key_secret_account_mobile_or_email_in_any_log_line(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    sources: dict[str, list[str]] = {
        "function workers": [line for _name, line in gateway.function_lines()],
        "runner and sandboxes": list(gateway.runner_lines),
    }
    dynamodb_log = Path(gateway.logs_dir) / "dynamodb.log"
    if dynamodb_log.exists():
        sources["DynamoDB Local"] = dynamodb_log.read_text(encoding="utf-8", errors="replace").splitlines()
    if not gateway.merchants:
        pytest.skip("run with the rest of the suite: it scans what the scenarios logged")

    assert len(sources["function workers"]) > 1000, "the scan must see the suite's function logs"
    needles = _needles(gateway)
    for source, lines in sources.items():
        for number, line in enumerate(lines, start=1):
            for needle, kind in needles.items():
                if needle in line:
                    FIGURES.violation("leaked_secrets", f"{kind} in {source} line {number}")
    FIGURES.assert_clean(start)
