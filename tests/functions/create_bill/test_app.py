"""POST /bills through the real handler, the real BeeCloud sandbox and moto."""

from __future__ import annotations

import time

import boto3
import httpx
import pytest

from tests.support.functions import add_fault, api_event, body_of, invoke

CHANNEL_CASES = {
    "WX_APP": ({}, {"app_id", "partner_id", "package", "nonce_str", "timestamp", "pay_sign", "prepay_id"}),
    "WX_NATIVE": ({}, {"code_url"}),
    "WX_JSAPI": (
        {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        {"app_id", "package", "nonce_str", "timestamp", "pay_sign", "sign_type"},
    ),
    "ALI_APP": ({}, {"order_string"}),
    "ALI_WEB": (
        {"return_url": "https://shop.example/return", "show_url": "https://shop.example/item"},
        {"html", "url"},
    ),
    "ALI_WAP": ({"use_app": True}, {"html", "url"}),
    "ALI_QRCODE": ({"return_url": "https://shop.example/return", "qr_pay_mode": "1"}, {"html", "url"}),
    "UN_APP": ({}, {"tn"}),
    "UN_WEB": ({"return_url": "https://shop.example/return"}, {"html"}),
}


def _bill(bill_no: str = "BILL00000001", **overrides):
    return {"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": 100, "title": "白开水", **overrides}


def _post(merchant, body, **headers):
    return invoke(
        "create_bill",
        api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth, **headers}),
    )


def _stored(merchant, bill_no):
    item = boto3.client("dynamodb").get_item(TableName="orders", Key={"pk": {"S": f"BILL#{merchant.app_id}#{bill_no}"}})
    return item.get("Item")


@pytest.mark.parametrize("channel", sorted(CHANNEL_CASES))
def test_each_channel_returns_its_payment_parameters(merchant, channel):
    extra, expected_fields = CHANNEL_CASES[channel]
    result = _post(merchant, _bill(f"CH{channel.replace('_', '')}001", channel=channel, **extra))
    assert result["statusCode"] == 201, result["body"]
    bill = body_of(result)
    assert bill["status"] == "pending"
    assert bill["currency"] == "CNY"
    assert expected_fields <= set(bill["payment"])


def test_an_ali_wap_bill_sends_use_app_to_beecloud_and_keeps_it(merchant):
    result = _post(merchant, _bill("ALIWAP000001", channel="ALI_WAP", use_app=True))
    assert result["statusCode"] == 201, result["body"]
    assert 'name="app_pay" value="Y"' in body_of(result)["payment"]["html"]  # the cashier opens the app
    assert _stored(merchant, "ALIWAP000001")["use_app"] == {"BOOL": True}


def test_identical_repeat_returns_the_same_bill_without_a_new_provider_bill(merchant, beecloud_sandbox):
    first = _post(merchant, _bill())
    again = _post(merchant, _bill())
    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert body_of(again) == body_of(first)


def test_same_bill_no_with_another_body_is_a_conflict(merchant):
    _post(merchant, _bill())
    result = _post(merchant, _bill(total_fee=101))
    assert result["statusCode"] == 409
    assert body_of(result)["error"]["code"] == "bill_no_conflict"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_fee": 0}, "total_fee"),
        ({"total_fee": -1}, "total_fee"),
        ({"total_fee": 1.5}, "total_fee"),
        ({"total_fee": "100"}, "total_fee"),
        ({"total_fee": True}, "total_fee"),
        ({"total_fee": 2**31}, "total_fee"),
        ({"bill_no": "SHORT01"}, "bill_no"),
        ({"bill_no": "A" * 33}, "bill_no"),
        ({"bill_no": "BILL-0000001"}, "bill_no"),
        ({"title": "一二三四五六七八九十一二三四五六七"}, "title"),  # 17 CJK = 34 GBK bytes
        ({"title": "coffee ☕"}, "title"),  # not encodable in GBK
        ({"title": ""}, "title"),
        ({"title": " "}, "title"),  # only whitespace: BeeCloud's adapter refuses it
        ({"title": "\u3000"}, "title"),  # an ideographic space is whitespace too
        ({"title": " \u3000 "}, "title"),
        ({"channel": "WX_JSAPI", "openid": " "}, "openid"),
        ({"channel": "ALI_WEB", "return_url": "https://shop.example/return\n"}, "return_url"),
        ({"channel": "WX"}, "channel"),
        ({"channel": "ALI_WEB"}, None),  # return_url missing
        ({"channel": "WX_JSAPI"}, None),  # openid missing
        ({"qr_pay_mode": "1"}, None),  # not ALI_QRCODE
        ({"use_app": True}, None),  # not ALI_WAP
        ({"channel": "ALI_WAP", "use_app": "true"}, "use_app"),
        ({"unexpected": 1}, "unexpected"),
        ({"optional": {"k": "v" * 3000}}, "optional"),
    ],
)
def test_invalid_bills_are_rejected_before_anything_is_written(merchant, change, field):
    body = {**_bill("INVALID00001"), **change}
    result = _post(merchant, body)
    assert result["statusCode"] == 422, result["body"]
    error = body_of(result)["error"]
    assert error["code"] == "invalid_request"
    if field:
        assert any(field in (d["field"] or "") for d in error["details"]), error
    assert _stored(merchant, body["bill_no"]) is None


