"""SQS event sources run several batches at once only when the template's ScalingConfig says so."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from paygate_local.sqs_source import SqsEventSource

ARN = "arn:aws:sqs:us-east-1:123456789012:q"


def _source(props, max_workers=4):
    moto = SimpleNamespace(client=lambda service: object(), url="http://127.0.0.1:1")
    pool = SimpleNamespace(max_workers=max_workers, spec=SimpleNamespace(logical_id="Fn", name="fn"))
    return SqsEventSource(moto, pool, ARN, props)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({}, 1),
        ({"ScalingConfig": {"MaximumConcurrency": 2}}, 2),
        ({"ScalingConfig": {"MaximumConcurrency": 20}}, 4),  # bounded by the function's workers
    ],
)
def test_concurrency_follows_scaling_config(props, expected):
    assert _source(props).concurrency == expected


def test_the_dispatcher_sources_declare_their_concurrency():
    from tests.support.template import template

    events = template()["Resources"]["WebhookDispatcherFunction"]["Properties"]["Events"]
    assert {name: e["Properties"]["ScalingConfig"]["MaximumConcurrency"] for name, e in events.items()} == {
        "PaygateEvents": 5,
        "Deliveries": 20,
    }
