"""The AWS side: tables in DynamoDB Local, Lambda Invoke on moto's port, EventBridge, Step Functions."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest

from tests.paygate_local.helpers import aws_client, eventually


def publish(stack, detail_type: str, detail: dict) -> None:
    response = httpx.post(
        stack.info.api_url + "/publish", json={"detail_type": detail_type, "detail": detail}, timeout=30
    )
    assert response.json() == {"failed": 0}


def test_tables_are_created_with_their_gsi_and_ttl(fixture_stack):
    ddb = aws_client("dynamodb", fixture_stack.info.dynamodb_url)

    table = ddb.describe_table(TableName="plt-fixture-ItemsTable")["Table"]
    ttl = ddb.describe_time_to_live(TableName="plt-fixture-ItemsTable")["TimeToLiveDescription"]

    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-group"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


def test_a_handler_writes_to_dynamodb_local_through_the_default_endpoint(fixture_stack):
    pk = f"item#{uuid.uuid4()}"

    response = httpx.post(fixture_stack.info.api_url + "/items", json={"pk": pk, "n": 1}, timeout=30)

    assert response.status_code == 201
    stored = aws_client("dynamodb", fixture_stack.info.dynamodb_url).get_item(
        TableName="plt-fixture-ItemsTable", Key={"pk": {"S": pk}}
    )
    assert stored["Item"]["n"] == {"N": "1"}


@pytest.mark.parametrize(
    "name",
    ["plt-fixture-TaskFunction", "arn:aws:lambda:us-east-1:123456789012:function:plt-fixture-TaskFunction"],
)
def test_lambda_invoke_api_on_the_moto_port_runs_the_real_handler(fixture_stack, name):
    lam = aws_client("lambda", fixture_stack.info.moto_url)

    response = lam.invoke(FunctionName=name, Payload=json.dumps({"n": 21}))

    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["n"] == 42


def test_lambda_invoke_reports_handler_errors_and_unknown_functions(fixture_stack):
    lam = aws_client("lambda", fixture_stack.info.moto_url)

    failed = lam.invoke(FunctionName="plt-fixture-BadFunction", Payload=json.dumps({"mode": "raise"}))

    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read()) | {"stackTrace": None} == {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "stackTrace": None,
    }
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")


def test_everything_published_on_the_bus_can_be_read_back(fixture_stack):
    item_id = str(uuid.uuid4())

    publish(fixture_stack, "item.noticed", {"item_id": item_id})

    def find() -> list:
        events = httpx.get(fixture_stack.info.events_url, params={"detail_type": "item.noticed"}).json()
        return [e for e in events if e["detail"]["item_id"] == item_id]

    (event,) = eventually(find)
    assert event["source"] == "fixture"
    assert event["account"] == "123456789012"
    assert set(event) >= {"id", "detail-type", "source", "time", "region", "resources", "detail", "version"}


def test_a_rule_with_a_lambda_target_reaches_the_handler_through_the_bridge(fixture_stack):
    item_id = str(uuid.uuid4())
    ddb = aws_client("dynamodb", fixture_stack.info.dynamodb_url)

    publish(fixture_stack, "item.created", {"item_id": item_id})

    def consumed() -> dict:
        key = {"pk": {"S": f"consumed#{item_id}"}}
        return ddb.get_item(TableName="plt-fixture-ItemsTable", Key=key).get("Item", {})

    item = eventually(consumed)
    event = json.loads(item["event"]["S"])
    assert item["function"]["S"] == "plt-fixture-ConsumerFunction"
    assert (event["detail-type"], event["detail"]) == ("item.created", {"item_id": item_id})


def test_a_rule_with_an_sqs_target_delivers_as_declared(fixture_stack):
    item_id = str(uuid.uuid4())
    sqs = aws_client("sqs", fixture_stack.info.moto_url)
    url = sqs.get_queue_url(QueueName="plt-fixture-AuditQueue")["QueueUrl"]

    publish(fixture_stack, "item.created", {"item_id": item_id})

    def received() -> list:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages if item_id in m["Body"]]

    (event,) = eventually(received)
    assert event["account"] == "123456789012"  # AWS's envelope, which moto's default template lacks
    assert (event["detail-type"], event["detail"]) == ("item.created", {"item_id": item_id})


def test_a_state_machine_runs_its_lambda_tasks_through_the_invoke_seam(fixture_stack):
    """Fails loudly if moto's interpreter stops calling MOTO_PORT's Invoke path."""
    sfn = aws_client("stepfunctions", fixture_stack.info.moto_url)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:plt-fixture-DoubleStateMachine"

    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"n": 5}))

    def finished() -> dict | None:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        return described if described["status"] != "RUNNING" else None

    described = eventually(finished)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["n"] == 20  # doubled by the direct-ARN task, then by the lambda:invoke task
    assert output["function"] == "plt-fixture-TaskFunction"
    assert 0 < output["remaining_ms"] <= 6000


def test_a_rule_with_a_state_machine_target_starts_an_execution(fixture_stack):
    sfn = aws_client("stepfunctions", fixture_stack.info.moto_url)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:plt-fixture-DoubleStateMachine"
    marker = 1000 + uuid.uuid4().int % 1000

    publish(fixture_stack, "item.flow", {"n": marker})

    def succeeded() -> list:
        runs = sfn.list_executions(stateMachineArn=arn, statusFilter="SUCCEEDED")["executions"]
        outputs = [json.loads(sfn.describe_execution(executionArn=r["executionArn"])["output"]) for r in runs]
        return [o for o in outputs if o["n"] == marker * 4]  # InputPath $.detail, then two doublings

    assert eventually(succeeded)


def test_an_sqs_event_source_redelivers_reported_failures_until_the_dead_letter_queue(fixture_stack):
    sqs = aws_client("sqs", fixture_stack.info.moto_url)
    ddb = aws_client("dynamodb", fixture_stack.info.dynamodb_url)
    url = sqs.get_queue_url(QueueName="plt-fixture-WorkQueue")["QueueUrl"]
    ok, failing = str(uuid.uuid4()), str(uuid.uuid4())

    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"item_id": ok}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"item_id": failing, "fail": True}))

    def deliveries(item_id: str) -> int:
        item = ddb.get_item(TableName="plt-fixture-ItemsTable", Key={"pk": {"S": f"sqs#{item_id}"}}).get("Item")
        return int(item["deliveries"]["N"]) if item else 0

    eventually(lambda: deliveries(failing) >= 2)  # redelivered after the 1 s visibility timeout
    assert deliveries(ok) == 1
    dlq = sqs.get_queue_url(QueueName="plt-fixture-WorkDeadLetterQueue")["QueueUrl"]

    def dead_lettered() -> list:
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        return [m for m in messages if failing in m["Body"]]

    assert eventually(dead_lettered)  # maxReceiveCount 2, then the dead-letter queue


def test_mock_aws_in_the_test_process_leaves_the_stack_alone(fixture_stack):
    """moto runs in its own process: a unit test's mock_aws (which resets moto) cannot reach it."""
    from moto import mock_aws

    with mock_aws():
        pass

    lam = aws_client("lambda", fixture_stack.info.moto_url)
    assert (
        json.loads(lam.invoke(FunctionName="plt-fixture-TaskFunction", Payload=b'{"n": 1}')["Payload"].read())["n"] == 2
    )
    sqs = aws_client("sqs", fixture_stack.info.moto_url)
    assert sqs.get_queue_url(QueueName="plt-fixture-AuditQueue")["QueueUrl"]


def test_lambda_invoke_requests_are_logged_without_their_query_strings(fixture_stack, caplog):
    caplog.set_level(logging.DEBUG, logger="paygate_local")
    url = f"{fixture_stack.info.moto_url}/2015-03-31/functions/plt-fixture-TaskFunction/invocations"

    response = httpx.post(url, params={"token": "query-secret"}, content=b'{"n": 1}', timeout=30)

    assert response.json()["n"] == 2
    logged = [record.getMessage() for record in caplog.records if record.name.startswith("paygate_local")]
    assert "POST /2015-03-31/functions/plt-fixture-TaskFunction/invocations 200" in logged
    assert not [line for line in logged if "query-secret" in line]
