"""Serving an emulator: access lines without query strings, and absolute-form targets served like origin form."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
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


async def _echo(request: Request) -> JSONResponse:
    scope = request.scope
    return JSONResponse(
        {
            "path": scope["path"],
            "raw_path": scope["raw_path"].decode(),
            "query": scope["query_string"].decode(),
            "host": request.headers.get("host"),
            "hosts": len(request.headers.getlist("host")),
            "param": request.path_params.get("rest"),
        }
    )


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    server = serve_in_thread(Starlette(routes=[Route("/{rest:path}", _echo, methods=["GET", "POST"])]))
    yield server.url
    server.stop()


@pytest.mark.parametrize(
    ("target", "path", "raw_path", "query", "host"),
    [
        ("http://{netloc}/v2/trans/create", "/v2/trans/create", "/v2/trans/create", "", "{netloc}"),
        ("http://{netloc}/1/rest/bills?para=%7B%7D", "/1/rest/bills", "/1/rest/bills", "para=%7B%7D", "{netloc}"),
        ("HTTPS://example.com:8443/a%20b/c", "/a b/c", "/a%20b/c", "", "example.com:8443"),
        ("http://user:pw@example.com/x", "/x", "/x", "", "example.com"),
        ("http://example.com", "/", "/", "", "example.com"),
        ("http://example.com?q=1", "/", "/", "q=1", "example.com"),
        ("http:///no/authority", "/no/authority", "/no/authority", "", "{netloc}"),
        ("/plain/origin?x=1", "/plain/origin", "/plain/origin", "x=1", "{netloc}"),
    ],
)
def test_an_absolute_form_target_is_served_as_its_origin_form(
    echo_url: str, target: str, path: str, raw_path: str, query: str, host: str
) -> None:
    netloc = echo_url.removeprefix("http://")
    with socket.create_connection(("127.0.0.1", int(netloc.rsplit(":", 1)[1])), timeout=10) as sock:
        request_line = f"GET {target.format(netloc=netloc)} HTTP/1.1"
        sock.sendall(f"{request_line}\r\nHost: {netloc}\r\nConnection: close\r\n\r\n".encode())
        reply = b"".join(iter(lambda: sock.recv(65536), b""))
    status, _, body = reply.partition(b"\r\n")
    seen = json.loads(body.partition(b"\r\n\r\n")[2])

    assert status == b"HTTP/1.1 200 OK"
    assert seen == {
        "path": path,
        "raw_path": raw_path,
        "query": query,
        "host": host.format(netloc=netloc),
        "hosts": 1,
        "param": path.removeprefix("/"),
    }
