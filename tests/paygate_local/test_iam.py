"""The local stack refuses what IAM would: each function may call the actions its template role allows."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from paygate_local import _bootstrap, iam
from paygate_local.stack import REPO_ROOT
from paygate_local.template import TemplateError, load_yaml

DOC = load_yaml(REPO_ROOT / "template.yaml")


def test_each_function_gets_its_own_policies_and_the_shared_ones():
    callback = iam.granted_actions(DOC, "CallbackFunction")
    query = iam.granted_actions(DOC, "QueryFunction")

    # the order history's writes, a batch per callback (WriteOrderHistoryPolicy)
    assert {"dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"} <= set(callback)
    assert "events:PutEvents" in callback
    assert "secretsmanager:GetSecretValue" in query
    assert "dynamodb:BatchWriteItem" not in query  # a read-only function writes nothing


def test_transactions_and_sqs_batches_need_the_actions_iam_checks_for_them():
    transaction = {"TransactItems": [{"Put": {}}, {"Update": {}}, {"ConditionCheck": {}}, {"Update": {}}]}

    assert _bootstrap.iam_actions("dynamodb", "TransactWriteItems", transaction) == [
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert _bootstrap.iam_actions("dynamodb", "TransactGetItems", {}) == ["dynamodb:GetItem"]
    assert _bootstrap.iam_actions("sqs", "SendMessageBatch", {}) == ["sqs:SendMessage"]
    assert _bootstrap.iam_actions("states", "StartExecution", {}) == ["states:StartExecution"]
    assert iam.is_allowed("SQS:SendMessage", ["sqs:Send*"])
    assert not iam.is_allowed("sqs:DeleteMessage", ["sqs:Send*"])


def test_a_call_the_role_does_not_allow_is_refused_as_aws_would_and_reported(monkeypatch, capsys):
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", botocore.client.BaseClient._make_api_call)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shop-QueryFunction")
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        _bootstrap._install_iam_check(["dynamodb:GetItem"])

        assert "Item" not in db.get_item(TableName="t", Key={"pk": {"S": "a"}})
        with pytest.raises(ClientError) as refused:
            db.put_item(TableName="t", Item={"pk": {"S": "a"}})

    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "shop-QueryFunction is not authorized to perform: dynamodb:PutItem" in str(refused.value)
    line = capsys.readouterr().out.strip()
    before = len(iam.DENIED)
    try:
        assert iam.record_denied("shop-QueryFunction", line)
        assert iam.DENIED[before:] == [iam.DeniedCall("shop-QueryFunction", "dynamodb:PutItem")]
    finally:
        del iam.DENIED[before:]  # recorded on purpose: not a finding of this session
    assert not iam.record_denied("shop-QueryFunction", "START RequestId: 1")


@pytest.mark.parametrize(
    "policy",
    [
        {"DynamoDBReadPolicy": {"TableName": "t"}},  # a SAM policy template
        "AmazonS3ReadOnlyAccess",  # an AWS managed policy
        {"Ref": "ItemsTable"},  # not a policy
    ],
)
def test_a_policy_the_local_stack_cannot_read_stops_it_rather_than_allow_everything(policy: Any):
    doc = {
        "Resources": {
            "Fn": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [policy]}},
            "ItemsTable": {"Type": "AWS::DynamoDB::Table"},
        }
    }
    with pytest.raises(TemplateError):
        iam.granted_actions(doc, "Fn")
