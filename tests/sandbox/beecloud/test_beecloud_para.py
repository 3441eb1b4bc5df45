"""``para=`` decoding: every SDK encoding of protocols §1.1, decoded to the same map."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, quote_plus, urlencode

import pytest

from sandbox.beecloud.para import ParaError, decode_para

EXPECTED = {"app_id": "c5d1cba1-5e3f-4ba0-941d-9b0a371fe719", "timestamp": 1437035385000, "channel": "WX"}


def _roundtrip(query: str) -> str:
    """What the server sees after form-decoding the query string."""
    return parse_qs(query)["para"][0]


def test_compact_json() -> None:
    assert decode_para(json.dumps(EXPECTED, separators=(",", ":"))) == EXPECTED


def test_python3_spaced_json_with_plus() -> None:
    query = "para=" + quote_plus(json.dumps(EXPECTED))
    assert "+" in query
    assert decode_para(_roundtrip(query)) == EXPECTED


def test_node_encode_uri_component() -> None:
    query = "para=" + quote(json.dumps(EXPECTED), safe="")
    assert "%20" in query
    assert decode_para(_roundtrip(query)) == EXPECTED


def test_php_escaped_slashes_and_unicode() -> None:
    text = '{"app_id":"c5d1cba1-5e3f-4ba0-941d-9b0a371fe719","timestamp":1437035385000,"channel":"WX",'
    text += '"return_url":"http:\\/\\/x.cn\\/r","title":"\\u767d\\u5f00\\u6c34"}'
    decoded = decode_para(_roundtrip("para=" + quote_plus(text)))
    assert decoded["return_url"] == "http://x.cn/r"
    assert decoded["title"] == "白开水"


def test_java_json_lib_nulls() -> None:
    text = '{"app_id":"a","timestamp":1,"bill_no":null,"skip":null,"limit":""}'
    assert decode_para(text) == {"app_id": "a", "timestamp": 1, "bill_no": None, "skip": None, "limit": ""}


def test_python2_repr_with_long_suffix() -> None:
    text = "{'app_id': 'c5d1cba1-5e3f-4ba0-941d-9b0a371fe719', 'timestamp': 1437035385000L, 'channel': 'WX'}"
    query = urlencode({"para": text})
    assert decode_para(_roundtrip(query)) == EXPECTED


def test_python2_repr_with_unicode_prefix_and_none() -> None:
    text = "{u'app_id': u'c5d1cba1-5e3f-4ba0-941d-9b0a371fe719', u'timestamp': 1437035385000L, "
    text += "u'channel': u'WX', 'bill_no': None, 'flag': True}"
    assert decode_para(text) == {**EXPECTED, "bill_no": None, "flag": True}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[1, 2]",
        "{",
        "not json",
        "__import__('os').system('true')",
        "{'a': f(1)}",
        "x" * 70_000,
        '{"a":' * 20_000,
        "[" * 60_000,
    ],
)
def test_rejects_non_objects_and_code(text: str) -> None:
    with pytest.raises(ParaError):
        decode_para(text)
