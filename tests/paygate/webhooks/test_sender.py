"""The sender connects only to an address it checked: resolved once, every address public, pinned.

The autouse `network` fixture (conftest) scripts DNS and refuses every non-loopback connection, so
a "public" address here is only ever checked and recorded, never reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from paygate.webhooks import sender
from paygate.webhooks.models import SendResult
from tests.support.ssrf import NON_PUBLIC_ADDRESSES, NON_PUBLIC_SPELLINGS, FakeDns, url_host
from tests.support.tls_receiver import CERT_NAME, TlsReceiver
from tests.support.webhook_receiver import Receiver, running_receiver

PUBLIC = "93.184.216.34"


def _post(url: str, *, allow_insecure: bool = False) -> SendResult:
    return asyncio.run(
        sender.post(
            url, b'{"ok":true}', {"Content-Type": "application/json"}, timeout_s=5, allow_insecure=allow_insecure
        )
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def trusting_test_ca(tls_receiver: TlsReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[TlsReceiver]:
    """The sender's own TLS context (certifi's CAs replaced by the test CA through SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", tls_receiver.ca_file)
    sender._tls.cache_clear()
    yield tls_receiver
    sender._tls.cache_clear()


def test_dns_rebinding_cannot_reach_loopback(dns: FakeDns, dials, receiver: Receiver):
    # Given a name that answers a public address first and 127.0.0.1 to anyone asking again
    port = int(receiver.url.rsplit(":", 1)[1])
    dns.answer("rebind.test", [PUBLIC], ["127.0.0.1"])

    # When a production delivery goes to it
    result = _post(f"http://rebind.test:{port}/hook")

    # Then nothing reached 127.0.0.1: the name was resolved once, and the connection went to the
    # address that was checked (which the test's guard refuses, as it refuses every non-loopback one)
    assert receiver.requests == []
    assert dns.lookups == ["rebind.test"]
    assert dials == [(PUBLIC, port)]
    assert result.error == "connect_error"


def test_the_connection_goes_to_the_checked_address_with_the_name_in_the_host_header(
    dns: FakeDns, dials, receiver: Receiver
):
    # Loopback deliberately allowed (local development); the second answer would be elsewhere.
    port = int(receiver.url.rsplit(":", 1)[1])
    dns.answer("hooks.test", ["127.0.0.1"], ["127.0.0.2"])

    result = _post(f"http://hooks.test:{port}/hook", allow_insecure=True)

    assert (result.response_status, result.error) == (200, None)
    assert dns.lookups == ["hooks.test"]
    assert dials == [("127.0.0.1", port)]
    [request] = receiver.at("/hook")
    assert request.headers["Host"] == f"hooks.test:{port}"
    assert request.body == b'{"ok":true}'


def test_an_address_that_refuses_the_connection_falls_back_to_the_next_checked_one(
    dns: FakeDns, dials, receiver: Receiver
):
    port = int(receiver.url.rsplit(":", 1)[1])
    dns.answer("two.test", ["127.0.0.2", "127.0.0.1"])  # nothing listens on 127.0.0.2

    result = _post(f"http://two.test:{port}/hook", allow_insecure=True)

    assert result.response_status == 200
    assert dials == [("127.0.0.2", port), ("127.0.0.1", port)]
    assert len(receiver.at("/hook")) == 1


@pytest.mark.parametrize(("address", "kind"), NON_PUBLIC_ADDRESSES, ids=[a for a, _ in NON_PUBLIC_ADDRESSES])
def test_a_name_resolving_to_a_non_public_address_is_refused_before_any_connection(
    dns: FakeDns, dials, address: str, kind: str
):
    dns.answer("shop.example.com", [address])

    result = _post("https://shop.example.com/hook")

    assert result.error == "blocked_destination", kind
    assert dials == []


def test_one_non_public_address_among_public_ones_refuses_the_name(dns: FakeDns, dials):
    dns.answer("shop.example.com", [PUBLIC, "2606:4700::1111", "10.0.0.5"])

    assert _post("https://shop.example.com/hook").error == "blocked_destination"
    assert dials == []


@pytest.mark.parametrize(
    "host",
    [url_host(a) for a, _ in NON_PUBLIC_ADDRESSES] + [h for h in NON_PUBLIC_SPELLINGS if "localhost" not in h],
)
def test_a_non_public_ip_literal_in_any_spelling_is_refused_without_dns(dns: FakeDns, dials, host: str):
    # URLs stored before registration refused these spellings are still refused at delivery.
    result = _post(f"http://{host}/hook")

    if host in ("0177.0.0.1", "1.2.3.999"):  # httpx itself refuses a dotted quad it cannot read
        assert result.error == "request_error:InvalidURL"
    else:
        assert result.error == "blocked_destination"
    assert dns.lookups == []
    assert dials == []


@pytest.mark.parametrize("host", ["localhost", "localhost.", "app.localhost"])
def test_local_names_are_refused_by_their_addresses(dns: FakeDns, dials, host: str):
    dns.answer(host, ["127.0.0.1", "::1"])

    assert _post(f"https://{host}/hook").error == "blocked_destination"
    assert dials == []


def test_a_name_that_does_not_resolve_is_a_dns_error(dns: FakeDns, dials):
    assert _post("https://nowhere.test/hook").error == "dns_error"
    assert dials == []


def test_tls_verifies_the_certificate_for_the_host_name_not_the_pinned_address(
    dns: FakeDns, dials, trusting_test_ca: TlsReceiver
):
    # Given two names of 127.0.0.1 (loopback deliberately allowed); the certificate names only one
    receiver = trusting_test_ca
    dns.answer(CERT_NAME, ["127.0.0.1"])
    dns.answer("other.shop.test", ["127.0.0.1"])

    # When a delivery goes to each
    named = _post(receiver.url(CERT_NAME), allow_insecure=True)
    other = _post(receiver.url("other.shop.test"), allow_insecure=True)

    # Then the certificate's name verifies (SNI and Host carry it), the other name fails the handshake
    assert (named.response_status, named.error) == (200, None)
    assert other.error == "connect_error"
    assert receiver.requests == [("/hook", f"{CERT_NAME}:{receiver.port}")]
    assert receiver.server_names == [CERT_NAME, "other.shop.test"]
    assert dials == [("127.0.0.1", receiver.port), ("127.0.0.1", receiver.port)]


def test_tls_to_the_bare_address_fails_verification(trusting_test_ca: TlsReceiver):
    # The certificate names the host, not 127.0.0.1: verification really is against the name.
    result = _post(f"https://127.0.0.1:{trusting_test_ca.port}/hook", allow_insecure=True)

    assert result.error == "connect_error"
    assert trusting_test_ca.requests == []


def test_a_redirect_is_an_answer_not_a_second_request(dns: FakeDns, dials, receiver: Receiver):
    # A redirect could point anywhere; it is a failed attempt (http_3xx), never followed.
    port = int(receiver.url.rsplit(":", 1)[1])
    dns.answer("hooks.test", ["127.0.0.1"])
    receiver.script("/hook", 307)

    result = _post(f"http://hooks.test:{port}/hook", allow_insecure=True)

    assert result.error == "http_307"
    assert len(receiver.requests) == 1
    assert dials == [("127.0.0.1", port)]
