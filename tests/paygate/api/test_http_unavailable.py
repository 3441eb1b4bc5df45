"""A backing AWS service that is down or throttling answers 503 in the error shape, never a crash."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError, ReadTimeoutError

from paygate.api import http
from tests.support.lambda_context import FakeLambdaContext


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}}, "GetItem")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), True),
        (_client_error("ProvisionedThroughputExceededException"), True),
        (_client_error("ThrottlingException"), True),
        (_client_error("InternalServerError"), True),
        (_client_error("ResourceNotFoundException"), False),  # a configuration bug, not an outage
        (ParamValidationError(report="bad"), False),  # our bug
        (ValueError("x"), False),
    ],
)
def test_which_errors_mean_retry_later(error, expected):
    assert http.backing_service_unavailable(error) is expected


def test_authentication_against_an_unreachable_table_is_a_clean_503(monkeypatch):
    class Down:
        def get(self, app_id, *, refresh=False):
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(http, "app_cache", lambda: Down())
    event = {
        "httpMethod": "GET",
        "path": "/bills",
        "resource": "/bills",
        "headers": {"Authorization": "Bearer pgk.app_0123456789abcdef.secret"},
        "requestContext": {"requestId": "r-1"},
        "body": None,
    }

    result = http.handle(http.build_resolver(), event, FakeLambdaContext())

    assert result["statusCode"] == 503
    assert json.loads(result["body"])["error"] == {
        "code": "service_unavailable",
        "message": "the service is temporarily unavailable; retry the same request",
        "request_id": "r-1",
    }
