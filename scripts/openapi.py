"""The merchant API's OpenAPI document, merged from every API function's Powertools resolver.

Each function serves only its own routes, so each resolver knows only part of the API; the
public document is their union. `python -m scripts.openapi` writes docs/openapi.json;
`--check` fails when the committed document and the code have drifted apart.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi.json"
# The callback route is for providers, not merchants; PollPending is not an API function.
API_FUNCTIONS = ("create_bill", "refund", "payout", "collect", "query", "webhook_endpoints", "checkout")
TITLE = "paygate merchant API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Take payments over BeeCloud (WeChat Pay, Alipay, UnionPay) and refund them; pay out to and collect from "
    "Indian bank accounts over BeilyPay. Amounts are integers in minor units (fen for CNY, paise for INR). "
    "Authenticate with `Authorization: Bearer <api key>`. Errors share one shape: "
    '`{"error": {"code", "message", "details"?, "request_id"?}}`.'
)


def load_resolver(function: str) -> APIGatewayRestResolver:
    path = ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"paygate_openapi_{function}", path)
    if spec is None or spec.loader is None:
        raise ImportError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    resolver: APIGatewayRestResolver = module.app
    return resolver


def build_openapi(server_url: str = "/") -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for function in API_FUNCTIONS:
        schema = load_resolver(function).get_openapi_schema(
            title=TITLE,
            version=VERSION,
            description=DESCRIPTION,
            servers=[Server(url=server_url)],
            security_schemes={"apiKey": HTTPBearer(description="pgk.<app_id>.<secret>")},
            security=[{"apiKey": []}],
        )
        document = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
        if not merged:
            merged = document
            continue
        for path, operations in document.get("paths", {}).items():
            merged["paths"].setdefault(path, {}).update(operations)
        merged.setdefault("components", {}).setdefault("schemas", {}).update(
            document.get("components", {}).get("schemas", {})
        )
    merged["paths"] = dict(sorted(merged["paths"].items()))
    merged["components"]["schemas"] = dict(sorted(merged["components"]["schemas"].items()))
    return merged


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if docs/openapi.json is out of date")
    args = parser.parse_args(argv)
    current = render(build_openapi())
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != current:
            print("docs/openapi.json is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(current)
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
