"""GET lists and single reads: filters, paging, limits, and tenant isolation."""

from __future__ import annotations

import pytest

from tests.support.functions import api_event, body_of, invoke, pay_in_sandbox, webhook_event


def _get(merchant, path, resource=None, query=None, path_params=None, auth=None):
    return invoke(
        "query",
        api_event(
            "GET",
            path,
            resource=resource,
            query=query,
            path_params=path_params,
            headers={"Authorization": auth or merchant.auth},
        ),
    )


def _create(merchant, bill_no, channel="WX_NATIVE"):
    body = {"bill_no": bill_no, "channel": channel, "total_fee": 100, "title": "t"}
    if channel == "ALI_WEB":
        body["return_url"] = "https://shop.example/r"
    result = invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] == 201


@pytest.fixture
def five_bills(merchant, beecloud_sandbox):
    for i in range(5):
        _create(merchant, f"LIST0000000{i}", channel="ALI_WEB" if i % 2 else "WX_NATIVE")
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "LIST00000000")
    assert invoke("callback", webhook_event(merchant, payload))["body"] == "success"
    return merchant


def test_pages_walk_every_bill_newest_first_without_repeats(five_bills):
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = body_of(_get(five_bills, "/bills", query=query))
        seen += [b["bill_no"] for b in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"LIST0000000{i}" for i in reversed(range(5))]


def test_filters_by_status_and_channel(five_bills):
    paid = body_of(_get(five_bills, "/bills", query={"status": "succeeded"}))["data"]
    assert [b["bill_no"] for b in paid] == ["LIST00000000"]
    ali = body_of(_get(five_bills, "/bills", query={"channel": "ALI_WEB", "limit": "50"}))["data"]
    assert sorted(b["bill_no"] for b in ali) == ["LIST00000001", "LIST00000003"]


def test_an_ali_wap_bill_is_settled_by_its_webhook_and_listed_under_its_channel(merchant, beecloud_sandbox):
    _create(merchant, "LISTWAP00001", channel="ALI_WAP")
    _create(merchant, "LISTWEB00001", channel="ALI_WEB")
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "LISTWAP00001")
    assert (payload["channel_type"], payload["sub_channel_type"]) == ("ALI", "ALI_WAP")
    assert invoke("callback", webhook_event(merchant, payload))["body"] == "success"
    wap = body_of(_get(merchant, "/bills", query={"channel": "ALI_WAP"}))["data"]
    assert [(b["bill_no"], b["channel"], b["status"]) for b in wap] == [("LISTWAP00001", "ALI_WAP", "succeeded")]


def test_time_range_filters_on_creation_time(five_bills):
    everything = body_of(_get(five_bills, "/bills", query={"limit": "50"}))["data"]
    newest = everything[0]["created_at"]
    recent = body_of(_get(five_bills, "/bills", query={"created_from": newest}))["data"]
    assert [b["bill_no"] for b in recent] == [everything[0]["bill_no"]]
    assert body_of(_get(five_bills, "/bills", query={"created_to": "2000-01-01T00:00:00Z"}))["data"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "51"},
        {"limit": "0"},
        {"limit": "x"},
        {"status": "paid"},
        {"channel": "WX"},
        {"created_from": "yesterday"},
        {"created_from": "2026-01-01T00:00:00"},
        {"cursor": "garbage!"},
    ],
)
def test_bad_list_parameters_are_422(merchant, query):
    result = _get(merchant, "/bills", query=query)
    assert result["statusCode"] == 422, result["body"]


def test_another_apps_orders_are_invisible(five_bills, aws):
    from paygate.apps.admin import create_app

    _, other_key, _ = create_app("other", beecloud=None, beilypay=None)
    other_auth = f"Bearer {other_key}"
    one = _get(
        five_bills,
        "/bills/LIST00000000",
        resource="/bills/{bill_no}",
        path_params={"bill_no": "LIST00000000"},
        auth=other_auth,
    )
    assert (one["statusCode"], body_of(one)["error"]["code"]) == (404, "bill_not_found")
    assert body_of(_get(five_bills, "/bills", auth=other_auth))["data"] == []
    cursor = body_of(_get(five_bills, "/bills", query={"limit": "1"}))["next_cursor"]
    stolen = _get(five_bills, "/bills", query={"cursor": cursor}, auth=other_auth)
    assert stolen["statusCode"] == 422


def test_get_one_bill_and_missing_ones(five_bills):
    found = _get(
        five_bills, "/bills/LIST00000000", resource="/bills/{bill_no}", path_params={"bill_no": "LIST00000000"}
    )
    assert body_of(found)["status"] == "succeeded"
    missing = _get(
        five_bills, "/refunds/20260101001", resource="/refunds/{refund_no}", path_params={"refund_no": "20260101001"}
    )
    assert missing["statusCode"] == 404


def test_refund_list_is_empty_without_refunds(merchant):
    assert body_of(_get(merchant, "/refunds"))["data"] == []


LIST_PATHS = ["/bills", "/refunds", "/payouts", "/collections"]


@pytest.mark.parametrize("path", LIST_PATHS)
def test_a_time_range_that_ends_before_it_starts_is_refused(merchant, path):
    query = {"created_from": "2026-02-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"}
    result = _get(merchant, path, query=query)
    assert (result["statusCode"], body_of(result)["error"]["code"]) == (422, "invalid_time")


def _cursor(key) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def test_forged_cursors_are_refused_and_never_read_another_app(five_bills, aws):
    from paygate.apps.admin import create_app

    other, other_key, _ = create_app("other", beecloud=None, beilypay=None)
    mine = f"{five_bills.app_id}#bill"
    theirs_pk = f"BILL#{other.app_id}#LIST00000000"
    forged = [
        {"pk": "", "gsi1pk": mine, "gsi1sk": ""},
        {"pk": 1, "gsi1pk": mine, "gsi1sk": []},
        {"pk": theirs_pk, "gsi1pk": mine, "gsi1sk": "9999999999999#LIST00000000"},
        {"pk": f"BILL#{five_bills.app_id}#LIST00000004", "gsi1pk": mine, "gsi1sk": "zzz"},
        {"pk": f"BILL#{five_bills.app_id}#LIST00000004", "gsi1pk": mine, "gsi1sk": "0000000000000#LIST00000003"},
        {"pk": f"BILL#{five_bills.app_id}#X", "gsi1pk": mine, "gsi1sk": "9999999999999#X", "extra": "1"},
        [1, 2],
        "[" * 700,
    ]
    cursors = [_cursor(key) for key in forged] + ["!!!!", "e30", "x" * 1024]
    for cursor in cursors:
        for auth in (five_bills.auth, f"Bearer {other_key}"):
            result = _get(five_bills, "/bills", query={"cursor": cursor}, auth=auth)
            assert result["statusCode"] == 422, (cursor, result["body"])
            assert body_of(result)["error"]["code"] == "invalid_cursor"


def test_a_cursor_outside_the_time_range_is_refused(five_bills):
    cursor = body_of(_get(five_bills, "/bills", query={"limit": "1"}))["next_cursor"]
    result = _get(five_bills, "/bills", query={"cursor": cursor, "created_to": "2000-01-01T00:00:00Z"})
    assert (result["statusCode"], body_of(result)["error"]["code"]) == (422, "invalid_cursor")
