"""FaultPlan bookkeeping and FaultMiddleware behaviour over a real server."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from sandbox.common.faults import FaultPlan, alter_field, truncate_json
from tests.sandbox.common.common_support import TIME_SCALE, Running


def test_rule_is_consumed_count_times() -> None:
    plan = FaultPlan()
    plan.add(scope="request", kind="error", count=2)

    assert plan.take("request", "/x") is not None
    assert plan.take("request", "/x") is not None
    assert plan.take("request", "/x") is None
    assert plan.list() == []


def test_path_is_a_prefix_filter_and_none_matches_any() -> None:
    plan = FaultPlan()
    plan.add(scope="request", kind="error", path="/v2/trans")

    assert plan.take("request", "/v2/payment/create") is None
    taken = plan.take("request", "/v2/trans/create")
    assert taken is not None
    assert taken.path == "/v2/trans"


def test_a_path_ending_in_a_dollar_sign_matches_exactly() -> None:
    plan = FaultPlan()
    plan.add(scope="request", kind="latency", path="/1/rest/bill$", count=5)

    assert plan.take("request", "/1/rest/bills") is None  # the query, which the prefix would take
    assert plan.take("request", "/1/rest/bill/x") is None
    assert plan.take("request", "/1/rest/bill") is not None


def test_scope_and_kind_filters() -> None:
    plan = FaultPlan(extra_request_kinds=["rate_limit"])
    plan.add(scope="request", kind="rate_limit")
    plan.add(scope="callback", kind="drop")

    assert plan.take("request", "/a", kinds={"error", "latency"}) is None
    taken = plan.take("request", "/a", kinds={"rate_limit"})
    assert taken is not None
    assert taken.kind == "rate_limit"
    dropped = plan.take("callback", "order-1")
    assert dropped is not None
    assert dropped.kind == "drop"


def test_defaults_per_kind() -> None:
    plan = FaultPlan()
    hang = plan.add(scope="request", kind="hang")
    malformed = plan.add(scope="request", kind="malformed")
    latency = plan.add(scope="request", kind="latency", delay_s=2)
    error = plan.add(scope="request", kind="error")

    assert (hang.delay_s, hang.process) == (30.0, False)
    assert malformed.process is True
    assert (latency.delay_s, latency.process) == (2.0, True)
    assert (error.status, error.process) == (500, False)
    assert len({hang.id, malformed.id, latency.id, error.id}) == 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"scope": "nope", "kind": "error"}, "scope"),
        ({"scope": "request", "kind": "drop"}, "kind"),
        ({"scope": "callback", "kind": "error"}, "kind"),
        ({"scope": "request", "kind": "error", "count": 0}, "count"),
        ({"scope": "request", "kind": "error", "count": True}, "count"),
        ({"scope": "request", "kind": "latency", "delay_s": -1}, "delay_s"),
        ({"scope": "request", "kind": "error", "status": 10006}, "status"),
        ({"scope": "request", "kind": "hang", "process": "yes"}, "process"),
        ({"scope": "request", "kind": "missing_field"}, "field"),
        ({"scope": "request", "kind": "wrong_type", "field": "data..orderNo"}, "field"),
        ({"scope": "request", "kind": "wrong_type", "field": "code", "process": False}, "processes"),
        ({"scope": "request", "kind": "error", "field": "code"}, "field"),
    ],
)
def test_bad_rules_are_rejected(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan().add(**options)  # type: ignore[arg-type]


def test_take_is_thread_safe() -> None:
    plan = FaultPlan()
    plan.add(scope="request", kind="error", count=500)
    taken: list[object] = []

    def worker() -> None:
        for _ in range(200):
            if plan.take("request", "/p") is not None:
                taken.append(1)

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(taken) == 500


def test_truncated_json_never_parses() -> None:
    for body in [b"", b"{}", b'{"a":1}', json.dumps({"code": 200, "data": {"x": "y" * 50}}).encode()]:
        with pytest.raises(json.JSONDecodeError):
            json.loads(truncate_json(body))


def test_no_fault_passes_through(mini: Running) -> None:
    response = mini.client.post("/api/echo", json={"n": 1})

    assert response.status_code == 200
    assert response.json()["echo"] == {"n": 1}


def test_latency_delays_then_processes(mini: Running) -> None:
    mini.emulator.plan.add(scope="request", kind="latency", delay_s=30)  # 0.3 s scaled

    started = time.monotonic()
    response = mini.client.post("/api/echo", json={"n": 1})

    assert time.monotonic() - started >= 30 * TIME_SCALE
    assert response.status_code == 200
    assert mini.emulator.processed == [{"n": 1}]


def test_error_answers_status_without_processing(mini: Running) -> None:
    mini.emulator.plan.add(scope="request", kind="error", status=503)

    response = mini.client.post("/api/echo", json={"n": 1})

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/plain")
    assert mini.emulator.processed == []
    assert mini.client.post("/api/echo", json={"n": 2}).status_code == 200


def test_hang_times_the_client_out_without_processing(mini: Running) -> None:
    mini.emulator.plan.add(scope="request", kind="hang", delay_s=100)  # 1 s scaled

    with pytest.raises(httpx.ReadTimeout):
        mini.client.post("/api/echo", json={"n": 1}, timeout=0.2)

    assert mini.emulator.processed == []


def test_hang_with_process_does_the_work_and_loses_the_answer(mini: Running) -> None:
    mini.emulator.plan.add(scope="request", kind="hang", delay_s=100, process=True)

    with pytest.raises(httpx.ReadTimeout):
        mini.client.post("/api/echo", json={"n": 7}, timeout=0.2)

    assert mini.emulator.processed == [{"n": 7}]


def test_malformed_processes_and_returns_broken_json(mini: Running) -> None:
    mini.emulator.plan.add(scope="request", kind="malformed")

    response = mini.client.post("/api/echo", json={"n": 3})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert mini.emulator.processed == [{"n": 3}]


def test_malformed_without_process_skips_the_work(mini: Running) -> None:
    mini.emulator.plan.add(scope="request", kind="malformed", process=False)

    response = mini.client.post("/api/echo", json={"n": 3})

    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert mini.emulator.processed == []


def test_control_paths_are_never_faulted(mini: Running) -> None:
    mini.emulator.plan.add(scope="request", kind="error")

    assert mini.client.get("/_sandbox/health").json() == {"ok": True}
    assert mini.client.post("/api/echo", json={}).status_code == 500


def test_path_scoped_fault_spares_other_paths(mini: Running) -> None:
    mini.emulator.plan.add(scope="request", kind="error", path="/api/other")

    assert mini.client.post("/api/echo", json={}).status_code == 200
    assert len(mini.emulator.plan.list()) == 1


ANSWER = {"code": 200, "msg": "ok", "data": {"orderNo": "P1", "payAmount": 500, "ok": True, "sign": "AB"}}
BILLS = {"result_code": 0, "bills": [{"bill_no": "b1", "spay_result": True}, {"bill_no": "b2", "spay_result": False}]}


@pytest.mark.parametrize(
    ("body", "field", "remove", "expected"),
    [
        (ANSWER, "data.orderNo", True, {**ANSWER, "data": {"payAmount": 500, "ok": True, "sign": "AB"}}),
        (ANSWER, "data.payAmount", False, {**ANSWER, "data": {**ANSWER["data"], "payAmount": [500]}}),
        (ANSWER, "data.ok", False, {**ANSWER, "data": {**ANSWER["data"], "ok": [True]}}),
        (ANSWER, "data", False, {**ANSWER, "data": [ANSWER["data"]]}),
        (ANSWER, "code", True, {"msg": "ok", "data": ANSWER["data"]}),
        (BILLS, "bills", False, {**BILLS, "bills": {"items": BILLS["bills"]}}),
        (
            BILLS,
            "bills.*.spay_result",
            False,
            {**BILLS, "bills": [{"bill_no": "b1", "spay_result": [True]}, {"bill_no": "b2", "spay_result": [False]}]},
        ),
        (BILLS, "bills.*.bill_no", True, {**BILLS, "bills": [{"spay_result": True}, {"spay_result": False}]}),
        (ANSWER, "data.sign,data.orderNo", True, {**ANSWER, "data": {"payAmount": 500, "ok": True}}),
    ],
)
def test_alter_field_removes_or_retypes_one_field_and_keeps_valid_json(
    body: dict[str, object], field: str, remove: bool, expected: dict[str, object]
) -> None:
    assert json.loads(alter_field(json.dumps(body).encode(), field, remove=remove)) == expected


def test_alter_field_leaves_other_answers_alone() -> None:
    error_answer = json.dumps({"code": 10003, "msg": "orderNo not exist", "data": None}).encode()
    assert alter_field(error_answer, "data.orderNo", remove=True) == error_answer
    assert alter_field(b"not json", "data", remove=False) == b"not json"


@pytest.mark.parametrize(("kind", "expected"), [("missing_field", None), ("wrong_type", [{"n": 5}])])
def test_field_faults_process_the_request_and_alter_the_answer(mini: Running, kind: str, expected: object) -> None:
    mini.emulator.plan.add(scope="request", kind=kind, field="echo")

    response = mini.client.post("/api/echo", json={"n": 5})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    body = response.json()  # still valid JSON
    assert body.get("echo") == expected
    assert body["code"] == 200
    assert body["padding"] == "x" * 40
    assert mini.emulator.processed == [{"n": 5}]
    assert mini.client.post("/api/echo", json={"n": 6}).json()["echo"] == {"n": 6}  # one use


def test_field_fault_rule_over_the_control_api(mini: Running) -> None:
    created = mini.client.post(
        "/_sandbox/faults", json={"scope": "request", "kind": "wrong_type", "field": "code", "path": "/api"}
    )

    assert created.status_code == 201, created.text
    assert created.json()["field"] == "code"
    assert mini.client.post("/api/echo", json={}).json()["code"] == [200]
    refused = mini.client.post("/_sandbox/faults", json={"scope": "request", "kind": "missing_field"})
    assert refused.status_code == 400
    assert "field" in refused.json()["error"]
