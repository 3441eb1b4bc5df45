"""Swagger UI for the local API: docs/openapi.json with Powertools' bundled assets (works offline)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import aws_lambda_powertools.event_handler.openapi.swagger_ui as assets

from paygate_local.apigateway import ApiGateway

_SWAGGER_HTML = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>paygate API (local)</title>
<link rel="stylesheet" href="/_local/swagger-ui.css"></head>
<body><div id="swagger-ui"></div><script src="/_local/swagger-ui.js"></script>
<script>SwaggerUIBundle({url: "/_local/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true});</script>
</body></html>
"""


def _static(content_type: str, body: bytes) -> Callable[[dict[str, list[str]]], tuple[int, str, bytes]]:
    return lambda _query: (200, content_type, body)


def add_swagger_ui(api: ApiGateway, spec_path: Path) -> None:
    """Swagger UI at /_local/swagger over docs/openapi.json, with Powertools' bundled assets (offline)."""
    if not spec_path.exists():
        page = b"<!doctype html><title>paygate API</title><p>No docs/openapi.json next to the template.</p>"
        api.local_routes["/_local/swagger"] = _static("text/html; charset=utf-8", page)
        return
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    spec["servers"] = [{"url": api.url, "description": "local stack"}]
    asset_dir = Path(assets.__file__).parent
    api.local_routes.update(
        {
            "/_local/swagger": _static("text/html; charset=utf-8", _SWAGGER_HTML),
            "/_local/openapi.json": _static("application/json", json.dumps(spec).encode()),
            "/_local/swagger-ui.js": _static("text/javascript", (asset_dir / "swagger-ui-bundle.min.js").read_bytes()),
            "/_local/swagger-ui.css": _static("text/css", (asset_dir / "swagger-ui.min.css").read_bytes()),
        }
    )
