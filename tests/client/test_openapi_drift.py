"""The client's hand-written models and operations against the committed docs/openapi.json.

A field, type, constraint, enum value or route that changes on one side only fails here.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import pytest
from pydantic import BaseModel

from paygate_client import OPERATIONS
from paygate_client.models import OPENAPI_SCHEMAS
from scripts.openapi import DOCUMENT

SPEC = json.loads(DOCUMENT.read_text())
SCHEMAS = SPEC["components"]["schemas"]
_IGNORED = {"title", "description", "default", "examples"}
CLIENT_TO_SPEC = {cls.__name__: name for cls, name in OPENAPI_SCHEMAS.items()}


def _norm(schema: Any, refs: dict[str, str]) -> Any:
    """A schema with the documentation keys dropped, numbers as floats and $refs named as in the spec."""
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key in _IGNORED:
                continue
            if key == "$ref":
                out[key] = refs.get(value.rsplit("/", 1)[-1], value.rsplit("/", 1)[-1])
            elif key == "enum":
                out[key] = sorted(value)
            else:
                out[key] = _norm(value, refs)
        return out
    if isinstance(schema, list):
        return [_norm(v, refs) for v in schema]
    if isinstance(schema, int | float) and not isinstance(schema, bool):
        return float(schema)
    return schema


def _client_schema(model: type[BaseModel] | type[StrEnum]) -> dict[str, Any]:
    if issubclass(model, BaseModel):
        mode = "validation" if model.__name__.startswith("Create") and "Request" in model.__name__ else "serialization"
        return model.model_json_schema(mode=mode)
    return {"type": "string", "enum": [m.value for m in model]}


@pytest.mark.parametrize("model", list(OPENAPI_SCHEMAS), ids=lambda m: m.__name__)
def test_the_client_model_matches_its_openapi_schema(model):
    spec = SCHEMAS[OPENAPI_SCHEMAS[model]]
    mine = _client_schema(model)
    if "enum" in spec:
        assert sorted(mine["enum"]) == sorted(spec["enum"])
        return
    spec_props, my_props = spec["properties"], mine["properties"]
    assert set(my_props) == set(spec_props), "fields differ"
    for name, prop in spec_props.items():
        assert _norm(my_props[name], CLIENT_TO_SPEC) == _norm(prop, {}), f"{model.__name__}.{name}"
    spec_required, my_required = set(spec.get("required", [])), set(mine.get("required", []))
    # The client may fill a required field itself (a const with a default it always sends).
    assert my_required <= spec_required
    for name in spec_required - my_required:
        assert model.model_fields[name].default is not None, f"{model.__name__}.{name} is required by the API"


def test_every_schema_the_api_documents_has_a_client_model():
    internal = {"HTTPValidationError", "ValidationError", "ResponseValidationError"}  # Powertools' own 422 shapes
    assert set(SCHEMAS) - internal == set(OPENAPI_SCHEMAS.values())


def test_every_operation_of_the_api_has_a_client_method_and_no_more():
    documented = {(method.upper(), path) for path, ops in SPEC["paths"].items() for method in ops}
    assert set(OPERATIONS.values()) == documented


@pytest.mark.parametrize("client_class", ["PaygateClient", "AsyncPaygateClient"])
def test_methods_take_the_documented_path_and_query_parameters(client_class):
    import inspect

    import paygate_client

    for name, (method, path) in OPERATIONS.items():
        operation = SPEC["paths"][path][method.lower()]
        params = operation.get("parameters", [])
        query = {p["name"] for p in params if p["in"] == "query"}
        in_path = {p["name"] for p in params if p["in"] == "path"}
        accepted = set(inspect.signature(getattr(getattr(paygate_client, client_class), name)).parameters) - {"self"}
        assert in_path | query <= accepted, name
        if name.startswith("list_"):
            assert accepted - in_path == query, name
