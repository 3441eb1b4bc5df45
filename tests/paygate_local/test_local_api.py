"""API Gateway emulation: the REST proxy event, the proxy result, and API Gateway's own answers."""

from __future__ import annotations

import json
import logging
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.paygate_local.helpers import FIXTURES, eventually
from tests.support.raw_http import raw_request


def echo(stack, path: str, **kwargs) -> dict:
    response = httpx.request(kwargs.pop("method", "GET"), stack.info.api_url + path, timeout=30, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def test_event_has_the_shape_of_a_real_rest_api_proxy_event(fixture_stack):
    reference = json.loads((FIXTURES / "apigateway-aws-proxy.json").read_text())

    event = echo(fixture_stack, "/echo?a=1", method="POST", content="{}")["event"]

    assert set(event) == set(reference)
    assert set(reference["requestContext"]) <= set(event["requestContext"])
    assert set(event["requestContext"]["identity"]) == set(reference["requestContext"]["identity"])
    for key, value in reference.items():
        if value is not None and event[key] is not None:
            assert type(event[key]) is type(value), key


def test_event_fields_for_a_request(fixture_stack):
    event = echo(
        fixture_stack,
        "/echo?tag=a&tag=b&single=x%20y",
        method="POST",
        content='{"k": 1}',
        headers={"Content-Type": "application/json", "X-Custom-Header": "v"},
    )["event"]

    assert (event["resource"], event["path"], event["httpMethod"]) == ("/echo", "/echo", "POST")
    assert event["queryStringParameters"] == {"tag": "b", "single": "x y"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "single": ["x y"]}
    assert event["headers"]["X-Custom-Header"] == "v"
    assert event["multiValueHeaders"]["X-Custom-Header"] == ["v"]
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["body"] == '{"k": 1}'
    assert event["isBase64Encoded"] is False
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    ctx = event["requestContext"]
    assert (ctx["resourcePath"], ctx["httpMethod"], ctx["path"], ctx["stage"]) == ("/echo", "POST", "/echo", "test")
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["domainName"] == fixture_stack.info.api_url.removeprefix("http://")
    assert ctx["accountId"] == "123456789012"
    assert isinstance(ctx["requestTimeEpoch"], int)


def test_get_without_body_or_query(fixture_stack):
    event = echo(fixture_stack, "/echo")["event"]

    assert event["body"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_path_parameters_literal_routes_win_and_greedy_proxy(fixture_stack):
    item = echo(fixture_stack, "/items/abc-1")["event"]
    encoded = echo(fixture_stack, "/items/caf%C3%A9%20au%20lait")["event"]
    literal = echo(fixture_stack, "/items/special")["event"]
    proxy = echo(fixture_stack, "/proxy/a/b/c", method="DELETE")["event"]

    assert (item["resource"], item["pathParameters"]) == ("/items/{item_id}", {"item_id": "abc-1"})
    assert encoded["pathParameters"] == {"item_id": "café au lait"}
    assert (literal["resource"], literal["pathParameters"]) == ("/items/special", None)
    assert proxy["pathParameters"] == {"proxy": "a/b/c"}
    assert proxy["requestContext"]["resourcePath"] == "/proxy/{proxy+}"


def test_binary_request_body_is_base64_encoded(fixture_stack):
    payload = bytes(range(256))

    event = echo(
        fixture_stack, "/echo", method="POST", content=payload, headers={"Content-Type": "application/octet-stream"}
    )["event"]

    assert event["isBase64Encoded"] is True
    assert event["body"] == __import__("base64").b64encode(payload).decode()


def test_proxy_result_status_headers_and_base64_body(fixture_stack):
    response = httpx.get(fixture_stack.info.api_url + "/echo?status=201")
    binary = httpx.get(fixture_stack.info.api_url + "/echo?binary=1")

    assert response.status_code == 201
    assert response.headers["X-Single"] == "one"
    assert response.headers.get_list("X-Multi") == ["a", "b"]
    assert "x-amzn-RequestId" in response.headers
    assert binary.content == bytes(range(256))
    assert binary.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("DELETE", "/echo"), ("GET", "/items/a/b")])
def test_unknown_route_or_method_is_403_missing_authentication_token(fixture_stack, method, path):
    response = httpx.request(method, fixture_stack.info.api_url + path)

    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_payload_over_10_mb_is_413(fixture_stack):
    response = httpx.post(fixture_stack.info.api_url + "/echo", content=b"x" * (10 * 1024 * 1024 + 1), timeout=30)

    assert response.status_code == 413


