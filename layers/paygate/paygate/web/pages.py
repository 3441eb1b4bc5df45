"""Rendering a page and answering it with the security headers every page carries.

The Content-Security-Policy allows scripts, styles, images and fetches from our own origin only
(no inline code, no `eval`), forms only to our origin plus what a page names (a provider's
cashier), and no framing (`frame-ancestors 'none'`, and X-Frame-Options for older browsers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import jinja2

_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("paygate.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a missing variable is a bug, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def content_security_policy(*, form_targets: Iterable[str] = ()) -> str:
    forms = " ".join(["'self'", *sorted(set(form_targets))])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            f"form-action {forms}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def security_headers(*, form_targets: Iterable[str] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(form_targets=form_targets),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cache-Control": "no-store",
        "Strict-Transport-Security": "max-age=31536000",
    }


class StaticAsset:
    """A file under paygate/web/static, named in URLs with its content hash so it can be cached for good."""

    def __init__(self, name: str, body: bytes) -> None:
        self.name = name
        self.body = body
        self.content_type = _STATIC_TYPES[name[name.rindex(".") :]]
        self.version = hashlib.sha256(body).hexdigest()[:12]


@cache
def static_assets() -> dict[str, StaticAsset]:
    found = {}
    for entry in resources.files("paygate.web").joinpath("static").iterdir():
        if entry.is_file() and any(entry.name.endswith(ext) for ext in _STATIC_TYPES):
            found[entry.name] = StaticAsset(entry.name, entry.read_bytes())
    return found
