"""BeilyPay's MD5 signature: sorted ``k=v`` pairs, ``&key=<secret>``, MD5, hex.

The official clients disagree on details (protocols §2.2), so verification accepts every
variant they produce, case-insensitively; everything the emulator emits is signed the way the
doc says (non-empty values only, UPPER-case hex).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Context, Decimal
from typing import Any

SIGN_FIELD = "sign"

Renderer = Callable[[str, Any], str | None]  # None = leave the field out of the string


class WireNumber(Decimal):
    """A JSON number with a fraction or exponent, printed as the text the request carried.

    A client signs ``10.50`` or ``1e3`` as written; ``float`` would give "10.5" and "1000.0",
    a plain Decimal "1E+3". Integer-valued fields still refuse it (it is not an ``int``).
    """

    _text: str

    def __new__(cls, text: str) -> WireNumber:
        number = super().__new__(cls, text)
        number._text = text
        return number

    def __str__(self) -> str:
        return self._text

    def __format__(self, spec: str, context: Context | None = None, /) -> str:
        return super().__format__(spec) if spec else self._text

    def __reduce__(self) -> tuple[type[WireNumber], tuple[str]]:
        return (type(self), (self._text,))


def loads(raw: str | bytes) -> Any:
    """JSON with every fractional number kept as :class:`WireNumber` (what a signature covers)."""
    return json.loads(raw, parse_float=WireNumber)


def render_value(value: Any) -> str:
    """A JSON value as the signing string shows it: strings raw, numbers as literals."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _doc_variant(key: str, value: Any) -> str | None:
    """(a) Doc, Go, PHP's empties: skip null and ""."""
    if value is None or value == "":
        return None
    return render_value(value)


def _empty_included_variant(key: str, value: Any) -> str | None:
    """(b) Python and Java SDKs: only null is skipped, "" becomes ``k=``."""
    return None if value is None else render_value(value)


def _php_variant(key: str, value: Any) -> str | None:
    """(c) PHP's loose ``$v == null``: also skips integer 0 and false."""
    if value is False or (not isinstance(value, bool) and isinstance(value, int | float) and value == 0):
        return None
    if value is True:
        return "1"
    return _doc_variant(key, value)


def _java_trimmed_variant(key: str, value: Any) -> str | None:
    """(d) Java SDK: null skipped, every value trimmed (so "  " gives ``k=``)."""
    return None if value is None else render_value(value).strip()


VERIFY_VARIANTS: tuple[Renderer, ...] = (
    _doc_variant,
    _empty_included_variant,
    _php_variant,
    _java_trimmed_variant,
)


def signing_string(params: Mapping[str, Any], secret: str, render: Renderer = _doc_variant) -> str:
    """``k1=v1&k2=v2…&key=secret`` over every field but ``sign``, keys in ASCII order."""
    pairs: list[str] = []
    for key in sorted(params):
        if key == SIGN_FIELD:
            continue
        rendered = render(key, params[key])
        if rendered is not None:
            pairs.append(f"{key}={rendered}")
    pairs.append(f"key={secret}")
    return "&".join(pairs)


def md5_upper(text: str) -> str:
    """Upper-case MD5 hex of the UTF-8 text, as the doc prescribes."""
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()


def sign(params: Mapping[str, Any], secret: str) -> str:
    """The signature the emulator puts on responses and notifies (doc variant, UPPER case)."""
    return md5_upper(signing_string(params, secret))


def with_sign(params: Mapping[str, Any], secret: str) -> dict[str, Any]:
    """``params`` plus its ``sign`` (null fields stay in the object but out of the signature)."""
    signed = {key: value for key, value in params.items() if key != SIGN_FIELD}
    signed[SIGN_FIELD] = sign(signed, secret)
    return signed


def candidate_signatures(params: Mapping[str, Any], secret: str) -> Iterable[str]:
    """The signature under each client variant (duplicates removed, doc variant first)."""
    seen: set[str] = set()
    for variant in VERIFY_VARIANTS:
        candidate = md5_upper(signing_string(params, secret, variant))
        if candidate not in seen:
            seen.add(candidate)
            yield candidate


def verify(params: Mapping[str, Any], secret: str, received: str) -> bool:
    """True when ``received`` matches any accepted variant, ignoring hex case (constant-time compare)."""
    wanted = received.strip().upper().encode()
    matched = False
    for candidate in candidate_signatures(params, secret):
        # Compare against every variant so the time spent does not tell which one matched.
        matched = hmac.compare_digest(candidate.encode(), wanted) or matched
    return matched
