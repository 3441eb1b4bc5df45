"""Conformance: the sandbox driven the way BeeCloud's official v1 SDKs drive BeeCloud, over real sockets.

An SDK signs every call with ``app_sign = md5(app_id + timestamp + app_secret)``, POSTs JSON for
writes and sends reads as ``GET …?para=<the parameters as text>``; the Python 2 SDK writes that
text as ``repr(dict)`` (``{u'app_id': u'…', u'timestamp': 1445418480000L}``), and a client behind
a proxy writes its request line in absolute form. Every channel the sandbox serves goes through
bill → pay → query → refund → refund query, and every result code of the v1 table is produced
by the call that produces it at BeeCloud, answered alike in absolute and in origin form.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sandbox.beecloud.protocol import PARENT_CHANNELS, PAY_CHANNELS, ResultCode, parent_channel
from tests.sandbox.beecloud.beecloud_support import CHANNEL_EXTRAS, Sandbox, md5, today_refund_prefix
from tests.support.raw_http import READS_PER_ROUND, RawResponse, answers_in_both_forms, raw_request


def py2_repr(params: dict[str, Any]) -> str:
    """``repr(dict)`` as Python 2 prints it: u'' strings, L longs, None/True/False."""

    def one(value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return repr(value)
        if isinstance(value, int):
            return f"{value}L" if value > 2**31 - 1 else str(value)
        return "u" + repr(str(value))

    return "{" + ", ".join(f"u'{key}': {one(value)}" for key, value in params.items()) + "}"


class SdkStyleClient:
    """BeeCloud REST v1 as the official SDKs call it, over a raw socket so the request line is exact."""

    def __init__(self, sandbox: Sandbox, app_id: str | None = None, secret: str | None = None) -> None:
        self.url = sandbox.url
        self.app_id = app_id or sandbox.app_id
        self.secret = secret or sandbox.secret

    def signed(self, params: dict[str, Any]) -> dict[str, Any]:
        timestamp = int(time.time() * 1000)
        app_sign = md5(f"{self.app_id}{timestamp}{self.secret}")
        return {"app_id": self.app_id, "timestamp": timestamp, "app_sign": app_sign, **params}

    def send(self, method: str, path: str, params: dict[str, Any], *, absolute: bool = True) -> RawResponse:
        signed = self.signed(params)
        if method == "GET":
            return raw_request(self.url, "GET", f"{path}?para={quote(py2_repr(signed))}", absolute=absolute)
        body = json.dumps(signed, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json;charset=UTF-8"}
        return raw_request(self.url, method, path, body=body, headers=headers, absolute=absolute)

    def call(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        answer = self.send(method, path, params)
        assert answer.status == 200, answer
        assert dict(answer.headers)[b"content-type"].startswith(b"application/json")
        return dict(json.loads(answer.body))

    def both_forms(self, method: str, path: str, params: dict[str, Any]) -> dict[str, Any]:
        """A call that changes nothing, sent in absolute and in origin form: the answers must be identical."""
        absolute, origin = answers_in_both_forms(lambda absolute: self.send(method, path, params, absolute=absolute))
        assert absolute == origin
        return dict(json.loads(absolute.body))


def _paid(sandbox: Sandbox, client: SdkStyleClient, channel: str, bill_no: str, fee: int = 100) -> None:
    created = client.call("POST", "/1/rest/bill", {"channel": channel, "total_fee": fee, "bill_no": bill_no,
                                                     "title": "白开水", **CHANNEL_EXTRAS[channel]})  # fmt: skip
    assert created["result_code"] == 0, created
    assert httpx.post(f"{sandbox.url}/_sandbox/bills/{client.app_id}/{bill_no}/pay").status_code == 200


@pytest.mark.parametrize("channel", PAY_CHANNELS)
def test_every_channel_goes_through_bill_pay_query_and_refund(sandbox: Sandbox, channel: str) -> None:
    client = SdkStyleClient(sandbox)
    bill_no = "conf" + channel.replace("_", "")
    refund_no = today_refund_prefix() + "7" + str(PAY_CHANNELS.index(channel)).zfill(2)

    _paid(sandbox, client, channel, bill_no)
    bills = client.both_forms("GET", "/1/rest/bills", {"channel": parent_channel(channel), "bill_no": bill_no})
    refund = client.call("POST", "/1/rest/refund", {"refund_no": refund_no, "bill_no": bill_no, "refund_fee": 40})
    refunds = client.both_forms("GET", "/1/rest/refunds", {"refund_no": refund_no})

    assert [(b["bill_no"], b["channel"], b["spay_result"]) for b in bills["bills"]] == [(bill_no, channel, True)]
    assert (refund["result_code"], refund["result_msg"]) == (0, "OK")
    assert [(r["refund_no"], r["refund_fee"]) for r in refunds["refunds"]] == [(refund_no, 40)]
    pay = [w for w in sandbox.webhooks(1) if w["transaction_type"] == "PAY"]
    assert [(w["transaction_id"], w["sub_channel_type"]) for w in pay] == [(bill_no, channel)]


def test_the_query_channels_are_the_parents_and_every_pay_channel(sandbox: Sandbox) -> None:
    client = SdkStyleClient(sandbox)
    for channel in (*PARENT_CHANNELS, *PAY_CHANNELS):
        assert client.both_forms("GET", "/1/rest/bills", {"channel": channel})["result_code"] == 0, channel


def _register(sandbox: Sandbox, **settings: Any) -> SdkStyleClient:
    """Another app of the same sandbox, set up in its console as `settings` say."""
    app_id, secret = str(uuid.uuid4()), uuid.uuid4().hex
    app = {"app_id": app_id, "app_secret": secret, "master_secret": "m", "webhook_url": sandbox.receiver_url}
    assert sandbox.client.post("/_sandbox/apps", json={**app, **settings}).status_code == 201
    return SdkStyleClient(sandbox, app_id, secret)


Scenario = Callable[[Sandbox], tuple[SdkStyleClient, str, str, dict[str, Any]]]


def _bill(bill_no: str, **fields: Any) -> dict[str, Any]:
    return {"channel": "WX_NATIVE", "total_fee": 100, "bill_no": bill_no, "title": "白开水", **fields}


def _refund(bill_no: str, serial: str, fee: int = 100) -> dict[str, Any]:
    return {"refund_no": today_refund_prefix() + serial, "bill_no": bill_no, "refund_fee": fee}


def _ok(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    return SdkStyleClient(sandbox), "POST", "/1/rest/bill", _bill("code0")  # a re-submission answers alike


def _app_invalid(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    return SdkStyleClient(sandbox, secret="not-the-secret"), "POST", "/1/rest/bill", _bill("code1")


def _pay_factor_not_set(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    client = _register(sandbox, channels=["WX_NATIVE"])
    return client, "POST", "/1/rest/bill", _bill("code2", channel="ALI_QRCODE", **CHANNEL_EXTRAS["ALI_QRCODE"])


def _channel_invalid(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    return SdkStyleClient(sandbox), "POST", "/1/rest/bill", _bill("code3", channel="BD_WEB")


def _miss_param(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    return SdkStyleClient(sandbox), "POST", "/1/rest/bill", {"channel": "WX_NATIVE", "total_fee": 1, "bill_no": "code4"}


def _param_invalid(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    return SdkStyleClient(sandbox), "POST", "/1/rest/bill", _bill("code5", total_fee=-1)


def _cert_file_error(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    client = _register(sandbox, wx_refund_certificate=False)
    _paid(sandbox, client, "WX_NATIVE", "code6")
    return client, "POST", "/1/rest/refund", _refund("code6", "601")


def _channel_error(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    client = SdkStyleClient(sandbox)
    _paid(sandbox, client, "WX_NATIVE", "code7")
    return client, "POST", "/1/rest/bill", _bill("code7")  # a paid bill_no again


def _no_such_bill(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    return SdkStyleClient(sandbox), "POST", "/1/rest/refund", _refund("code8", "801")


def _bill_unsuccess(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    client = SdkStyleClient(sandbox)
    assert client.call("POST", "/1/rest/bill", _bill("code9"))["result_code"] == 0
    return client, "POST", "/1/rest/refund", _refund("code9", "901")


def _refund_exceed_time(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    client = SdkStyleClient(sandbox)
    _paid(sandbox, client, "WX_NATIVE", "code10")
    bill = sandbox.emulator.store.get_bill(client.app_id, "code10")
    assert bill is not None
    assert bill.paid_ms is not None
    bill.paid_ms -= 366 * 86_400_000  # paid a year and a day ago
    return client, "POST", "/1/rest/refund", _refund("code10", "1001")


def _already_refunding(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    client = SdkStyleClient(sandbox)
    _paid(sandbox, client, "WX_NATIVE", "code11")
    assert client.call("POST", "/1/rest/refund", _refund("code11", "1101", 10))["result_code"] == 0
    return client, "POST", "/1/rest/refund", _refund("code11", "1102", 10)


def _refund_amount_too_large(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    client = SdkStyleClient(sandbox)
    _paid(sandbox, client, "WX_NATIVE", "code12")
    return client, "POST", "/1/rest/refund", _refund("code12", "1201", 101)


def _no_such_refund(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    refund_no = today_refund_prefix() + "1301"
    return SdkStyleClient(sandbox), "GET", "/1/rest/refund/status", {"channel": "WX", "refund_no": refund_no}


def _run_time_error(sandbox: Sandbox) -> tuple[SdkStyleClient, str, str, dict[str, Any]]:
    rule = {"scope": "request", "kind": "code", "status": 14, "path": "/1/rest/bills", "count": READS_PER_ROUND}
    assert sandbox.client.post("/_sandbox/faults", json=rule).status_code == 201
    return SdkStyleClient(sandbox), "GET", "/1/rest/bills", {"channel": "WX"}


SCENARIOS: dict[ResultCode, Scenario] = {
    ResultCode.OK: _ok,
    ResultCode.APP_INVALID: _app_invalid,
    ResultCode.PAY_FACTOR_NOT_SET: _pay_factor_not_set,
    ResultCode.CHANNEL_INVALID: _channel_invalid,
    ResultCode.MISS_PARAM: _miss_param,
    ResultCode.PARAM_INVALID: _param_invalid,
    ResultCode.CERT_FILE_ERROR: _cert_file_error,
    ResultCode.CHANNEL_ERROR: _channel_error,
    ResultCode.NO_SUCH_BILL: _no_such_bill,
    ResultCode.BILL_UNSUCCESS: _bill_unsuccess,
    ResultCode.REFUND_EXCEED_TIME: _refund_exceed_time,
    ResultCode.ALREADY_REFUNDING: _already_refunding,
    ResultCode.REFUND_AMOUNT_TOO_LARGE: _refund_amount_too_large,
    ResultCode.NO_SUCH_REFUND: _no_such_refund,
    ResultCode.RUN_TIME_ERROR: _run_time_error,
}


def test_every_code_of_the_v1_table_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(ResultCode)


@pytest.mark.parametrize("code", list(SCENARIOS), ids=lambda code: code.name)
def test_each_result_code_is_answered_alike_in_both_forms(sandbox: Sandbox, code: ResultCode) -> None:
    client, method, path, params = SCENARIOS[code](sandbox)

    answer = client.both_forms(method, path, params)

    assert (answer["result_code"], answer["result_msg"]) == (int(code), code.name)
    assert isinstance(answer["err_detail"], str)
