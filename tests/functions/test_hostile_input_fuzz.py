"""Fuzz: structurally hostile bodies at every route of every API function; never a 5xx, always the error shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.functions.routes import ROUTES, call
from tests.support.bad_input import assert_error_result, hostile_bodies
from tests.support.functions import BeilyPayMerchant, Merchant, result_headers


@pytest.fixture
def shops(merchant: Merchant, beilypay: BeilyPayMerchant) -> dict[str, Merchant | BeilyPayMerchant]:
    return {"beecloud": merchant, "beilypay": beilypay}


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_hostile_body_gets_a_5xx_anywhere(shops, data):
    route = data.draw(st.sampled_from(ROUTES), label="route")
    body = data.draw(hostile_bodies(route.valid_body), label="body")

    result = call(route, shops, body)

    assert result["statusCode"] < 500, (route.id, result["statusCode"], str(result["body"])[:300])
    if route.is_callback:
        assert result["statusCode"] >= 400
        assert result["body"] == "rejected"
    elif route.is_page and result["statusCode"] == 303:
        assert result_headers(result)["Location"].startswith("https://")  # back to the page
    elif route.is_page and "text/html" in result_headers(result).get("Content-Type", ""):
        assert "<html" in result["body"]  # a page that says what is wrong, never a stack trace
    elif route.is_page and result["statusCode"] < 400:
        assert result["body"]  # an asset
    elif result["statusCode"] >= 400:
        assert_error_result(result, result["statusCode"])
    else:
        json.loads(result["body"])
