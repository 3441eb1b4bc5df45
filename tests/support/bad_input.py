"""Hostile request bodies (test data and a hypothesis strategy) and the check every answer to one must pass.

The handler tests, the fuzz test and the guards' unit tests share them: structurally hostile JSON
(deep nesting, huge numbers, NaN/Infinity, lone surrogates, duplicate keys, wrong top-level
types), bytes that are not UTF-8, and base64-encoded bodies as API Gateway sends binary ones.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

_HOLE = "\x00HOLE\x00"


@dataclass(frozen=True)
class RawBody:
    """A body exactly as it reaches the function: text, or base64 with isBase64Encoded."""

    raw: bytes
    base64: bool = False

    def event_fields(self) -> dict[str, Any]:
        if self.base64:
            return {"body": base64.b64encode(self.raw).decode(), "isBase64Encoded": True}
        return {"body": self.raw.decode("utf-8", errors="surrogateescape"), "isBase64Encoded": False}


def with_raw_value(body: dict[str, Any], field: str, raw_json: str) -> bytes:
    """`body` as JSON with `field`'s value replaced by a raw (possibly invalid) JSON snippet."""
    text = json.dumps({**body, field: _HOLE})
    return text.replace(json.dumps(_HOLE), raw_json).encode("utf-8", errors="surrogatepass")


def nested_array(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_object(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


def nested_value(depth: int, leaf: Any = "x") -> Any:
    """A dict nested `depth` levels (json_depth == depth)."""
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    return value


HUGE_INT = "7" * 4301  # one digit past Python's int/str conversion limit

# Raw JSON values no field should turn into a 500 (put in place of any field's value).
HOSTILE_VALUES = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "1e-400",
    HUGE_INT,
    "-" + HUGE_INT,
    "1" + "0" * 38,
    nested_array(30_000),
    nested_object(40),
    nested_object(200),
    '"\\ud800"',
    '"x\\udfff"',
    '"\\u0000"',
    '"\\u202e\\u2066abc\\u2069"',
    '"\\ufeff\\uffff\\ufffe"',
    '{"a":1,"a":2}',
    '{"":1}',
    "[]",
    "{}",
    "null",
    "true",
    '"' + "x" * 70_000 + '"',
]

# Whole bodies (they replace the request body entirely).
HOSTILE_BODIES = [
    RawBody(nested_array(30_000).encode()),
    RawBody(nested_object(30_000).encode()),
    RawBody(HUGE_INT.encode()),
    RawBody(b"NaN"),
    RawBody(b'{"a": Infinity}'),
    RawBody(b"[]"),
    RawBody(b"null"),
    RawBody(b'"a string"'),
    RawBody(b"1"),
    RawBody(b"\xef\xbb\xbf{}"),  # a UTF-8 byte order mark
    RawBody(b"\xff\xfe{"),
    RawBody(b'{"a": "\xed\xa0\x80"}'),  # a surrogate encoded in UTF-8 bytes: not UTF-8
    RawBody(b'{"a": "\xc0\xaf"}'),  # an overlong encoding
    RawBody(nested_array(30_000).encode(), base64=True),
    RawBody(b"\xff\x00\x80", base64=True),
    RawBody(("{" + HUGE_INT).encode(), base64=True),
]


def hostile_json_values() -> st.SearchStrategy[str]:
    """Raw JSON snippets: the fixed catalogue, deep nesting of any depth, long integers, odd text."""
    odd_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
    return st.one_of(
        st.sampled_from(HOSTILE_VALUES),
        st.integers(1, 40_000).map(nested_array),
        st.integers(1, 3_000).map(nested_object),
        st.integers(4_000, 12_000).map(lambda n: "9" * n),
        st.sampled_from(["\\ud800", "\\udbff\\udbff", "\\u202e", "\\u0000", "\\u061c"]).map(lambda s: f'"{s}"'),
        odd_text.map(lambda s: json.dumps(s, ensure_ascii=True)),
        st.recursive(
            st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | odd_text,
            lambda children: st.lists(children, max_size=4) | st.dictionaries(odd_text, children, max_size=4),
            max_leaves=20,
        ).map(lambda v: json.dumps(v, ensure_ascii=True)),
    )


def hostile_bodies(valid: dict[str, Any]) -> st.SearchStrategy[RawBody]:
    """Bodies built on a valid one (one field made hostile, keys repeated), or hostile as a whole."""
    fields = [*sorted(valid), "optional", "unexpected"]
    in_a_field = st.builds(with_raw_value, st.just(valid), st.sampled_from(fields), hostile_json_values())
    top_level = hostile_json_values().map(lambda s: s.encode("utf-8", errors="surrogatepass"))
    repeated = st.sampled_from(sorted(valid) or ["a"]).map(
        lambda key: json.dumps(valid)[:-1].encode() + f', "{key}": null}}'.encode() if valid else b'{"a":1,"a":1}'
    )
    raw = st.one_of(in_a_field, top_level, repeated, st.binary(max_size=64))
    return st.one_of(
        st.sampled_from(HOSTILE_BODIES),
        st.builds(RawBody, raw, st.booleans()),
    )


def assert_error_result(result: dict[str, Any], *statuses: int) -> dict[str, Any]:
    """A proxy result in the one error shape (a stable code, a message, never a stack trace)."""
    assert result["statusCode"] in statuses, (result["statusCode"], str(result.get("body"))[:500])
    text = str(result["body"])
    assert "Traceback" not in text, text[:500]
    body = json.loads(text)
    assert isinstance(body, dict), text[:500]
    error = body.get("error")
    assert isinstance(error, dict), text[:500]
    assert isinstance(error.get("code"), str), text[:500]
    assert error["code"], text[:500]
    assert isinstance(error.get("message"), str), text[:500]
    return error
