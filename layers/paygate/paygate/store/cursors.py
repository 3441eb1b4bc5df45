"""List cursors: a DynamoDB key as base64url JSON, opaque to callers, checked before DynamoDB sees it.

A cursor comes back from the client, so it is input like any other: anything but a key this list
issued (garbage, empty or oversized strings, another app's or another list's keys, a key outside
the query's range) is refused with InvalidCursorError. DynamoDB would answer those with a
ValidationException (a 500), and a key of another partition must never steer a query.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

MAX_CURSOR_LENGTH = 1024


class InvalidCursorError(ValueError):
    """Not a cursor this list issued; the message is safe to show the caller."""


def encode_cursor(key: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(dict(key), separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, shape: Mapping[str, re.Pattern[str]]) -> dict[str, re.Match[str]]:
    """The key's fields, each matched in full against its pattern; exactly the fields of `shape`.

    Callers check what the patterns cannot (a field equal to the caller's own partition, fields
    that must agree with each other) and rebuild the key from the matches.
    """
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursorError("malformed cursor")
    try:
        key: Any = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, binascii.Error, RecursionError):  # UnicodeError and JSONDecodeError are ValueErrors
        raise InvalidCursorError("malformed cursor") from None
    if not isinstance(key, dict) or set(key) != set(shape):
        raise InvalidCursorError("cursor does not belong to this list")
    matches: dict[str, re.Match[str]] = {}
    for name, pattern in shape.items():
        value = key[name]
        match = pattern.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise InvalidCursorError("cursor does not belong to this list")
        matches[name] = match
    return matches
