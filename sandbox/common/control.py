"""The ``/_sandbox`` control routes every emulator shares (health, reset, faults, notifications)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.common.faults import FaultPlan, rule_as_json
from sandbox.common.notifier import Notifier

FAULT_FIELDS = frozenset({"scope", "kind", "path", "count", "delay_s", "status", "process", "field"})


async def read_json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; raises ValueError (→ 400) otherwise."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def bad_request(message: str) -> JSONResponse:
    """The control API's one error shape."""
    return JSONResponse({"error": message}, status_code=400)


def control_routes(*, plan: FaultPlan, notifier: Notifier, reset: Callable[[], None]) -> list[Route]:
    """Routes for health, reset, fault injection and the notification log."""

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def reset_all(request: Request) -> Response:
        reset()
        plan.clear()
        notifier.reset()
        return JSONResponse({"ok": True})

    async def add_fault(request: Request) -> Response:
        try:
            body = await read_json_object(request)
            unknown = set(body) - FAULT_FIELDS
            if unknown:
                raise ValueError(f"unknown fields: {sorted(unknown)}")
            if "scope" not in body or "kind" not in body:
                raise ValueError("scope and kind are required")
            options = {k: v for k, v in body.items() if v is not None or k == "path"}
            rule = plan.add(**options)
        except (ValueError, TypeError) as exc:
            return bad_request(str(exc))
        return JSONResponse(rule_as_json(rule), status_code=201)

    async def list_faults(request: Request) -> Response:
        return JSONResponse({"faults": [rule_as_json(rule) for rule in plan.list()]})

    async def clear_faults(request: Request) -> Response:
        plan.clear()
        return JSONResponse({"ok": True})

    async def notifications(request: Request) -> Response:
        ref = request.query_params.get("ref")
        return JSONResponse({"attempts": [asdict(a) for a in notifier.attempts(ref)]})

    async def redeliver(request: Request) -> Response:
        delivery_id = request.path_params["delivery_id"]
        try:
            new_id = notifier.redeliver(delivery_id)
        except KeyError:
            return JSONResponse({"error": f"no delivery {delivery_id}"}, status_code=404)
        return JSONResponse({"delivery_id": new_id, "redelivers": delivery_id}, status_code=202)

    return [
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/reset", reset_all, methods=["POST"]),
        Route("/_sandbox/faults", add_fault, methods=["POST"]),
        Route("/_sandbox/faults", list_faults, methods=["GET"]),
        Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
        Route("/_sandbox/notifications", notifications, methods=["GET"]),
        Route("/_sandbox/notifications/{delivery_id}/redeliver", redeliver, methods=["POST"]),
    ]
