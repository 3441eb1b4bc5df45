"""Clients written only from BeilyPay's documentation (and the SDK quirks of protocols §2.2) work unchanged.

Each style builds its own requests and signatures with plain httpx and hashlib: nothing from
``sandbox`` is imported here, so the emulator is tested the way a real integrator would use it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.sandbox.beilypay.beilypay_support import APP_ID, MERCHANT_ID, SECRET, Sandbox


@dataclass(frozen=True)
class Style:
    """How one official client signs and encodes (protocols §2.2 table)."""

    name: str
    upper: bool  # hex case of the request sign
    include_empty: bool  # "" signed as k=
    trim: bool  # values trimmed before signing (Java)
    app_id_as_string: bool  # Python/PHP send "1183601355"
    mobile_as_int: bool  # PHP sends mobile as a JSON number
    content_type: str
    address: str | None  # what the client sends for the optional address


STYLES = [
    Style("python-sdk", False, True, False, True, False, "application/json", ""),
    Style("go-sdk", True, False, False, False, False, "application/json", None),
    Style("php-sdk", False, False, False, True, True, "application/json", None),
    Style("java-sdk", True, True, True, False, False, "application/json;charset=UTF-8", ""),
]


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


class SeedClient:
    """A BeilyPay v2 client exactly as its documentation describes it, parameterised by SDK style."""

    def __init__(self, base_url: str, style: Style) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=5.0)
        self.style = style

    def sign(self, params: dict[str, Any]) -> str:
        pairs = []
        for key in sorted(params):
            value = params[key]
            if key == "sign" or value is None:
                continue
            text = str(value).strip() if self.style.trim else str(value)
            if text == "" and not self.style.include_empty:
                continue
            pairs.append(f"{key}={text}")
        digest = md5_hex("&".join(pairs) + "&key=" + SECRET)
        return digest.upper() if self.style.upper else digest

    def post(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        base = {"appId": str(APP_ID) if self.style.app_id_as_string else APP_ID, "merchantId": MERCHANT_ID}
        body = {**base, **{k: v for k, v in params.items() if v is not None}}
        body["sign"] = self.sign(body)
        response = self.http.post(path, content=json.dumps(body), headers={"content-type": self.style.content_type})
        assert response.status_code == 200
        assert "/json" in response.headers["content-type"]
        answer: dict[str, Any] = json.loads(response.text, parse_float=Decimal)
        return answer

    def verified_data(self, answer: dict[str, Any]) -> dict[str, Any]:
        """Java-SDK behaviour: code 200 and a data sign that verifies (case-insensitively)."""
        assert answer["code"] == 200, answer
        data: dict[str, Any] = answer["data"]
        assert verify_notify_or_data(data)
        return data


def verify_notify_or_data(data: dict[str, Any]) -> bool:
    """Uppercase doc signature over every received non-null, non-empty field but sign."""
    pairs = [f"{k}={data[k]}" for k in sorted(data) if k != "sign" and data[k] is not None and data[k] != ""]
    expected = md5_hex("&".join(pairs) + "&key=" + SECRET).upper()
    return bool(expected == data["sign"])


@pytest.mark.parametrize("style", STYLES, ids=[s.name for s in STYLES])
def test_seed_client_full_flow(sandbox: Sandbox, style: Style) -> None:
    client = SeedClient(sandbox.server.url, style)
    mobile: Any = 9876543210 if style.mobile_as_int else "9876543210"
    owner = " Asha Rao " if style.trim else "Asha Rao"

    payout = client.verified_data(
        client.post(
            "/v2/trans/create",
            {
                "account": "123456789012",
                "accountOwner": owner,
                "accountType": "Card",
                "address": style.address,
                "bankCode": "HDFC",
                "email": "9876543210@gmail.com",
                "ifsc": "HDFC0000123",
                "mobile": mobile,
                "notifyUrl": sandbox.notify_url,
                "outOrderNo": f"{style.name}-payout",
                "payAmount": 10_000,
            },
        )
    )
    assert payout["status"] == 1
    deadline = time.monotonic() + 5
    while (
        status := client.verified_data(client.post("/v2/trans/query", {"orderNo": payout["orderNo"]}))["status"]
    ) == 1:
        assert time.monotonic() < deadline, "payout never finished"
        time.sleep(0.01)
    assert status == 2

    collection = client.verified_data(
        client.post(
            "/v2/payment/create",
            {
                "email": "9876543210@gmail.com",
                "frontCallback": "http://www.baidu.com/",
                "mobile": mobile,
                "notifyUrl": sandbox.notify_url,
                "outOrderNo": f"{style.name}-collection",
                "payAmount": "111" if style.name == "python-sdk" else 111,  # the Python README passes "111"
                "userId": "userId111",
                "userName": "userName111",
            },
        )
    )
    assert httpx.get(collection["payUrl"]).status_code == 200
    paid = client.verified_data(client.post("/v2/payment/query", {"orderNo": collection["orderNo"]}))
    assert (paid["status"], paid["paid"]) == (2, 111)

    balance = client.verified_data(client.post("/merchant/accountInfo", {}))
    assert balance["settlementAmount"] == Decimal("10000.00") - Decimal("100.00") + Decimal("1.11")

    notifies = [r.json() for r in sandbox.receiver.wait_for(2)]
    assert {n["orderNo"] for n in notifies} == {payout["orderNo"], collection["orderNo"]}
    assert all(verify_notify_or_data(n) for n in notifies)


def test_uppercase_and_lowercase_of_the_same_request_both_pass(sandbox: Sandbox) -> None:
    for style in (STYLES[0], STYLES[1]):
        answer = SeedClient(sandbox.server.url, style).post("/v2/merchant/accountInfo", {})
        assert answer["code"] == 200, style.name
