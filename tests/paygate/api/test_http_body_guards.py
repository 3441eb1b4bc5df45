"""Body guards that run before Powertools: bytes that are not UTF-8 are a 400, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from paygate.api import http
from tests.support.lambda_context import FakeLambdaContext


def _event(raw: bytes, *, encoded: bool = True) -> dict:
    return {
        "httpMethod": "POST",
        "path": "/callbacks/x",
        "resource": "/callbacks/x",
        "headers": {"Content-Type": "application/json"},
        "requestContext": {"requestId": "r-2"},
        "body": base64.b64encode(raw).decode() if encoded else raw.decode(),
        "isBase64Encoded": encoded,
    }


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00{", b'{"title": "\xe6\xb0"}', b"\x80"])
def test_a_body_that_is_not_utf8_is_malformed_json(raw):
    result = http.handle(http.build_resolver(), _event(raw), FakeLambdaContext(), authenticated=False)
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "malformed_json"


def test_the_size_limit_counts_the_decoded_bytes():
    result = http.handle(
        http.build_resolver(), _event(b"{" + b" " * http.MAX_BODY_BYTES), FakeLambdaContext(), authenticated=False
    )
    assert result["statusCode"] == 413
