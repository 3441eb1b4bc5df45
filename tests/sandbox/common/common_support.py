"""A minimal emulator built only from the shared pieces (tests of sandbox.common)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.common.control import control_routes
from sandbox.common.faults import FaultMiddleware, FaultPlan
from sandbox.common.notifier import Notifier
from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import RunningServer

TIME_SCALE = 0.01
SCHEDULE = (0, 5, 10, 20)  # 0, 50, 100, 200 ms once scaled

Receiver = tuple[RecordingReceiver, str]  # a running receiver and its base URL


@dataclass
class MiniEmulator:
    """Just enough provider to exercise the shared pieces: an echo endpoint and a notify trigger."""

    plan: FaultPlan
    notifier: Notifier
    processed: list[dict[str, Any]] = field(default_factory=list)
    resets: int = 0

    def app(self) -> Starlette:
        async def echo(request: Request) -> Response:
            body = await request.json()
            self.processed.append(body)
            return JSONResponse({"code": 200, "echo": body, "padding": "x" * 40})

        async def notify(request: Request) -> Response:
            body = await request.json()
            delivery_id = self.notifier.submit(ref=body["ref"], url=body["url"], body=body["body"])
            return JSONResponse({"delivery_id": delivery_id})

        def reset() -> None:
            self.resets += 1
            self.processed.clear()

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            yield
            await self.notifier.aclose()

        routes = [
            Route("/api/echo", echo, methods=["POST"]),
            Route("/api/notify", notify, methods=["POST"]),
            *control_routes(plan=self.plan, notifier=self.notifier, reset=reset),
        ]
        app = Starlette(routes=routes, lifespan=lifespan)
        app.add_middleware(FaultMiddleware, plan=self.plan, time_scale=TIME_SCALE)
        return app


@dataclass
class Running:
    emulator: MiniEmulator
    server: RunningServer
    client: httpx.Client

    def notify(self, ref: str, url: str, body: dict[str, Any]) -> str:
        response = self.client.post("/api/notify", json={"ref": ref, "url": url, "body": body})
        response.raise_for_status()
        return str(response.json()["delivery_id"])

    def attempts(self, ref: str | None = None) -> list[dict[str, Any]]:
        params = {"ref": ref} if ref else {}
        return list(self.client.get("/_sandbox/notifications", params=params).json()["attempts"])
