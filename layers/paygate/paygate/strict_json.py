"""Strict JSON for request bodies and free-form fields: what Python's json module lets through, refused.

Python's parser accepts NaN/Infinity, turns 1e400 into inf, keeps the last of duplicate keys,
keeps lone surrogates (which no store or provider can encode), and fails with ValueError or
RecursionError on huge integers and deep nesting. Every body is parsed here first, before
Powertools, so each of those is a 4xx in the error shape instead of a 500 further down.
"""

from __future__ import annotations

import json
import math
from typing import Any

# The whole body: ours nest at most 2 levels, plus a free-form `optional` (MAX_FREE_FORM_DEPTH).
MAX_BODY_DEPTH = 16
# A free-form object (`optional`) counts itself as level 1. DynamoDB refuses items nested deeper
# than 32 levels; the order item holds `optional` as a top-level map (one level), and no copy of
# it sits more than a few levels deep, so 8 leaves a wide margin.
MAX_FREE_FORM_DEPTH = 8
# DynamoDB numbers: at most 38 significant digits, magnitude between 1e-130 and 9.99...e125.
MAX_STORED_INT = 10**38 - 1
_MIN_STORED_FLOAT = 1e-130
_MAX_STORED_FLOAT = 1e125


class JsonRejectedError(ValueError):
    """The body is not strict JSON (`malformed`) or is JSON we refuse to handle (`invalid`)."""

    def __init__(self, message: str, *, malformed: bool) -> None:
        super().__init__(message)
        self.message = message
        self.malformed = malformed


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKeyError(key)
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def parse_json(text: str) -> Any:
    """RFC 8259 JSON with unique keys, finite numbers, valid Unicode and bounded nesting.

    Raises JsonRejectedError: malformed=True for what is not JSON (400), False for JSON we
    refuse (422).
    """
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant, parse_float=_finite_float)
    except _DuplicateKeyError:
        raise JsonRejectedError("the body repeats a key in one object", malformed=False) from None
    except RecursionError:
        raise JsonRejectedError(too_deep("the body", MAX_BODY_DEPTH), malformed=False) from None
    except ValueError:
        # JSONDecodeError, NaN/Infinity, numbers beyond float range, integers longer than
        # Python's int/str conversion limit (4300 digits).
        raise JsonRejectedError("the body is not valid JSON", malformed=True) from None
    if json_depth(value) > MAX_BODY_DEPTH:
        raise JsonRejectedError(too_deep("the body", MAX_BODY_DEPTH), malformed=False)
    if not _valid_unicode(value):
        raise JsonRejectedError("the body holds a lone surrogate (\\ud800-\\udfff): not Unicode text", malformed=False)
    return value


def too_deep(what: str, limit: int) -> str:
    return f"{what} must nest at most {limit} levels of objects and arrays"


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, list):
        return list(value)
    return []


def json_depth(value: Any) -> int:
    """Levels of objects/arrays: a scalar is 0, `{}` is 1, `{"a": [1]}` is 2. Iterative: any depth."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _valid_unicode(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return False
        else:
            stack.extend(_children(node))
    return True


def check_free_form(value: dict[str, Any], name: str) -> None:
    """A free-form object the ledger stores as a DynamoDB map: bounded nesting, storable keys and numbers.

    Raises ValueError with a message naming the field (pydantic turns it into a 422).
    """
    if json_depth(value) > MAX_FREE_FORM_DEPTH:
        raise ValueError(too_deep(name, MAX_FREE_FORM_DEPTH))
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(not isinstance(key, str) or not key for key in node):
                raise ValueError(f"{name} keys must be non-empty strings")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, bool) or node is None or isinstance(node, str):
            continue
        elif isinstance(node, int):
            if abs(node) > MAX_STORED_INT:
                raise ValueError(f"{name} integers must have at most 38 digits")
        elif isinstance(node, float):
            if not math.isfinite(node) or (node and not _MIN_STORED_FLOAT <= abs(node) <= _MAX_STORED_FLOAT):
                raise ValueError(f"{name} decimals must be 0 or between 1e-130 and 1e125 in magnitude")
        else:
            raise ValueError(f"{name} must hold only JSON values")
