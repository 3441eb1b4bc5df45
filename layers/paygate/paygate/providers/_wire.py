"""Small parsing helpers shared by both adapters: tolerant where the providers disagree, never lossy."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Context, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError

from paygate.errors import (
    ProviderError,
    ProviderName,
    ProviderProtocolError,
    ProviderRequestError,
    WebhookVerificationError,
)


def int_from_wire(value: Any) -> int:
    """An integer sent as a JSON integer or a string of ASCII digits; never a float or a bool."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ValueError("expected an integer")


def bool_from_wire(value: Any) -> bool:
    """A JSON boolean, or the strings "true"/"false" some SDK-era servers emitted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("expected a boolean")


def str_from_wire(value: Any) -> str:
    """A string, or a JSON number standing in for one (ids sent as numbers by some SDKs)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected a string")


WireInt = Annotated[int, BeforeValidator(int_from_wire)]
WireBool = Annotated[bool, BeforeValidator(bool_from_wire)]
WireStr = Annotated[str, BeforeValidator(str_from_wire)]


def hex_equal(expected: str, received: Any) -> bool:
    """Case-insensitive, constant-time comparison of two hex digests."""
    if not isinstance(received, str) or not received.isascii():
        return False
    return hmac.compare_digest(expected.lower().encode(), received.strip().lower().encode())


def describe_validation_error(exc: ValidationError) -> str:
    """Which fields were wrong and how, without echoing the values (they may be personal data)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


class JsonNumber(Decimal):
    """A JSON number with a fraction or exponent: exact, and printed as the text the wire carried.

    Signatures are computed over that text (`999754.00`, `1e3`), which neither `float` ("1000.0")
    nor a plain Decimal ("1E+3") gives back. Arithmetic on it yields plain Decimals.
    """

    _text: str

    def __new__(cls, text: str) -> JsonNumber:
        number = super().__new__(cls, text)
        number._text = text
        return number

    def __str__(self) -> str:
        return self._text

    def __format__(self, spec: str, context: Context | None = None, /) -> str:
        return super().__format__(spec) if spec else self._text

    def __reduce__(self) -> tuple[type[JsonNumber], tuple[str]]:
        return (type(self), (self._text,))

    def __copy__(self) -> JsonNumber:
        return self

    def __deepcopy__(self, memo: object) -> JsonNumber:
        return self


def parse_callback_body(raw: bytes | str) -> dict[str, Any]:
    """Parse a provider callback body: a JSON object, decimals kept exact and as written for signing.

    Raises WebhookVerificationError when the body is not a JSON object.
    """
    try:
        body = json.loads(raw, parse_float=JsonNumber)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookVerificationError("callback body is not JSON") from exc
    if not isinstance(body, dict):
        raise WebhookVerificationError("callback body is not a JSON object")
    return body


@contextmanager
def building(provider: ProviderName, path: str) -> Iterator[None]:
    """Checking, signing and encoding a request: whatever fails here, nothing was sent.

    A broken rule (ValueError) becomes ProviderRequestError with its message; anything else is
    a bug, reported as unexpected with the exception's type only (its text may hold input).
    """
    try:
        yield
    except ProviderError:
        raise
    except ValueError as exc:
        raise ProviderRequestError(provider, f"{path}: {exc}", rule=str(exc)) from exc
    except Exception as exc:
        raise ProviderRequestError(
            provider, f"{path}: could not build the request ({type(exc).__name__})", unexpected=True
        ) from exc


@contextmanager
def exchanging(provider: ProviderName, path: str) -> Iterator[None]:
    """Sending a request and reading its answer: a failure nobody classified leaves the outcome unknown.

    The typed provider errors pass through; any other exception (a transport that breaks in an
    unforeseen way, an answer shaped so that reading it raises) becomes ProviderProtocolError.
    """
    try:
        yield
    except ProviderError:
        raise
    except Exception as exc:
        raise ProviderProtocolError(provider, f"{path}: unreadable exchange ({type(exc).__name__})") from exc