@pytest.mark.parametrize("mode", ["raise", "malformed", "extra-key", "no-status", "unserialisable", "exit", "hang"])
def test_handler_errors_and_malformed_results_are_502(fixture_stack, mode):
    response = httpx.get(fixture_stack.info.api_url + f"/bad?mode={mode}", timeout=30)

    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_a_crashed_worker_is_replaced(fixture_stack):
    assert httpx.get(fixture_stack.info.api_url + "/bad?mode=exit", timeout=30).status_code == 502

    assert httpx.get(fixture_stack.info.api_url + "/bad?mode=fine", timeout=30).text == "fine"


def test_integration_timeout_is_504(fixture_stack):
    response = httpx.get(fixture_stack.info.api_url + "/slow?seconds=4", timeout=30)  # > 3 s in the fixture

    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}


def test_parallel_requests_run_concurrently_in_separate_workers(fixture_stack):
    def call(seconds: float) -> dict:
        response = httpx.get(fixture_stack.info.api_url + f"/slow?seconds={seconds}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(4) as pool:
        # Cold workers on a busy machine start seconds apart; a first round starts them, so the
        # measured round shows concurrency rather than start-up jitter, inside the 3 s timeout.
        list(pool.map(call, [0.5] * 4))
        runs = list(pool.map(call, [1.5] * 4))

    assert max(r["started"] for r in runs) < min(r["ended"] for r in runs)
    assert len({r["pid"] for r in runs}) == 4


def test_each_function_sees_its_own_environment_and_context(fixture_stack):
    seen = echo(fixture_stack, "/echo")
    other = echo(fixture_stack, "/other")["env"]
    env, ctx = seen["env"], seen["context"]

    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "plt-fixture-EchoFunction"
    assert other["AWS_LAMBDA_FUNCTION_NAME"] == "plt-fixture-OtherFunction"
    assert (env["GREETING"], other["GREETING"]) == ("hello", "overridden")
    assert "ONLY_OTHER" not in env
    assert other["ONLY_OTHER"] == "yes"
    assert (env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], other["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) == ("256", "128")
    assert env["AWS_ENDPOINT_URL"] == fixture_stack.info.moto_url
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == fixture_stack.info.dynamodb_url
    assert env["PYTHONPATH"].split(":")[0].endswith("functions/echo")
    assert "functions/other" not in env["PYTHONPATH"]
    assert seen["layer"] == "from-the-layer"
    assert ctx["function_name"] == "plt-fixture-EchoFunction"
    assert ctx["memory_limit_in_mb"] == 256
    assert ctx["invoked_function_arn"].endswith(":function:plt-fixture-EchoFunction")
    assert 0 < ctx["remaining_ms"] <= 6000


def test_a_chunked_request_body_reaches_the_handler(fixture_stack):
    def chunks():
        yield b'{"part": '
        yield b"1}"

    event = echo(fixture_stack, "/echo", method="POST", content=chunks())["event"]

    assert event["body"] == '{"part": 1}'


def test_a_worker_killed_while_idle_is_replaced_transparently(fixture_stack):
    import os
    import signal

    assert httpx.get(fixture_stack.info.api_url + "/other", timeout=30).status_code == 200
    pool = fixture_stack.functions.pools["OtherFunction"]
    for pid in pool.worker_pids():
        os.kill(pid, signal.SIGKILL)
    for worker in list(pool._all):
        worker.proc.wait(timeout=10)

    assert httpx.get(fixture_stack.info.api_url + "/other", timeout=30).status_code == 200


def _socket_request(url: str, raw: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(raw)
        return conn.recv(65536)


def test_request_lines_are_logged_without_their_query_strings(fixture_stack, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "pgk.app_0123456789abcdef.query-secret"

    ok = httpx.get(fixture_stack.info.api_url + "/echo", params={"api_key": secret, "a": "1"})
    missing = httpx.get(fixture_stack.info.api_url + "/nowhere", params={"api_key": secret})
    bad = _socket_request(fixture_stack.info.api_url, f"GET /echo?api_key={secret} junk HTTP/1.1\r\n\r\n".encode())

    servers = ("paygate_local", "werkzeug")
    logged = [record.getMessage() for record in caplog.records if record.name.startswith(servers)]
    assert not [line for line in logged if "query-secret" in line]
    assert (ok.status_code, missing.status_code) == (200, 403)
    assert bad.startswith((b"HTTP/1.1 400", b"HTTP/1.0 400"))  # answered, not dropped
    assert "GET /echo 200" in logged
    assert "GET /nowhere 403" in logged
    assert [line for line in logged if "Bad request syntax ('GET /echo junk HTTP/1.1')" in line]


def test_workers_have_the_lambda_runtimes_root_logger(fixture_stack, caplog):
    caplog.set_level(logging.INFO, logger="paygate_local.fn")
    marker = uuid.uuid4().hex

    request_id = echo(fixture_stack, f"/echo?log={marker}")["context"]["aws_request_id"]

    def lines() -> list[str]:
        # Only the function's output: this test's own HTTP client may log the URL it requested.
        return [
            r.getMessage()
            for r in caplog.records
            if r.name.startswith("paygate_local.fn.") and marker in r.getMessage()
        ]

    warning = eventually(lines)
    assert len(warning) == 1  # INFO is below the runtime's WARNING
    level, at, logged_id, message = warning[0].split("\t")
    assert (level, logged_id, message) == ("[WARNING]", request_id, f"plain warning {marker}")
    assert at.endswith("Z")


# Volatile per request: the ids API Gateway gives each request, and when it was received.
PER_REQUEST_HEADERS = ("date", "x-amzn-requestid", "x-amz-apigw-id")


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("DELETE", "/echo"), ("POST", "/echo?a=1&a=2")])
def test_an_absolute_form_request_target_is_served_like_its_origin_form(fixture_stack, method, path):
    # RFC 9112 3.2.2: a server must accept `POST http://host:port/path HTTP/1.1` (some SDKs send it).
    url = fixture_stack.info.api_url
    sent = {"body": b'{"k": 1}', "headers": {"Content-Type": "application/json"}}
    origin = raw_request(url, method, path, **sent).without(*PER_REQUEST_HEADERS)
    absolute = raw_request(url, method, path, absolute=True, **sent).without(*PER_REQUEST_HEADERS)

    if method == "POST":  # the echo: the event the function saw, minus what differs per request
        assert (absolute.status_line, absolute.headers) == (origin.status_line, origin.headers)
        seen = [json.loads(answer.body)["event"] for answer in (origin, absolute)]
        for event in seen:
            event.pop("requestContext")
            event["headers"].pop("X-Amzn-Trace-Id")
            event["multiValueHeaders"].pop("X-Amzn-Trace-Id")
        assert seen[1] == seen[0]
        assert (seen[1]["path"], seen[1]["multiValueQueryStringParameters"]) == ("/echo", {"a": ["1", "2"]})
    else:
        assert absolute == origin
        assert absolute.status == 403


def test_the_lambda_invoke_endpoint_accepts_an_absolute_form_target(fixture_stack):
    url = fixture_stack.moto.invoke_url
    invoke = "/2015-03-31/functions/plt-fixture-TaskFunction/invocations"
    for path in (invoke, "/2015-03-31/functions/no-such-function/invocations", "/nowhere"):
        origin = raw_request(url, "POST", path, body=b'{"n": 4}').without("date", "x-amzn-requestid")
        absolute = raw_request(url, "POST", path, body=b'{"n": 4}', absolute=True).without("date", "x-amzn-requestid")

        assert (absolute.status_line, absolute.headers) == (origin.status_line, origin.headers), path
        if path == invoke:
            assert json.loads(absolute.body)["n"] == json.loads(origin.body)["n"] == 8
        else:
            assert absolute.body == origin.body


def test_no_server_of_the_stack_names_its_software(fixture_stack):
    """API Gateway and the AWS endpoints send no `Server: Werkzeug/x Python/y`; neither does the stack."""
    api, moto = fixture_stack.info.api_url, fixture_stack.info.moto_url
    invoke = fixture_stack.moto.invoke_url + "/2015-03-31/functions/plt-fixture-TaskFunction/invocations"
    answers = [
        httpx.get(api + "/echo"),  # a function's answer
        httpx.get(api + "/nowhere"),  # the gateway's own 403
        httpx.get(api + "/bad?mode=raise", timeout=30),  # the gateway's 502
        httpx.post(moto, headers={"X-Amz-Target": "AWSEvents.ListEventBuses"}, content=b"{}"),
        httpx.post(invoke, content=b'{"n": 1}'),
    ]

    # moto answers as AWS does (`Server: amazon.com`); nothing else names a server.
    assert [answer.headers.get("server") for answer in answers] == [None, None, None, "amazon.com", None]
    assert all("date" in answer.headers for answer in answers)
