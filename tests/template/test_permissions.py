"""What template.yaml grants and keeps: one definition per shared permission, no `*` where a
resource can be named, a log group with a retention for every function, alarms that notify."""

from __future__ import annotations

from typing import Any

from tests.support.template import template

# Actions IAM cannot scope to a resource (the service has no resource-level permissions for them).
UNSCOPABLE = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "cloudwatch:PutMetricData"}


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def statements() -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement the template writes itself: managed policies and inline function policies."""
    found = []
    for name, policy in resources("AWS::IAM::ManagedPolicy").items():
        found += [(name, st) for st in policy["Properties"]["PolicyDocument"]["Statement"]]
    for name, function in resources("AWS::Serverless::Function").items():
        for policy in function["Properties"].get("Policies", []):
            if isinstance(policy, dict) and "Statement" in policy:
                found += [(name, st) for st in policy["Statement"]]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_statement_grants_a_wildcard_resource_a_named_one_would_do():
    wide = [
        (owner, st["Action"])
        for owner, st in statements()
        if "*" in as_list(st["Resource"]) and not set(as_list(st["Action"])) <= UNSCOPABLE
    ]

    assert wide == []


def test_the_permissions_most_functions_need_are_each_written_once():
    """Publishing events, reading apps and the merchants' secrets, recording created orders: one managed policy each."""
    shared = {
        "PublishEventsPolicy": lambda st: "events:PutEvents" in as_list(st["Action"]),
        "ReadAppsPolicy": lambda st: (
            st["Resource"] == {"Fn::GetAtt": "AppsTable.Arn"} and as_list(st["Action"]) == ["dynamodb:GetItem"]
        ),
        "ReadAppSecretsPolicy": lambda st: (
            "secretsmanager:GetSecretValue" in as_list(st["Action"]) and "/apps/" in str(st["Resource"])
        ),
        "CreateOrdersPolicy": lambda st: st["Resource"] == {"Fn::GetAtt": "IdempotencyTable.Arn"},
        "WriteOrderHistoryPolicy": lambda st: (
            st["Resource"] == {"Fn::GetAtt": "OrderHistoryTable.Arn"} and "dynamodb:PutItem" in as_list(st["Action"])
        ),
    }

    for policy, grants in shared.items():
        assert [owner for owner, st in statements() if grants(st)] == [policy]


def test_the_shared_policies_are_attached_where_they_are_needed():
    attached = {
        name: {p["Ref"] for p in f["Properties"].get("Policies", []) if isinstance(p, dict) and "Ref" in p}
        for name, f in resources("AWS::Serverless::Function").items()
    }
    merchant_api = {"CreateBillFunction", "RefundFunction", "QueryFunction", "PayoutFunction", "CollectFunction"}
    settling = {"CallbackFunction", "PollPendingFunction", "BillFollowUpFunction", "ReconcileFunction"}

    assert all({"ReadAppsPolicy", "ReadAppSecretsPolicy"} <= attached[name] for name in merchant_api)
    assert all("PublishEventsPolicy" in attached[name] for name in merchant_api - {"QueryFunction"} | settling)
    # Checkout creates its sessions' bills; the console, the refunds its operators make.
    creates = merchant_api - {"QueryFunction"} | {"CheckoutFunction", "ConsoleFunction"}
    assert {"ReadAppsPolicy", "ReadAppSecretsPolicy", "PublishEventsPolicy"} <= attached["CheckoutFunction"]
    assert [name for name in attached if "CreateOrdersPolicy" in attached[name]] == sorted(
        creates, key=list(attached).index
    )
    assert attached["WebhookDispatcherFunction"] == set()  # it reads no merchant secret and publishes nothing
    # An order's event is recorded in its history where it is published, and so are its status changes.
    writes_history = [name for name in attached if "WriteOrderHistoryPolicy" in attached[name]]
    assert writes_history == [name for name in attached if "PublishEventsPolicy" in attached[name]]
    assert settling | creates <= set(writes_history)


def test_the_order_history_is_written_by_one_policy_read_by_the_console_only_and_kept():
    on_history = [
        (owner, set(as_list(st["Action"])))
        for owner, st in statements()
        if st["Resource"] == {"Fn::GetAtt": "OrderHistoryTable.Arn"}
    ]

    assert on_history == [
        ("WriteOrderHistoryPolicy", {"dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"}),
        ("ConsoleFunction", {"dynamodb:Query"}),
    ]
    table = template()["Resources"]["OrderHistoryTable"]
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert template()["Globals"]["Function"]["Environment"]["Variables"]["ORDER_HISTORY_TABLE"] == {
        "Ref": "OrderHistoryTable"
    }


def test_every_function_has_its_log_group_with_a_retention():
    groups = {
        group["Properties"]["LogGroupName"]["Fn::Sub"]: group["Properties"].get("RetentionInDays")
        for group in resources("AWS::Logs::LogGroup").values()
    }

    for name in resources("AWS::Serverless::Function"):
        assert f"/aws/lambda/${{{name}}}" in groups, name
        assert groups[f"/aws/lambda/${{{name}}}"] == {"Ref": "LogRetentionDays"}, name


def test_every_alarm_notifies_the_alarm_topic_when_there_is_one():
    alarms = resources("AWS::CloudWatch::Alarm")
    expected = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}

    assert {"CallbackErrorsAlarm", "PollPendingErrorsAlarm", "PollPendingUnresolvedAlarm"} <= set(alarms)
    for name, alarm in alarms.items():
        assert alarm["Properties"].get("AlarmActions") == expected, name
        assert alarm["Properties"].get("OKActions") == expected, name


def test_the_example_subscriber_exists_only_when_asked_for():
    example = {name: r for name, r in template()["Resources"].items() if name.startswith("ExamplePayoutEvents")}

    assert len(example) == 3
    assert {r.get("Condition") for r in example.values()} == {"CreateExampleSubscriber"}
    assert template()["Parameters"]["ExampleSubscriber"]["Default"] == "false"
