"""Fuzz: hostile forms, query strings, cookies and path values at every console route, signed in or not.

Never a 5xx, never a stack trace or the session token in a page, always the console's headers.
"""

from __future__ import annotations

import base64
import re
import uuid
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.functions import api_event, invoke, result_headers

ROUTES = [
    ("GET", "/console/login"), ("POST", "/console/login"), ("POST", "/console/logout"), ("GET", "/console"),
    ("GET", "/console/bills"), ("GET", "/console/bills/{bill_no}"), ("POST", "/console/bills/{bill_no}/refund"),
    ("POST", "/console/bills/{bill_no}/refresh"), ("GET", "/console/webhooks"),
    ("POST", "/console/events/{event_id}/resend"), ("GET", "/console/audit"), ("GET", "/console/assets/{name}"),
    ("GET", "/console/payouts"), ("GET", "/console/payouts/{out_order_no}"), ("GET", "/console/collections"),
    ("GET", "/console/collections/{out_order_no}"), ("POST", "/console/webhooks"),
    ("POST", "/console/webhooks/{endpoint_id}/delete"), ("POST", "/console/webhooks/{endpoint_id}/rotate-secret"),
    ("GET", "/console/reconciliation"), ("GET", "/console/reconciliation/{run}"),
    ("GET", "/console/reconciliation/{run}/csv"),
]  # fmt: skip

nasty_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "%", "%zz", "\x00", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --",
                     "9" * 400, "ｆｕｌｌｗｉｄｔｈ", "\ud7ff", "a=b&c", "=", "&&&"]),
)  # fmt: skip
form_fields = st.dictionaries(
    st.sampled_from(
        [
            "csrf",
            "email",
            "password",
            "amount",
            "confirm",
            "refund_no",
            "endpoint_id",
            "url",
            "event_types",
            "description",
            "x",
        ]
    ),
    nasty_text,
    max_size=6,
)


def test_the_fuzzed_routes_are_the_templates(aws):
    from tests.support.template import template

    events = template()["Resources"]["ConsoleFunction"]["Properties"]["Events"].values()
    assert {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events if e["Type"] == "Api"} == set(ROUTES)


@pytest.fixture
def signed_in(merchant, aws) -> str:
    from paygate.console.users import Role
    from paygate.deps import console_users

    email = f"fuzz-{uuid.uuid4().hex[:8]}@shop.example"
    console_users().create(merchant.app_id, email, Role.OPERATOR, "correct horse battery staple")
    event = api_event("POST", "/console/login", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                         "Sec-Fetch-Site": "same-origin"})  # fmt: skip
    event["body"] = f"email={quote(email)}&password=correct+horse+battery+staple"
    result = invoke("console", event)
    [cookie] = result["multiValueHeaders"]["Set-Cookie"]
    return str(cookie.split(";")[0].split("=", 1)[1])


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_hostile_request_gets_a_5xx_or_leaks(merchant, aws, signed_in, data):
    from tests.support.functions import load_function

    load_function("console").sign_in_attempts.clear()
    method, resource = data.draw(st.sampled_from(ROUTES), label="route")
    values = {name: data.draw(nasty_text.filter(lambda v: "/" not in v and v), label=name)
              for name in re.findall(r"{(\w+)}", resource)}  # fmt: skip
    path = resource.format(**{name: quote(value, safe="") for name, value in values.items()})
    cookie = data.draw(st.one_of(st.just(signed_in), nasty_text, st.none()), label="cookie")
    headers = {
        "Content-Type": data.draw(st.sampled_from(["application/x-www-form-urlencoded", "application/json", "",
                                                   "multipart/form-data; boundary=x"]), label="type"),
        "Sec-Fetch-Site": data.draw(st.sampled_from(["same-origin", "cross-site", "none", "same-site"]), label="site"),
        "Accept-Language": data.draw(nasty_text, label="language"),
    }  # fmt: skip
    if cookie is not None:
        headers["Cookie"] = f"paygate_console={cookie}; other={data.draw(nasty_text, label='other')}"
    event = api_event(method, path, resource=resource, headers=headers, path_params=values or None,
                      query=data.draw(st.dictionaries(st.sampled_from(["status", "channel", "from", "to", "q", "cursor",
                                                                       "before", "done", "refund_no", "resent", "m"]),
                                                      nasty_text, max_size=4), label="query") or None)  # fmt: skip
    fields = data.draw(form_fields, label="form")
    raw = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in fields.items())
    if data.draw(st.booleans(), label="base64"):
        event.update(body=base64.b64encode(raw.encode()).decode(), isBase64Encoded=True)
    else:
        event.update(body=raw, isBase64Encoded=False)

    result = invoke("console", event)

    assert result["statusCode"] < 500, (method, path, result["statusCode"], str(result["body"])[:300])
    headers_out = result_headers(result)
    assert headers_out.get("X-Content-Type-Options") == "nosniff"
    if result["statusCode"] != 200 or not resource.startswith("/console/assets/"):
        assert "frame-ancestors 'none'" in headers_out.get("Content-Security-Policy", "")
    assert "Traceback" not in str(result["body"])
    assert signed_in not in str(result["body"])