def test_sixteen_chinese_characters_fit_the_title(merchant):
    result = _post(merchant, _bill(title="一二三四五六七八九十一二三四五六"))
    assert result["statusCode"] == 201, result["body"]


@pytest.mark.parametrize("title", [" ", "\u3000", "\u3000\u3000"])
def test_a_whitespace_only_title_is_a_422_and_a_fixed_retry_creates_the_bill(merchant, title):
    refused = _post(merchant, _bill("BLANKTITLE01", title=title))
    fixed = _post(merchant, _bill("BLANKTITLE01", title="白开水"))

    assert refused["statusCode"] == 422, refused["body"]
    assert body_of(refused)["error"]["code"] == "invalid_request"
    assert [d["field"] for d in body_of(refused)["error"]["details"]] == ["title"]
    assert fixed["statusCode"] == 201, fixed["body"]
    assert "code_url" in body_of(fixed)["payment"]


def test_spaces_inside_a_title_are_kept(merchant):
    result = _post(merchant, _bill("SPACEDTITLE1", title="白 开\u3000水 500ml"))
    assert result["statusCode"] == 201, result["body"]
    assert body_of(result)["title"] == "白 开\u3000水 500ml"


def test_malformed_json_and_wrong_content_type_and_oversized_bodies(merchant):
    malformed = _post(merchant, '{"bill_no": ')
    assert (malformed["statusCode"], body_of(malformed)["error"]["code"]) == (400, "malformed_json")
    form = _post(merchant, "bill_no=1", **{"Content-Type": "application/x-www-form-urlencoded"})
    assert form["statusCode"] == 415
    huge = _post(merchant, _bill(title="x" * 70_000))
    assert huge["statusCode"] == 413


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc", "Bearer pgk.app_0000000000000000.x"])
def test_requests_without_a_valid_key_are_unauthorized(merchant, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    event = api_event("POST", "/bills", body=_bill(), headers=headers)
    if authorization is None:
        event["headers"].pop("Authorization", None)
    result = invoke("create_bill", event)
    assert result["statusCode"] == 401
    assert body_of(result)["error"]["code"] == "unauthorized"
    assert _stored(merchant, "BILL00000001") is None


def test_a_rotated_key_works_at_once_and_the_old_one_is_refused_after_the_cache_bound(merchant, monkeypatch):
    from paygate.apps.admin import rotate_key
    from paygate.deps import app_cache
    from paygate.settings import get_settings

    monkeypatch.setenv("APP_CACHE_TTL_S", "1")
    get_settings.cache_clear()
    app_cache.cache_clear()
    assert _post(merchant, _bill("ROTATE000001"))["statusCode"] == 201  # this container now holds the app
    time.sleep(1.0)  # the forced re-read happens at most once a second

    new_key = rotate_key(merchant.app_id)
    with_new_key = api_event(
        "POST", "/bills", body=_bill("ROTATE000002"), headers={"Authorization": f"Bearer {new_key}"}
    )
    assert invoke("create_bill", with_new_key)["statusCode"] == 201
    time.sleep(1.0)
    assert _post(merchant, _bill("ROTATE000003"))["statusCode"] == 401


def test_idempotency_key_replays_and_refuses_another_body(merchant):
    first = _post(merchant, _bill("IDEMP0000001"), **{"Idempotency-Key": "k-1"})
    replay = _post(merchant, _bill("IDEMP0000001"), **{"Idempotency-Key": "k-1"})
    assert first["statusCode"] == 201
    assert (replay["statusCode"], body_of(replay)) == (201, body_of(first))
    other = _post(merchant, _bill("IDEMP0000002"), **{"Idempotency-Key": "k-1"})
    assert (other["statusCode"], body_of(other)["error"]["code"]) == (409, "idempotency_key_reuse")


def test_an_unreachable_idempotency_table_is_a_503_and_no_bill(merchant, monkeypatch):
    import boto3
    from botocore.config import Config

    from paygate.api import idempotency

    down = boto3.client(
        "dynamodb", endpoint_url="http://127.0.0.1:1", config=Config(retries={"max_attempts": 1}, connect_timeout=1)
    )
    idempotency._persistence.cache_clear()
    monkeypatch.setattr(idempotency, "client", lambda service: down)
    result = _post(merchant, _bill("IDEMPDOWN001"), **{"Idempotency-Key": "k-down"})
    idempotency._persistence.cache_clear()
    assert (result["statusCode"], body_of(result)["error"]["code"]) == (503, "service_unavailable")
    assert _stored(merchant, "IDEMPDOWN001") is None


def test_provider_error_is_a_502_and_a_retry_recovers_the_same_bill(merchant, clean_faults):
    add_fault(clean_faults, scope="request", kind="error", path="/1/rest/bill", status=500, count=1)
    failed = _post(merchant, _bill("FAULT0000001"))
    assert failed["statusCode"] == 502
    assert body_of(failed)["error"]["code"] == "provider_error"
    assert "Traceback" not in failed["body"]
    stored = _stored(merchant, "FAULT0000001")
    assert stored["status"]["S"] == "pending"
    assert stored["provider_state"]["S"] == "unknown"
    retried = _post(merchant, _bill("FAULT0000001"))
    assert retried["statusCode"] == 200
    assert "code_url" in body_of(retried)["payment"]


def test_provider_timeout_is_a_504_and_leaves_the_bill_pending(merchant, clean_faults, monkeypatch):
    from paygate import deps, settings

    monkeypatch.setenv("PROVIDER_READ_TIMEOUT_S", "0.5")
    settings.get_settings.cache_clear()
    deps.http_client.cache_clear()
    deps.beecloud_client.cache_clear()
    # The sandbox runs at time_scale 0.001: 5000 scaled seconds are 5 real ones.
    add_fault(clean_faults, scope="request", kind="hang", path="/1/rest/bill", delay_s=5000, count=1)
    result = _post(merchant, _bill("HANG00000001"))
    assert result["statusCode"] == 504
    assert body_of(result)["error"]["code"] == "provider_timeout"
    assert _stored(merchant, "HANG00000001")["status"]["S"] == "pending"


def test_a_channel_rejection_fails_the_bill_and_repeats_get_the_same_answer(merchant, aws, beecloud_sandbox):
    # BeeCloud refuses a paid bill_no sent with other parameters (7, 订单号重复).
    _post(merchant, _bill("REJECT000001"))
    httpx.post(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/REJECT000001/pay")
    other_app_same_provider_bill = _bill("REJECT000001", total_fee=999)
    # A different paygate body is a 409 locally; to reach BeeCloud's rejection, drop our record.
    boto3.client("dynamodb").delete_item(TableName="orders", Key={"pk": {"S": f"BILL#{merchant.app_id}#REJECT000001"}})
    first = _post(merchant, other_app_same_provider_bill)
    again = _post(merchant, other_app_same_provider_bill)
    assert first["statusCode"] == 502
    assert body_of(first)["error"]["code"] == "channel_error"
    assert (again["statusCode"], body_of(again)["error"]["code"]) == (502, "channel_error")
    assert _stored(merchant, "REJECT000001")["status"]["S"] == "failed"
    failed_events = [e for e in aws.published_events() if e["detail-type"] == "bill.failed"]
    assert [e["detail"]["data"]["bill_no"] for e in failed_events] == ["REJECT000001"]
