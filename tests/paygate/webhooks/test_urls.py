"""Endpoint URLs at registration, and the one public-address rule shared with delivery."""

from __future__ import annotations

import ipaddress

import pytest

from paygate.webhooks.urls import UnsafeUrlError, check_endpoint_url, host_address, is_public_address
from tests.support.ssrf import NON_PUBLIC_ADDRESSES, NON_PUBLIC_URLS, PUBLIC_ADDRESSES, url_host


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/hooks",
        "https://shop.example.com:8443/a?b=c",
        "https://93.184.216.34/x",
        "https://[2606:4700::1111]/x",
        "https://xn--bcher-kva.example/x",
        "https://1st.example/x",  # a label may start with a digit; only a numeric last label is an address
    ],
)
def test_production_accepts_public_https(url):
    assert check_endpoint_url(url, allow_insecure=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example.com/hooks",
        "https://u:p@shop.example.com/x",
        "https://shop.example.com/x#frag",
        "https:///x",
        "https://shop.example.com/a b",
        "https://shop.example.com:0/x",
        "javascript:alert(1)",
    ],
)
def test_production_refuses_malformed_urls(url):
    with pytest.raises(UnsafeUrlError):
        check_endpoint_url(url, allow_insecure=False)


@pytest.mark.parametrize("url", NON_PUBLIC_URLS)
def test_production_refuses_every_non_public_destination_in_every_spelling(url):
    with pytest.raises(UnsafeUrlError):
        check_endpoint_url(url, allow_insecure=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com./hooks",
        "https://1572395042/x",
        "https://0x5d.0xb8.0xd8.0x22/x",
        "https://93.184.55570/x",
    ],
)
def test_public_destinations_have_one_spelling_only(url):
    # A trailing dot or a numeric IPv4 form is refused even when the address is public.
    with pytest.raises(UnsafeUrlError):
        check_endpoint_url(url, allow_insecure=False)


def test_local_development_accepts_http_loopback_in_its_plain_spelling():
    assert check_endpoint_url("http://127.0.0.1:8080/h", allow_insecure=True)
    assert check_endpoint_url("http://localhost:8080/h", allow_insecure=True)
    assert check_endpoint_url("http://[::1]:8080/h", allow_insecure=True)
    with pytest.raises(UnsafeUrlError):
        check_endpoint_url("http://2130706433:8080/h", allow_insecure=True)


@pytest.mark.parametrize(("address", "kind"), NON_PUBLIC_ADDRESSES, ids=[a for a, _ in NON_PUBLIC_ADDRESSES])
def test_non_public_addresses(address, kind):
    assert is_public_address(address) is False, kind
    # The same rule holds for the parsed address (what registration checks).
    assert is_public_address(ipaddress.ip_address(address)) is False, kind


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses(address):
    assert is_public_address(address) is True
    assert check_endpoint_url(f"https://{url_host(address)}/x", allow_insecure=False)


@pytest.mark.parametrize("value", ["not-an-ip", "", "127.0.0.1/8", "[::1]"])
def test_anything_but_an_address_is_not_public(value):
    assert is_public_address(value) is False


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0xA9.0XFE.43518", "169.254.169.254"),
        ("0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("shop.example.com", None),
        ("1st.example", None),
        ("example.0x7g", None),
    ],
)
def test_host_address_reads_every_ipv4_spelling_a_resolver_accepts(host, address):
    found = host_address(host)
    assert (str(found) if found is not None else None) == address


@pytest.mark.parametrize("host", ["1.2.3.999", "1.2.3.4.5", "256.1", "08.0.0.1", "0x1ffffffff", "[::1::2]", "1..2"])
def test_host_address_refuses_numbers_that_are_no_address(host):
    with pytest.raises(UnsafeUrlError):
        host_address(host)
