"""``GET /1/rest/bills`` and ``GET /1/rest/refunds``: filters, paging, items, ``para`` encodings."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import pytest

from tests.sandbox.beecloud.beecloud_support import (
    OTHER_APP_ID,
    OTHER_APP_SECRET,
    Sandbox,
    now_ms,
    today_refund_prefix,
    wait_until,
)

BILL_KEYS = {"bill_no", "total_fee", "channel", "title", "spay_result", "created_time"}
REFUND_KEYS = {
    "bill_no",
    "refund_no",
    "title",
    "channel",
    "total_fee",
    "refund_fee",
    "finish",
    "result",
    "created_time",
}


def _bills(box: Sandbox, **para: Any) -> dict[str, Any]:
    return box.get("/1/rest/bills", para)


def _numbers(answer: dict[str, Any], key: str = "bills", field: str = "bill_no") -> list[str]:
    assert answer["result_code"] == 0, answer
    assert answer["count"] == len(answer[key])
    return [item[field] for item in answer[key]]


@pytest.fixture
def three_bills(sandbox: Sandbox) -> Sandbox:
    sandbox.bill("WX_NATIVE", bill_no="qb000001")
    sandbox.paid_bill("ALI_WEB", bill_no="qb000002")
    sandbox.bill("WX_APP", bill_no="qb000003")
    return sandbox


def test_bills_newest_first_with_every_key(three_bills: Sandbox) -> None:
    answer = _bills(three_bills, channel="WX")
    assert (answer["result_msg"], answer["err_detail"]) == ("OK", "")
    assert _numbers(answer) == ["qb000003", "qb000001"]
    item = answer["bills"][0]
    assert set(item) == BILL_KEYS
    assert all(value is not None for value in item.values())
    assert item["channel"] == "WX_APP"
    assert item["spay_result"] is False
    assert item["total_fee"] == 100
    assert item["title"] == "白开水"
    assert abs(item["created_time"] - now_ms()) < 60_000


def test_ali_wap_bills_are_listed_under_alipay_and_their_own_channel(sandbox: Sandbox) -> None:
    sandbox.paid_bill("ALI_WAP", bill_no="qbwap001")
    sandbox.paid_bill("ALI_WEB", bill_no="qbweb001")
    assert _numbers(_bills(sandbox, channel="ALI")) == ["qbweb001", "qbwap001"]
    answer = _bills(sandbox, channel="ALI_WAP")
    assert _numbers(answer) == ["qbwap001"]
    assert (answer["bills"][0]["channel"], answer["bills"][0]["spay_result"]) == ("ALI_WAP", True)


@pytest.mark.parametrize(
    ("para", "expected"),
    [
        ({}, ["qb000003", "qb000002", "qb000001"]),
        ({"channel": "ALI"}, ["qb000002"]),
        ({"channel": "WX_NATIVE"}, ["qb000001"]),
        ({"channel": "UN"}, []),
        ({"bill_no": "qb000002"}, ["qb000002"]),
        ({"bill_no": "qb000002", "channel": "WX"}, []),
        ({"spay_result": True}, ["qb000002"]),
        ({"skip": 1, "limit": 1}, ["qb000002"]),
        ({"skip": 5}, []),
        ({"limit": 50}, ["qb000003", "qb000002", "qb000001"]),
        (
            {"channel": "", "bill_no": None, "skip": "", "limit": None, "start_time": ""},
            ["qb000003", "qb000002", "qb000001"],
        ),
    ],
)
def test_bill_filters(three_bills: Sandbox, para: dict[str, Any], expected: list[str]) -> None:
    assert _numbers(_bills(three_bills, **para)) == expected


def test_time_filters_use_creation_time(three_bills: Sandbox) -> None:
    created = {item["bill_no"]: item["created_time"] for item in _bills(three_bills)["bills"]}
    middle = created["qb000002"]
    assert "qb000002" in _numbers(_bills(three_bills, start_time=middle, end_time=middle))
    assert _numbers(_bills(three_bills, end_time=created["qb000001"] - 1)) == []
    assert _numbers(_bills(three_bills, start_time=now_ms() + 60_000)) == []


@pytest.mark.parametrize(
    ("para", "code"),
    [
        ({"limit": 51}, 5),
        ({"limit": 0}, 5),
        ({"skip": -1}, 5),
        ({"skip": "1"}, 5),
        ({"start_time": "1435890530000"}, 5),
        ({"channel": "ALI_OFFLINE_QRCODE"}, 3),
        ({"channel": "ali"}, 5),
        ({"spay_result": "true"}, 5),
        ({"bill_no": 123}, 5),
    ],
)
def test_bill_query_errors(sandbox: Sandbox, para: dict[str, Any], code: int) -> None:
    answer = _bills(sandbox, **para)
    assert answer["result_code"] == code
    assert "bills" not in answer


def test_other_apps_bills_are_invisible(three_bills: Sandbox) -> None:
    auth = three_bills.auth(OTHER_APP_SECRET, OTHER_APP_ID)
    answer = three_bills.get("/1/rest/bills", auth, sign=False)
    assert _numbers(answer) == []


def test_refunds_query(sandbox: Sandbox) -> None:
    sandbox.paid_bill("ALI_APP", bill_no="qr000001")
    sandbox.paid_bill("UN_WEB", bill_no="qr000002")
    prefix = today_refund_prefix()
    sandbox.refund("qr000001", refund_fee=30, refund_no=prefix + "001")
    sandbox.refund("qr000002", refund_fee=40, refund_no=prefix + "002")
    answer = sandbox.get("/1/rest/refunds", {})
    assert _numbers(answer, "refunds", "refund_no") == [prefix + "002", prefix + "001"]
    item = answer["refunds"][1]
    assert set(item) == REFUND_KEYS
    assert (item["bill_no"], item["channel"], item["title"]) == ("qr000001", "ALI_APP", "白开水")
    assert (item["total_fee"], item["refund_fee"]) == (100, 30)
    only = sandbox.get("/1/rest/refunds", {"channel": "UN"})
    assert _numbers(only, "refunds", "bill_no") == ["qr000002"]
    by_no = sandbox.get("/1/rest/refunds", {"refund_no": prefix + "001", "bill_no": "qr000001"})
    assert _numbers(by_no, "refunds", "refund_no") == [prefix + "001"]

    def finished() -> bool:
        items = sandbox.get("/1/rest/refunds", {})["refunds"]
        return all(item["finish"] and item["result"] for item in items)

    wait_until(finished, what="refunds finished")
    assert sandbox.get("/1/rest/refunds", {"limit": 51})["result_code"] == 5


def _raw_query(box: Sandbox, path: str, query: str) -> dict[str, Any]:
    response = box.client.get(f"{path}?{query}")
    assert response.status_code == 200
    return dict(response.json())


def test_every_para_encoding_reaches_the_same_answer(three_bills: Sandbox) -> None:
    auth = three_bills.auth()
    para = {**auth, "channel": "WX", "limit": 10}
    repr_text = (
        "{"
        + ", ".join(
            f"'{key}': {value}L" if isinstance(value, int) else f"u'{key}': u'{value}'" for key, value in para.items()
        )
        + "}"
    )
    encodings = {
        "compact json": "para=" + quote_plus(json.dumps(para, separators=(",", ":"))),
        "python3 quote_plus": "para=" + quote_plus(json.dumps(para)),
        "node encodeURIComponent": "para=" + quote(json.dumps(para), safe=""),
        "php urlencode": "para=" + quote_plus(json.dumps({**para, "u": "白/x"}).replace("/", "\\/")),
        "java json-lib nulls": "para=" + quote_plus(json.dumps({**para, "bill_no": None, "skip": ""})),
        "python2 repr": urlencode({"para": repr_text}),
    }
    for name, query in encodings.items():
        answer = _raw_query(three_bills, "/1/rest/bills", query)
        assert _numbers(answer) == ["qb000003", "qb000001"], name


@pytest.mark.parametrize(
    ("query", "code"),
    [("", 4), ("para=", 4), ("other=1", 4), ("para=%7Bnot", 5), ("para=%5B1%5D", 5)],
)
def test_missing_or_broken_para(sandbox: Sandbox, query: str, code: int) -> None:
    for path in ("/1/rest/bills", "/1/rest/refunds", "/1/rest/refund/status"):
        answer = _raw_query(sandbox, path, query)
        assert answer["result_code"] == code
        assert isinstance(answer["err_detail"], str)
