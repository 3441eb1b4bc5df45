"""Lenient decoding of the ``para=`` query parameter of the GET endpoints.

The v1 SDKs encoded it four ways (protocols §1.1): compact or spaced JSON (``+`` or ``%20``),
PHP's ``\\/`` and ``\\uXXXX`` escapes, json-lib ``null`` values, and the Python v1 SDK's
``str(dict)``: single quotes, ``1437035385000L`` longs, ``u'..'`` strings, ``None``/``True``.
The real server (fastjson) accepted all of them, so the emulator does too: strict JSON first,
then a Python-literal reading of the text with ``L`` suffixes and JSON keywords normalised.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from typing import Any

MAX_PARA_CHARS = 64 * 1024  # far above any real query; bounds the lenient parser's work

_KEYWORDS = {"null": "None", "true": "True", "false": "False"}


class ParaError(ValueError):
    """``para`` is not a JSON-ish object."""


def decode_para(text: str) -> dict[str, Any]:
    """Decode an already URL-decoded ``para`` value into a map; raises :class:`ParaError`."""
    if len(text) > MAX_PARA_CHARS:
        raise ParaError("para is too long")
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise ParaError("para is nested too deeply") from exc
    except ValueError:
        value = _decode_python_literal(text)
    if not isinstance(value, dict):
        raise ParaError("para must be a JSON object")
    return value


def _decode_python_literal(text: str) -> Any:
    """Read Python-2 ``repr`` pseudo-JSON with ``ast.literal_eval`` (never ``eval``)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        raise ParaError(f"para is not JSON: {exc}") from exc
    cleaned: list[tuple[int, str]] = []
    previous_type = tokenize.ENDMARKER
    for token in tokens:
        if token.type == tokenize.NAME and token.string in ("L", "l") and previous_type == tokenize.NUMBER:
            continue  # Python 2 long suffix: 1437035385000L
        string = _KEYWORDS.get(token.string, token.string) if token.type == tokenize.NAME else token.string
        cleaned.append((token.type, string))
        previous_type = token.type
    try:
        return ast.literal_eval(tokenize.untokenize(cleaned).strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ParaError(f"para is not JSON: {exc}") from exc
