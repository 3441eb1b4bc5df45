"""Failure classification over real sockets on 127.0.0.1: refused, timed out, dropped, 5xx."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from paygate.errors import (
    ProviderProtocolError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from paygate.providers.beecloud import BeeCloudClient
from paygate.providers.beilypay import BeilyPayClient
from paygate.providers.http import make_http_client
from tests.paygate.providers._providers_support import BEECLOUD_CREDS, BEILYPAY_CREDS, LocalServer

PAYOUT_ARGS: dict[str, Any] = {
    "out_order_no": "P1",
    "amount": 100,
    "account_type": "Card",
    "account": "1234567890",
    "account_owner": "A B",
    "bank_code": "SBIN",
    "ifsc": "SBIN0000001",
    "address": "Mumbai",
    "email": "a@example.com",
    "mobile": "9876543210",
    "notify_url": "http://127.0.0.1/notify",
}


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    client = make_http_client(connect_timeout_s=0.5, read_timeout_s=0.3)
    yield client
    client.close()


def beilypay(url: str, http: httpx.Client) -> BeilyPayClient:
    return BeilyPayClient(url, http, sleep=lambda _s: None)


def test_make_http_client_settings() -> None:
    client = make_http_client(connect_timeout_s=1.5, read_timeout_s=6.0)
    assert client.timeout == httpx.Timeout(connect=1.5, read=6.0, write=6.0, pool=1.5)
    assert client.follow_redirects is False
    client.close()


def test_success_over_a_real_socket(local_server: LocalServer, http: httpx.Client) -> None:
    local_server.body = {"code": 200, "msg": "SUCC", "data": {"merchantId": 3, "settlementAmount": 12.5}}
    assert str(beilypay(local_server.url, http).balance(BEILYPAY_CREDS)) == "12.5"
    assert local_server.hits == 1


def test_connection_refused_is_unavailable_and_safe(refused_url: str, http: httpx.Client) -> None:
    with pytest.raises(ProviderUnavailableError) as info:
        beilypay(refused_url, http).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)
    assert info.value.outcome_unknown is False
    assert info.value.provider == "beilypay"


def test_connection_refused_on_a_beecloud_query(refused_url: str, http: httpx.Client) -> None:
    client = BeeCloudClient(refused_url, http, query_retries=0)
    with pytest.raises(ProviderUnavailableError) as info:
        client.query_bills(BEECLOUD_CREDS, channel="WX")
    assert not info.value.outcome_unknown


def test_read_timeout_is_unknown_and_the_create_is_sent_once(local_server: LocalServer, http: httpx.Client) -> None:
    local_server.behaviour = "slow"
    local_server.delay_s = 1.0
    started = time.monotonic()

    with pytest.raises(ProviderTimeoutError) as info:
        beilypay(local_server.url, http).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)

    assert info.value.outcome_unknown is True
    assert time.monotonic() - started < 0.9
    assert local_server.hits == 1


def test_read_timeout_on_a_query_is_retried_twice(local_server: LocalServer, http: httpx.Client) -> None:
    local_server.behaviour = "slow"
    local_server.delay_s = 0.5
    with pytest.raises(ProviderTimeoutError):
        beilypay(local_server.url, http).query_payout(BEILYPAY_CREDS, order_no="O1")
    assert local_server.hits == 3


def test_beecloud_create_bill_timeout(local_server: LocalServer, http: httpx.Client) -> None:
    local_server.behaviour = "slow"
    client = BeeCloudClient(local_server.url, http, sleep=lambda _s: None)
    with pytest.raises(ProviderTimeoutError) as info:
        client.create_bill(BEECLOUD_CREDS, channel="WX_NATIVE", bill_no="BILL0001", total_fee=1, title="t")
    assert info.value.outcome_unknown
    assert local_server.hits == 1


def test_dropped_connection_is_a_protocol_error_with_unknown_outcome(
    local_server: LocalServer, http: httpx.Client
) -> None:
    local_server.behaviour = "drop"
    with pytest.raises(ProviderProtocolError) as info:
        beilypay(local_server.url, http).create_payout(BEILYPAY_CREDS, **PAYOUT_ARGS)
    assert info.value.outcome_unknown
    assert local_server.hits == 1


def test_http_500_is_a_protocol_error_and_queries_retry(local_server: LocalServer, http: httpx.Client) -> None:
    local_server.behaviour = "http500"
    local_server.body = {"result_code": 14, "result_msg": "RUN_TIME_ERROR", "err_detail": ""}
    client = BeeCloudClient(local_server.url, http, sleep=lambda _s: None)

    with pytest.raises(ProviderProtocolError):
        client.refund_status(BEECLOUD_CREDS, refund_no="20150703001")
    assert local_server.hits == 3

    with pytest.raises(ProviderProtocolError):
        client.refund(BEECLOUD_CREDS, channel="WX", refund_no="20150703001", bill_no="b1", refund_fee=1)
    assert local_server.hits == 4
