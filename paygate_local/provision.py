"""Creating the template's moto resources: queues, secrets, parameters, state machines, rules."""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

from paygate_local.eventbridge_bridge import EventBridge, rules_from_template
from paygate_local.moto_server import MotoServer
from paygate_local.template import ACCOUNT_ID, ResolvedTemplate, ResourceSpec

log = logging.getLogger(__name__)

STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")
_RULE_EVENT_TYPES = {"EventBridgeRule", "CloudWatchEvent", "Schedule", "ScheduleV2"}
MODELLED = {
    "AWS::Serverless::Function",
    "AWS::Serverless::Api",
    "AWS::Serverless::LayerVersion",
    "AWS::DynamoDB::Table",
    "AWS::Serverless::SimpleTable",
    "AWS::SQS::Queue",
    "AWS::Events::Rule",
    "AWS::Events::EventBus",
    "AWS::SecretsManager::Secret",
    "AWS::SSM::Parameter",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlanKey",
    *STATE_MACHINE_TYPES,
}


def create_queues(moto: MotoServer, tpl: ResolvedTemplate) -> None:
    """Queues first, redrive policies second: a dead-letter queue may come later in the template."""
    sqs = moto.client("sqs")
    redrives: dict[str, str] = {}
    for queue in tpl.of_type("AWS::SQS::Queue"):
        attributes = _queue_attributes(queue.properties)
        if "RedrivePolicy" in attributes:
            redrives[queue.name] = attributes.pop("RedrivePolicy")
        sqs.create_queue(QueueName=queue.name, Attributes=attributes)
    for name, policy in redrives.items():
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})


def create_secrets(moto: MotoServer, tpl: ResolvedTemplate) -> None:
    """Secrets Manager secrets (unless restored already) and SSM parameters of the template."""
    sm = moto.client("secretsmanager")
    existing = {s["Name"] for page in sm.get_paginator("list_secrets").paginate() for s in page["SecretList"]}
    for secret in tpl.of_type("AWS::SecretsManager::Secret"):
        if secret.name in existing:
            continue
        props = secret.properties
        value = props.get("SecretString")
        generate = props.get("GenerateSecretString")
        if value is None and isinstance(generate, dict):
            length = int(generate.get("PasswordLength", 32))
            random = secrets.token_urlsafe(length)[:length]
            key = generate.get("GenerateStringKey")
            template = json.loads(generate.get("SecretStringTemplate") or "{}")
            value = json.dumps({**template, key: random}) if key else random
        sm.create_secret(Name=secret.name, SecretString=str(value or secrets.token_urlsafe(24)))
    ssm = moto.client("ssm")
    for param in tpl.of_type("AWS::SSM::Parameter"):
        ssm.put_parameter(
            Name=param.name,
            Value=str(param.properties["Value"]),
            Type=str(param.properties.get("Type", "String")),
            Overwrite=True,
        )


def create_state_machines(moto: MotoServer, tpl: ResolvedTemplate) -> None:
    sfn = moto.client("stepfunctions")
    for machine in tpl.of_type(*STATE_MACHINE_TYPES):
        role = machine.properties.get("Role") or machine.properties.get("RoleArn")
        sfn.create_state_machine(
            name=machine.name,
            definition=_definition(tpl.path.parent, machine),
            roleArn=str(role or f"arn:aws:iam::{ACCOUNT_ID}:role/paygate-local-states"),
            type=str(machine.properties.get("Type", "STANDARD")),
        )


def create_buses_and_rules(bridge: EventBridge, tpl: ResolvedTemplate, prefix: str) -> None:
    """Buses (plus the event log on each) and rules from resources and SAM events."""
    buses = ["default"] + [bus.name for bus in tpl.of_type("AWS::Events::EventBus")]
    for bus in buses:
        bridge.create_bus(bus)
    bridge.start_event_log(buses)
    sam_events = [
        (owner.arn, event_id, event)
        for owner, events in _event_owners(tpl)
        for event_id, event in events.items()
        if event.get("Type") in _RULE_EVENT_TYPES
    ]
    rule_resources = [(r.name, r.properties) for r in tpl.of_type("AWS::Events::Rule")]
    for rule in rules_from_template(rule_resources, sam_events, prefix):
        bridge.create_rule(rule)


