"""Bodies Python's json module chokes on or lets through are a 4xx on every route that takes one, never a 500.

The API routes answer in the error shape; the provider callbacks answer as they answer any refused
callback (`rejected`, no ack word, so the provider sends it again).
"""

from __future__ import annotations

import json

import pytest

from tests.functions.routes import BODY_ROUTES, ROUTES, Route, api_functions, call
from tests.support.bad_input import HUGE_INT, RawBody, assert_error_result, nested_array, with_raw_value
from tests.support.functions import BeilyPayMerchant, Merchant


@pytest.fixture
def shops(merchant: Merchant, beilypay: BeilyPayMerchant) -> dict[str, Merchant | BeilyPayMerchant]:
    return {"beecloud": merchant, "beilypay": beilypay}


def assert_refused_everywhere(shops, make_body, *statuses: int) -> None:
    """Every route that takes a body refuses it: the API in the error shape, callbacks with `rejected`."""
    for route in BODY_ROUTES:
        result = call(route, shops, make_body(route))
        if route.is_callback:
            assert result["statusCode"] in statuses, (route.id, result["statusCode"], result["body"][:300])
            assert result["body"] == "rejected", route.id
        else:
            assert result["statusCode"] in statuses, (route.id, result["statusCode"], result["body"][:300])
            assert_error_result(result, *statuses)


def test_the_route_catalogue_covers_every_route_of_every_api_function(aws):
    from tests.support.functions import load_function

    registered = {
        (name, route.method, route.openapi_path)
        for name in api_functions()
        for route in load_function(name).app._static_routes + load_function(name).app._dynamic_routes
    }
    assert registered == {(r.function, r.method, r.resource) for r in ROUTES}


def test_an_array_nested_30000_deep_is_refused(shops):
    assert_refused_everywhere(shops, lambda route: RawBody(nested_array(30_000).encode()), 422)


def test_an_integer_longer_than_pythons_limit_is_malformed(shops):
    def body(route: Route) -> RawBody:
        valid = route.valid_body or {"a": 1}
        return RawBody(with_raw_value(valid, next(iter(valid)), HUGE_INT))

    assert_refused_everywhere(shops, body, 400)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_malformed(shops, literal):
    assert_refused_everywhere(
        shops, lambda route: RawBody(with_raw_value(route.valid_body, "optional", f'{{"n": {literal}}}')), 400
    )


def test_a_repeated_key_is_refused(shops):
    def body(route: Route) -> RawBody:
        text = json.dumps({**route.valid_body, "optional": {"a": 1}})
        return RawBody(text.replace('{"a": 1}', '{"a": 1, "a": 2}').encode())

    assert_refused_everywhere(shops, body, 422)


def test_a_lone_surrogate_is_refused(shops):
    assert_refused_everywhere(
        shops, lambda route: RawBody(with_raw_value(route.valid_body, "optional", '{"note": "\\ud800"}')), 422
    )


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe{", b'{"a": "\xed\xa0\x80"}', b"[" * 30_000], ids=["bom16", "surrogate", "deep"]
)
def test_base64_encoded_bodies_get_the_same_checks(shops, raw):
    assert_refused_everywhere(shops, lambda route: RawBody(raw, base64=True), 400, 422)


def test_the_api_names_the_problem_without_echoing_the_body(shops):
    result = call(BODY_ROUTES[0], shops, RawBody(nested_array(30_000).encode()))
    error = assert_error_result(result, 422)
    assert error["code"] == "invalid_request"
    assert "nest at most 16 levels" in error["message"]
