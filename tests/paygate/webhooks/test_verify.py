"""The receivers' verifier: valid, tampered, expired, rotated, malformed."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from paygate.webhooks.dispatch import signature_header
from paygate.webhooks.verify import SignatureVerificationError, construct_event, parse_header, verify_signature

SECRET = "whsec_test_secret"
BODY = b'{"event_id":"e1","type":"bill.succeeded","data":{"bill_no":"B1","title":"\xe7\x99\xbd"}}'
NOW = 1_800_000_000


def test_a_known_vector():
    # HMAC-SHA256(key="whsec_test_secret", msg="1800000000." + body), computed independently.
    expected = hmac.new(SECRET.encode(), b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert signature_header([SECRET], NOW, BODY) == f"t={NOW},v1={expected}"


def test_a_valid_signature_passes_and_returns_the_event():
    header = signature_header([SECRET], NOW, BODY)
    assert verify_signature(BODY, header, SECRET, now=NOW + 10) == NOW
    assert construct_event(BODY, header, SECRET, now=NOW)["data"]["bill_no"] == "B1"


def test_a_tampered_body_fails():
    header = signature_header([SECRET], NOW, BODY)
    with pytest.raises(SignatureVerificationError, match="no signature matches"):
        verify_signature(BODY.replace(b"B1", b"B2"), header, SECRET, now=NOW)


def test_a_tampered_timestamp_fails():
    header = signature_header([SECRET], NOW, BODY).replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(SignatureVerificationError):
        verify_signature(BODY, header, SECRET, now=NOW)


@pytest.mark.parametrize("skew", [301, -301])
def test_a_timestamp_outside_the_window_fails(skew):
    header = signature_header([SECRET], NOW, BODY)
    with pytest.raises(SignatureVerificationError, match="tolerance"):
        verify_signature(BODY, header, SECRET, now=NOW + skew)


def test_the_window_is_configurable():
    header = signature_header([SECRET], NOW, BODY)
    assert verify_signature(BODY, header, SECRET, now=NOW + 3000, tolerance_s=3600) == NOW


def test_rotation_any_v1_for_any_secret():
    header = signature_header(["whsec_old", "whsec_new"], NOW, BODY)
    assert len(parse_header(header)[1]) == 2
    assert verify_signature(BODY, header, "whsec_new", now=NOW) == NOW
    assert verify_signature(BODY, header, "whsec_old", now=NOW) == NOW
    # A receiver that rotated first holds both secrets; the sender still signs with the old one only.
    only_old = signature_header(["whsec_old"], NOW, BODY)
    assert verify_signature(BODY, only_old, ["whsec_new", "whsec_old"], now=NOW) == NOW
    with pytest.raises(SignatureVerificationError):
        verify_signature(BODY, only_old, ["whsec_new"], now=NOW)


@pytest.mark.parametrize(
    "header",
    [None, "", "v1=abc", f"t={NOW}", "t=abc,v1=00", f"t={NOW},v0=00", "garbage"],
)
def test_malformed_headers_fail(header):
    with pytest.raises(SignatureVerificationError):
        verify_signature(BODY, header, SECRET, now=NOW)


def test_a_str_payload_is_verified_as_utf8():
    header = signature_header([SECRET], NOW, BODY)
    assert verify_signature(BODY.decode(), header, SECRET, now=NOW) == NOW


def test_the_module_is_standard_library_only():
    import ast
    from pathlib import Path

    import paygate.webhooks.verify as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "hashlib", "hmac", "json", "time", "collections", "typing"}


def test_the_documented_snippet_verifies_what_the_dispatcher_signs():
    """docs/webhooks.md's copy-paste verifier agrees with paygate's signer (valid, tampered, old)."""
    import re
    import time

    from tests.support.template import ROOT

    doc = (ROOT / "docs" / "webhooks.md").read_text()
    [snippet] = [b for b in re.findall(r"```python\n(.*?)```", doc, re.DOTALL) if "def verify_paygate_webhook" in b]
    namespace: dict = {}
    exec(compile(snippet, "webhooks.md", "exec"), namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify_paygate_webhook"]
    now = int(time.time())
    header = signature_header(["whsec_old", SECRET], now, BODY)

    assert verify(BODY, header, [SECRET])["data"]["bill_no"] == "B1"
    with pytest.raises(ValueError, match="mismatch"):
        verify(BODY + b" ", header, [SECRET])
    with pytest.raises(ValueError, match="tolerance"):
        verify(BODY, signature_header([SECRET], now - 301, BODY), [SECRET])
    with pytest.raises(ValueError, match="malformed"):
        verify(BODY, "t=1", [SECRET])
