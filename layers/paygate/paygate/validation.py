"""Rules every request model shares: human-readable text, and the fingerprint of a request.

Human-readable text: what a person reads (a name, an address, a title) must show what it holds.
Control characters can cut or hide text (NUL ends it in C-based tools, a carriage return
overwrites a log line), and bidirectional overrides, embeddings, isolates and marks reorder what
is displayed (U+202E shows the rest of a line right to left), so a payee name or a title could
show one thing and hold another. Every field a person reads uses one of these two annotations.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata

from pydantic import AfterValidator, BaseModel

# U+202A-U+202E embeddings/overrides, U+2066-U+2069 isolates, U+200E/U+200F/U+061C marks.
BIDI_CONTROLS = frozenset(
    [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u200e", "\u200f", "\u061c"]
)
LINE_BREAKS = frozenset("\n\r")


def _refuse_hidden(value: str, allowed: frozenset[str]) -> str:
    for ch in value:
        if ch in allowed:
            continue
        category = unicodedata.category(ch)
        if category == "Cc":
            raise ValueError("must not contain control characters")
        if category == "Cs":
            raise ValueError("must be Unicode text (no lone surrogates)")
        if ch in BIDI_CONTROLS:
            raise ValueError("must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069, marks)")
    return value


def human_text(value: str) -> str:
    """One line of text a person reads: no control characters (Cc) and no bidi controls."""
    return _refuse_hidden(value, frozenset())


def human_multiline_text(value: str) -> str:
    """As human_text, but line breaks (\\n, \\r) are allowed."""
    return _refuse_hidden(value, LINE_BREAKS)


HumanText = AfterValidator(human_text)
HumanMultilineText = AfterValidator(human_multiline_text)


def fingerprint(model: BaseModel, *, exclude_none: bool) -> str:
    """Same body, same hash: how a repeated order number is told from a conflicting one.

    Bills and refunds hash without their absent fields, payouts and collections with them; each
    stays as it was first written, since the hashes of stored orders are compared with it.
    """
    body = model.model_dump(mode="json", exclude_none=exclude_none)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
