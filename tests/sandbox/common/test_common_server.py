"""Serving an emulator: uvicorn's access log names the path, never the query string."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.common.server import ACCESS_LOGGER, serve_in_thread


class AccessLog(logging.Handler):
    def __init__(self, url: str) -> None:
        super().__init__(level=logging.DEBUG)
        self.url = url
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def _ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


@pytest.fixture
def access_log() -> Iterator[AccessLog]:
    """A server with its access log on, and every access line it logs."""
    server = serve_in_thread(Starlette(routes=[Route("/pay/{bill}", _ok)]), log_level="info")
    recorder = AccessLog(server.url)
    access = logging.getLogger(ACCESS_LOGGER)
    access.addHandler(recorder)
    try:
        yield recorder
    finally:
        access.removeHandler(recorder)
        server.stop()


def test_the_access_log_names_the_path_without_its_query(access_log: AccessLog) -> None:
    response = httpx.get(f"{access_log.url}/pay/B1", params={"sign": "query-secret", "key": "k"})

    assert response.status_code == 200
    assert [line for line in access_log.lines if '"GET /pay/B1 HTTP/1.1" 200' in line]
    assert not [line for line in access_log.lines if "query-secret" in line or "?" in line]
