"""The committed OpenAPI document is the code's: a route or model change without `make openapi` fails."""

from __future__ import annotations

from scripts.openapi import DOCUMENT, build_openapi, render


def test_committed_openapi_matches_the_code():
    assert DOCUMENT.read_text() == render(build_openapi()), "run `make openapi` and commit docs/openapi.json"


def test_every_operation_documents_its_success_and_error_shapes():
    document = build_openapi()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert codes & {"200", "201", "202"}, (method, path)
            assert codes & {"404", "409", "422"}, (method, path)
            assert operation.get("tags"), (method, path)


def test_bearer_auth_is_declared():
    document = build_openapi()
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert document["security"] == [{"apiKey": []}]
