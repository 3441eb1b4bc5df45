"""template.yaml resolution: parameters, conditions, intrinsics, Globals, names and ARNs."""

from __future__ import annotations

from pathlib import Path

import pytest

from paygate_local.template import TemplateError, resolve_template
from tests.paygate_local.helpers import FIXTURE_TEMPLATE

REPO = Path(__file__).resolve().parents[2]


def resolve(**overrides: str):
    return resolve_template(
        FIXTURE_TEMPLATE, name_prefix="t", parameter_overrides=overrides, moto_url="http://127.0.0.1:1"
    )


def test_globals_environment_is_resolved_and_merged_under_the_function_own():
    tpl = resolve()

    echo, other = tpl.functions["EchoFunction"].environment, tpl.functions["OtherFunction"].environment

    assert echo["GREETING"] == "hello"
    assert other["GREETING"] == "overridden"
    assert other["ONLY_OTHER"] == "yes"
    assert other["ROLE_ARN"] == "arn:aws:iam::123456789012:role/t-OtherFunctionRole"
    assert "ONLY_OTHER" not in echo
    assert echo["TABLE_NAME"] == "t-ItemsTable"
    assert echo["TABLE_ARN"] == "arn:aws:dynamodb:us-east-1:123456789012:table/t-ItemsTable"


def test_sub_join_select_and_getatt_in_sub():
    env = resolve().functions["EchoFunction"].environment

    bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/fixture-test"
    assert env["SUBBED"] == f"stage=test region=us-east-1 table=t-ItemsTable arn={bus_arn}"
    assert env["JOINED"] == "test|b|123456789012"


def test_parameter_overrides_and_conditions_with_no_value():
    assert "OPTIONAL" not in resolve().functions["EchoFunction"].environment

    env = resolve(OptionalValue="set", Stage="qa").functions["EchoFunction"].environment

    assert env["OPTIONAL"] == "set"
    assert env["SUBBED"].startswith("stage=qa ")


def test_function_properties_from_globals_and_own():
    tpl = resolve()
    echo, bad, other = (tpl.functions[n] for n in ("EchoFunction", "BadFunction", "OtherFunction"))

    assert (echo.timeout, echo.memory_size, echo.handler) == (6, 256, "app.lambda_handler")
    assert (bad.timeout, other.memory_size) == (1, 128)
    assert echo.code_dir == FIXTURE_TEMPLATE.parent / "functions" / "echo"
    assert echo.layer_dirs == [FIXTURE_TEMPLATE.parent / "layer" / "python"]
    assert echo.name == "t-EchoFunction"
    assert echo.arn == "arn:aws:lambda:us-east-1:123456789012:function:t-EchoFunction"


def test_api_routes_collected_from_api_events():
    routes = {(r.method, r.path, r.function) for r in resolve().routes()}

    assert ("GET", "/items/{item_id}", "EchoFunction") in routes
    assert ("ANY", "/proxy/{proxy+}", "EchoFunction") in routes
    assert ("POST", "/items", "WriterFunction") in routes


def test_resources_get_local_names_refs_and_state_machine_substitutions():
    tpl = resolve()

    rule = tpl.resources["ItemCreatedRule"].properties
    flow = tpl.resources["ItemFlowRule"].properties
    machine = tpl.resources["DoubleStateMachine"]

    assert tpl.resources["Bus"].name == "fixture-test"
    assert rule["EventBusName"] == "fixture-test"
    assert rule["Targets"][0]["Arn"] == "arn:aws:lambda:us-east-1:123456789012:function:t-ConsumerFunction"
    assert rule["Targets"][1]["Arn"] == "arn:aws:sqs:us-east-1:123456789012:t-AuditQueue"
    assert flow["Targets"][0]["Arn"] == "arn:aws:states:us-east-1:123456789012:stateMachine:t-DoubleStateMachine"
    assert machine.properties["DefinitionSubstitutions"]["TaskFunctionName"] == "t-TaskFunction"
    assert tpl.resources["EchoLogGroup"].name == "/aws/lambda/t-EchoFunction"
    assert tpl.resources["Unmodelled"].type == "AWS::CloudWatch::Alarm"  # kept, never provisioned


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources: [1, 2]\n", "no Resources mapping"),
        ("Resources:\n  X:\n    Type: AWS::SQS::Queue\n    Properties:\n      Q: !Ref Nope\n", "Nope"),
        ("Resources:\n  X:\n    Properties: {}\n", "has no Type"),
        ("Resources:\n  X: {Type: AWS::SQS::Queue, Properties: {A: !ImportValue x}}\n", "not supported"),
        ("Resources: {X: [\n", "while parsing"),
    ],
)
def test_malformed_templates_fail_loudly(tmp_path, text, message):
    path = tmp_path / "template.yaml"
    path.write_text(text)

    with pytest.raises(TemplateError, match=message):
        resolve_template(path)


def test_the_project_template_resolves():
    tpl = resolve_template(REPO / "template.yaml")

    assert tpl.functions, "template.yaml declares functions"
    for fn in tpl.functions.values():
        assert fn.code_dir.is_dir()
        assert all(d.is_dir() for d in fn.layer_dirs)