def create_usage_plans(moto: MotoServer, tpl: ResolvedTemplate, restored: dict[str, list[str]]) -> dict[str, str]:
    """Usage plans, API keys and their links; returns {plan logical id: plan id}.

    `restored`: API key ids a data directory brought back, by the name of the plan that held them.
    A template key whose value already exists (restored) is reused, not created twice.
    """
    apigateway = moto.client("apigateway")
    plans: dict[str, str] = {}
    for plan in tpl.of_type("AWS::ApiGateway::UsagePlan"):
        props = plan.properties
        throttle = props.get("Throttle") or {}
        created = apigateway.create_usage_plan(
            name=str(props.get("UsagePlanName", plan.name)),
            throttle={
                "rateLimit": float(throttle.get("RateLimit", 10_000)),
                "burstLimit": int(throttle.get("BurstLimit", 5_000)),
            },
        )
        plans[plan.logical_id] = created["id"]
        for key_id in restored.get(created["name"], []):
            apigateway.create_usage_plan_key(usagePlanId=created["id"], keyId=key_id, keyType="API_KEY")
    existing = {k["value"]: k["id"] for k in apigateway.get_api_keys(includeValues=True).get("items", [])}
    keys: dict[str, str] = {}
    for key in tpl.of_type("AWS::ApiGateway::ApiKey"):
        props = key.properties
        value = str(props.get("Value") or secrets.token_hex(20))
        if value in existing:
            keys[key.name] = existing[value]
            continue
        keys[key.name] = apigateway.create_api_key(
            name=str(props.get("Name", key.name)), value=value, enabled=bool(props.get("Enabled", False))
        )["id"]
    by_name = {tpl.resources[logical_id].name: plan_id for logical_id, plan_id in plans.items()}
    for link in tpl.of_type("AWS::ApiGateway::UsagePlanKey"):
        props = link.properties
        target_plan, target_key = by_name.get(str(props["UsagePlanId"])), keys.get(str(props["KeyId"]))
        if target_plan is None or target_key is None:
            log.warning("usage plan key %s names an unknown plan or key", link.logical_id)
            continue
        linked = {k["id"] for k in apigateway.get_usage_plan_keys(usagePlanId=target_plan).get("items", [])}
        if target_key not in linked:
            apigateway.create_usage_plan_key(usagePlanId=target_plan, keyId=target_key, keyType="API_KEY")
    return plans


def usage_plan_keys(moto: MotoServer, plan_id: str) -> set[str]:
    """The enabled key values of a plan, as API Gateway checks a request's key against them."""
    apigateway = moto.client("apigateway")
    enabled = {k["id"] for k in apigateway.get_api_keys(includeValues=True).get("items", []) if k.get("enabled")}
    return {
        k["value"] for k in apigateway.get_usage_plan_keys(usagePlanId=plan_id).get("items", []) if k["id"] in enabled
    }


def log_unmodelled(tpl: ResolvedTemplate) -> None:
    for res in tpl.resources.values():
        if res.type not in MODELLED:
            log.debug("not emulated locally: %s (%s)", res.logical_id, res.type)


def _event_owners(tpl: ResolvedTemplate) -> list[tuple[Any, dict[str, Any]]]:
    """(owner with an .arn, its SAM Events) for functions and SAM state machines."""
    owners: list[tuple[Any, dict[str, Any]]] = [(fn, fn.events) for fn in tpl.functions.values()]
    owners += [(sm, sm.properties.get("Events") or {}) for sm in tpl.of_type("AWS::Serverless::StateMachine")]
    return owners


def _queue_attributes(props: dict[str, Any]) -> dict[str, str]:
    names = [
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "FifoQueue",
        "ContentBasedDeduplication",
        "RedrivePolicy",
    ]
    attrs = {}
    for name in names:
        if name not in props:
            continue
        value = props[name]
        if isinstance(value, dict):
            attrs[name] = json.dumps(value)
        elif isinstance(value, bool):
            attrs[name] = str(value).lower()
        else:
            attrs[name] = str(value)
    return attrs


def _definition(root: Path, machine: ResourceSpec) -> str:
    """The ASL text with DefinitionSubstitutions applied, as SAM / CloudFormation would."""
    props = machine.properties
    if "DefinitionUri" in props:
        if not isinstance(props["DefinitionUri"], str):
            raise ValueError(f"{machine.logical_id}: only a local DefinitionUri is supported")
        text = (root / props["DefinitionUri"]).read_text(encoding="utf-8")
    elif "Definition" in props:
        text = json.dumps(props["Definition"])
    elif "DefinitionString" in props:
        text = str(props["DefinitionString"])
    else:
        raise ValueError(f"{machine.logical_id}: no Definition, DefinitionUri or DefinitionString")
    for key, value in (props.get("DefinitionSubstitutions") or {}).items():
        text = text.replace("${" + key + "}", str(value))
    json.loads(text)  # fail here, not at the first execution
    return text
