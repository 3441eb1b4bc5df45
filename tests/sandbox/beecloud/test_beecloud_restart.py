"""A crash and restart of the BeeCloud emulator that keeps its state (RunningServer.crash)."""

from __future__ import annotations

from sandbox.common.server import serve_in_thread
from tests.sandbox.beecloud.beecloud_support import APP_ID, MakeSandbox, fresh_connection_client


def test_a_crash_keeps_bills_and_the_restart_resends_webhooks_in_flight(make_sandbox: MakeSandbox) -> None:
    box = make_sandbox()
    box.paid_bill(bill_no="rst00001")  # delivered before the crash
    box.client.post(
        "/_sandbox/faults", json={"scope": "callback", "kind": "delay", "delay_s": 100_000, "path": f"{APP_ID}/PAY/"}
    )
    box.paid_bill(bill_no="rst00002")  # its webhook waits (1000 s scaled) when the server dies
    assert len(box.webhooks(1)) == 1

    box.server.crash()
    restarted = serve_in_thread(box.server.app, port=box.server.port)
    try:
        with fresh_connection_client(restarted.url) as client:
            assert client.get(f"/_sandbox/bills/{APP_ID}/rst00001").json()["paid"] is True
            assert client.get(f"/_sandbox/bills/{APP_ID}/rst00002").json()["paid"] is True
        webhooks = box.webhooks(2)
        assert [w["transaction_id"] for w in webhooks] == ["rst00001", "rst00002"]
        resent = [a for a in box.attempts(f"{APP_ID}/PAY/rst00002") if a["acked"]]
        assert resent[0]["fault"] is None  # the resumed delivery, not the delayed one
    finally:
        restarted.stop()
