"""Conformance: the sandbox driven the way BeilyPay's official SDKs drive BeilyPay, over real sockets.

The SDKs POST JSON signed with ``sign = MD5(sorted non-empty k=v pairs + "&key=" + secret)``,
the Python SDK in absolute form (``POST http://host:port/v2/trans/create HTTP/1.1``), and verify
``data.sign`` of every order answer. Each call here goes out in absolute form; those that change
nothing are repeated in origin form and must be answered byte for byte alike (less ``Date``).
Every code of the error table is produced: by the request that causes it at BeilyPay where the
sandbox models the cause, and by the `code` fault for the platform-side ones (account setting,
transaction creation, expiry, bank failure, unknown) that no request can cause.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.beilypay.protocol import ErrorCode
from tests.sandbox.beilypay.beilypay_support import (
    APP_ID,
    BALANCE,
    MERCHANT_ID,
    SECRET,
    Sandbox,
    collection_request,
    payout_request,
    signed,
    verify_seed_sign,
)
from tests.support.raw_http import READS_PER_ROUND, RawResponse, answers_in_both_forms, raw_request

JSON = {"Content-Type": "application/json;charset=UTF-8"}


class SdkStyleClient:
    def __init__(self, sandbox: Sandbox) -> None:
        self.url = sandbox.server.url

    def send(self, path: str, params: dict[str, Any], *, absolute: bool = True, secret: str = SECRET) -> RawResponse:
        body = json.dumps(signed(params, secret)).encode()
        return raw_request(self.url, "POST", path, body=body, headers=JSON, absolute=absolute)

    def call(self, path: str, params: dict[str, Any], **options: Any) -> dict[str, Any]:
        answer = self.send(path, params, **options)
        assert answer.status == 200, answer
        return dict(json.loads(answer.body))

    def both_forms(self, path: str, params: dict[str, Any], **options: Any) -> dict[str, Any]:
        absolute, origin = answers_in_both_forms(lambda absolute: self.send(path, params, absolute=absolute, **options))
        assert absolute == origin
        return dict(json.loads(absolute.body))


def ids(**extra: Any) -> dict[str, Any]:
    return {"appId": APP_ID, "merchantId": MERCHANT_ID, **extra}


def test_a_payout_goes_through_create_notify_and_query(sandbox: Sandbox) -> None:
    client = SdkStyleClient(sandbox)

    created = client.call("/v2/trans/create", payout_request("CONF-PO-1", sandbox.notify_url))
    order_no = created["data"]["orderNo"]
    notify = sandbox.wait_attempts(order_no, 1)[0]["body"]
    queried = client.both_forms("/v2/trans/query", ids(orderNo=order_no))

    assert (created["code"], created["msg"]) == (200, "SUCC")
    assert verify_seed_sign(created["data"])
    assert (notify["status"], verify_seed_sign(notify)) == (2, True)
    assert (queried["data"]["status"], verify_seed_sign(queried["data"])) == (2, True)


def test_a_collection_goes_through_create_pay_page_notify_and_query(sandbox: Sandbox) -> None:
    client = SdkStyleClient(sandbox)
    created = client.call("/v2/payment/create", collection_request("CONF-CO-1", sandbox.notify_url))
    order_no = created["data"]["orderNo"]
    pending = client.both_forms("/v2/payment/query", ids(orderNo=order_no))

    pay_page = raw_request(client.url, "GET", f"/pay/{order_no}", absolute=True)
    notify = sandbox.wait_attempts(order_no, 1)[0]["body"]
    paid = client.both_forms("/v2/payment/query", ids(orderNo=order_no))

    assert verify_seed_sign(created["data"])
    assert (pending["data"]["status"], pending["data"]["paid"], verify_seed_sign(pending["data"])) == (1, None, True)
    assert pay_page.status == 200
    assert (notify["paid"], verify_seed_sign(notify)) == (created["data"]["payAmount"], True)
    assert (paid["data"]["status"], verify_seed_sign(paid["data"])) == (2, True)


def test_the_balance_answers_alike_on_both_paths_and_forms(sandbox: Sandbox) -> None:
    client = SdkStyleClient(sandbox)

    answers = [client.both_forms(path, ids()) for path in ("/merchant/accountInfo", "/v2/merchant/accountInfo")]

    assert answers[0] == answers[1]
    assert answers[0]["code"] == 200


Scenario = Callable[[Sandbox, SdkStyleClient], tuple[str, dict[str, Any], dict[str, Any]]]


def _merchant_not_exist(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "/merchant/accountInfo", {"appId": APP_ID, "merchantId": MERCHANT_ID + 1}, {}


def _app_not_exist(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "/merchant/accountInfo", {"appId": APP_ID + 1, "merchantId": MERCHANT_ID}, {}


def _order_not_exist(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "/v2/trans/query", ids(orderNo="999999999999999999"), {}


def _sign_error(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "/merchant/accountInfo", ids(), {"secret": "not-the-secret"}


def _balance_not_enough(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "/v2/trans/create", payout_request("CONF-PO-RICH", sandbox.notify_url, payAmount=BALANCE + 1), {}


def _too_frequent(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    sandbox.add_fault(scope="request", kind="rate_limit", path="/merchant/accountInfo", count=READS_PER_ROUND)
    return "/merchant/accountInfo", ids(), {}


def _account_type_not_supported(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "/v2/trans/create", payout_request("CONF-PO-UPI", sandbox.notify_url, accountType="UPI"), {}


def _order_finished(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    sandbox.add_fault(scope="request", kind="code", status=10009, path="/v2/trans/query", count=READS_PER_ROUND)
    return "/v2/trans/query", ids(orderNo="1"), {}


def _param_error(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return "/v2/trans/create", payout_request("CONF-PO-NOIFSC", sandbox.notify_url, ifsc=None), {}


def _platform_side(code: ErrorCode) -> Scenario:
    def scenario(sandbox: Sandbox, client: SdkStyleClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
        sandbox.add_fault(
            scope="request", kind="code", status=int(code), path="/v2/payment/create", count=READS_PER_ROUND
        )
        return "/v2/payment/create", collection_request(f"CONF-CO-{int(code)}", sandbox.notify_url), {}

    return scenario


SCENARIOS: dict[ErrorCode, Scenario] = {
    ErrorCode.MERCHANT_NOT_EXIST: _merchant_not_exist,
    ErrorCode.APP_NOT_EXIST: _app_not_exist,
    ErrorCode.ORDER_NOT_EXIST: _order_not_exist,
    ErrorCode.SIGN_ERROR: _sign_error,
    ErrorCode.BALANCE_NOT_ENOUGH: _balance_not_enough,
    ErrorCode.TOO_FREQUENT: _too_frequent,
    ErrorCode.ACCOUNT_SETTING_ERROR: _platform_side(ErrorCode.ACCOUNT_SETTING_ERROR),
    ErrorCode.TRANSACTION_FAIL: _platform_side(ErrorCode.TRANSACTION_FAIL),
    ErrorCode.ORDER_FINISHED: _order_finished,
    ErrorCode.ORDER_EXPIRED: _platform_side(ErrorCode.ORDER_EXPIRED),
    ErrorCode.ACCOUNT_TYPE_NOT_SUPPORTED: _account_type_not_supported,
    ErrorCode.PAY_TOOL_ERROR: _platform_side(ErrorCode.PAY_TOOL_ERROR),
    ErrorCode.PARAM_ERROR: _param_error,
    ErrorCode.UNKNOWN_ERROR: _platform_side(ErrorCode.UNKNOWN_ERROR),
}


def test_every_code_of_the_error_table_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(ErrorCode)


@pytest.mark.parametrize("code", list(SCENARIOS), ids=lambda code: code.name)
def test_each_error_code_is_answered_alike_in_both_forms(sandbox: Sandbox, code: ErrorCode) -> None:
    client = SdkStyleClient(sandbox)
    path, params, options = SCENARIOS[code](sandbox, client)

    answer = client.both_forms(path, params, **options)

    assert answer["code"] == int(code)
    assert isinstance(answer["msg"], str)
    assert answer["msg"]
    assert answer.get("data") is None  # an error carries no order, and nothing was created
