"""Read template.yaml and resolve what the local stack provisions.

CloudFormation does this in AWS; locally we only need the subset paygate's template uses:
parameters with defaults, conditions, the common intrinsics, Globals merged into functions,
and deterministic physical names / fake ARNs so every `!Ref` and `!GetAtt` has a value.
"""

from __future__ import annotations

import base64
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
NO_VALUE = object()  # AWS::NoValue: the property disappears


class TemplateError(ValueError):
    """The template is malformed or uses something the local stack cannot resolve."""


# --- YAML with CloudFormation short-form tags -------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag_constructor(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag_constructor)


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation YAML (or JSON) document; fail loudly on anything malformed."""
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources mapping)")
    return doc


# --- resolved model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiRoute:
    """One `Type: Api` event of a function: a REST resource path and method."""

    path: str
    method: str  # upper case; ANY matches every method
    function: str  # logical id
    # The event's own Auth, overriding the API's defaults (None: the API's default).
    authorizer: str | None = None
    api_key_required: bool | None = None


@dataclass
class FunctionSpec:
    """A function as its Lambda container would see it."""

    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    layer_dirs: list[Path]
    routes: list[ApiRoute] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ResourceSpec:
    """Any other resource: its type, resolved properties and local identity."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    name: str
    arn: str


# Resource types and how Ref/GetAtt of them read: (service, arn resource part).
_ARN_SHAPES: dict[str, tuple[str, str]] = {
    "AWS::DynamoDB::Table": ("dynamodb", "table/{name}"),
    "AWS::Serverless::SimpleTable": ("dynamodb", "table/{name}"),
    "AWS::Serverless::Function": ("lambda", "function:{name}"),
    "AWS::Lambda::Function": ("lambda", "function:{name}"),
    "AWS::Serverless::LayerVersion": ("lambda", "layer:{name}:1"),
    "AWS::Lambda::LayerVersion": ("lambda", "layer:{name}:1"),
    "AWS::Events::EventBus": ("events", "event-bus/{name}"),
    "AWS::Events::Rule": ("events", "rule/{name}"),
    "AWS::SQS::Queue": ("sqs", "{name}"),
    "AWS::SNS::Topic": ("sns", "{name}"),
    "AWS::Serverless::StateMachine": ("states", "stateMachine:{name}"),
    "AWS::StepFunctions::StateMachine": ("states", "stateMachine:{name}"),
    "AWS::SecretsManager::Secret": ("secretsmanager", "secret:{name}"),
    "AWS::SSM::Parameter": ("ssm", "parameter/{name}"),
    "AWS::Logs::LogGroup": ("logs", "log-group:{name}:*"),
    "AWS::IAM::Role": ("iam", "role/{name}"),
    "AWS::IAM::Policy": ("iam", "policy/{name}"),
    "AWS::Serverless::Api": ("apigateway", "/restapis/{name}"),
}
# Properties that carry an explicit physical name (honoured, as CloudFormation would).
_NAME_PROPS = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Events::EventBus": "Name",
    "AWS::Events::Rule": "Name",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Serverless::StateMachine": "Name",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Serverless::LayerVersion": "LayerName",
}
_GLOBAL_SECTIONS = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api"}


@dataclass
class ResolvedTemplate:
    """Everything the runner provisions, with intrinsics resolved."""

    path: Path
    parameters: dict[str, str]
    functions: dict[str, FunctionSpec]
    resources: dict[str, ResourceSpec]
    globals_env: dict[str, str]
    moto_url: str

    def of_type(self, *types: str) -> list[ResourceSpec]:
        """Resources of the given types, in template order."""
        return [r for r in self.resources.values() if r.type in types]

    def routes(self) -> list[ApiRoute]:
        """Every API route of every function."""
        return [route for fn in self.functions.values() for route in fn.routes]


def _deep_merge(base: Any, override: Any) -> Any:
    """SAM's Globals rule: maps merge, lists and scalars from the resource win."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base.get(key), value) if key in base else value
        return merged
    return override


class Resolver:
    """Evaluates intrinsic functions against local names, ARNs and URLs."""

    def __init__(
        self,
        doc: dict[str, Any],
        *,
        name_prefix: str,
        parameter_overrides: Mapping[str, str],
        sqs_base_url: str,
    ) -> None:
        self.doc = doc
        self.prefix = name_prefix
        self.sqs_base_url = sqs_base_url.rstrip("/")
        self.parameters = self._parameters(parameter_overrides)
        self._resources: dict[str, Any] = doc["Resources"]
        self.conditions = {name: bool(self.resolve(expr)) for name, expr in doc.get("Conditions", {}).items()}

    # identity

    def _parameters(self, overrides: Mapping[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, spec in (self.doc.get("Parameters") or {}).items():
            if name in overrides:
                values[name] = str(overrides[name])
            elif isinstance(spec, dict) and "Default" in spec:
                default = spec["Default"]
                values[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
            else:
                raise TemplateError(f"parameter {name} has no Default and no override")
        unknown = set(overrides) - set(values)
        if unknown:
            log.debug("parameter overrides not in the template, ignored: %s", sorted(unknown))
        return values

    def physical_name(self, logical_id: str) -> str:
        """Explicit name property if the template sets one, else `<prefix>-<LogicalId>`."""
        res = self._resources.get(logical_id)
        if not isinstance(res, dict):
            raise TemplateError(f"unknown resource {logical_id}")
        prop = _NAME_PROPS.get(res.get("Type", ""))
        explicit = (res.get("Properties") or {}).get(prop) if prop else None
        if explicit is not None:
            return str(self.resolve(explicit))
        if res.get("Type") == "AWS::Serverless::Api":
            # API ids are 10 lowercase alphanumerics in AWS.
            return re.sub(r"[^a-z0-9]", "", logical_id.lower())[:10].ljust(10, "0")
        return f"{self.prefix}-{logical_id}"

    def arn(self, logical_id: str) -> str:
        """A fake but well-formed ARN in the local account and region."""
        rtype = self._resources[logical_id].get("Type", "")
        service, shape = _ARN_SHAPES.get(rtype, ("unknown", "{name}"))
        name = self.physical_name(logical_id)
        if service == "iam":
            return f"arn:aws:iam::{ACCOUNT_ID}:{shape.format(name=name)}"
        if service == "apigateway":
            return f"arn:aws:apigateway:{REGION}::{shape.format(name=name)}"
        if service == "ssm":
            return f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}"
        return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{shape.format(name=name)}"

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.prefix,
            # Shaped like CloudFormation's (the last part a UUID), stable for one name prefix.
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{self.prefix}/"
            + str(uuid.uuid5(uuid.NAMESPACE_URL, f"paygate-local:{self.prefix}")),
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        function, _, suffix = name.partition(".")
        if (
            suffix in ("Alias", "Version")
            and self._resources.get(function, {}).get("Type") == "AWS::Serverless::Function"
        ):
            # SAM's AutoPublishAlias: the local stack runs one version of each function, so the
            # alias (or version) a resource invokes is the function itself.
            return self.arn(function)
        if suffix == "Stage" and self._resources.get(function, {}).get("Type") == "AWS::Serverless::Api":
            # SAM's `<Api>.Stage`: the stage it creates, named by StageName.
            return self.resolve((self._resources[function].get("Properties") or {}).get("StageName", "Prod"))
        if name not in self._resources:
            raise TemplateError(f"Ref to unknown parameter or resource {name!r}")
        rtype = self._resources[name].get("Type", "")
        if rtype == "AWS::SQS::Queue":
            return f"{self.sqs_base_url}/{ACCOUNT_ID}/{self.physical_name(name)}"
        if rtype in {
            "AWS::Serverless::StateMachine",
            "AWS::StepFunctions::StateMachine",
            "AWS::Serverless::LayerVersion",
            "AWS::Lambda::LayerVersion",
            "AWS::SecretsManager::Secret",
            "AWS::SNS::Topic",
        }:
            return self.arn(name)
        return self.physical_name(name)

    def get_att(self, logical_id: str, attr: str) -> Any:
        if logical_id not in self._resources:
            raise TemplateError(f"GetAtt of unknown resource {logical_id!r}")
        name = self.physical_name(logical_id)
        if attr == "Arn":
            return self.arn(logical_id)
        if attr in {"Name", "QueueName", "TableName", "LogGroupName"}:
            return name
        if attr == "QueueUrl":
            return f"{self.sqs_base_url}/{ACCOUNT_ID}/{name}"
        if attr == "StreamArn":
            return f"{self.arn(logical_id)}/stream/1970-01-01T00:00:00.000"
        if attr == "RootResourceId":
            return "root000000"
        log.debug("GetAtt %s.%s not modelled locally; using the ARN", logical_id, attr)
        return self.arn(logical_id)

    # evaluation

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic in `value`; AWS::NoValue entries are dropped."""
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, arg)
        out = {}
        for key, item in value.items():
            resolved = self.resolve(item)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out

    def _intrinsic(self, key: str, arg: Any) -> Any:  # noqa: C901 - one branch per intrinsic
        if key == "Ref":
            return self.ref(str(arg))
        if key == "Condition":
            return self.conditions[str(arg)]
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else [self.resolve(a) for a in arg]
            return self.get_att(parts[0], parts[1])
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::Join":
            sep, items = arg
            return str(self.resolve(sep)).join(str(i) for i in self.resolve(items))
        if key == "Fn::If":
            cond, yes, no = arg
            return self.resolve(yes if self.conditions[cond] else no)
        if key == "Fn::Select":
            index, items = self.resolve(arg)
            return items[int(index)]
        if key == "Fn::Split":
            sep, text = self.resolve(arg)
            return str(text).split(sep)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(arg)[0]
        if key == "Fn::And":
            return all(self.resolve(arg))
        if key == "Fn::Or":
            return any(self.resolve(arg))
        if key == "Fn::FindInMap":
            mapping, top, second = self.resolve(arg)
            return self.doc["Mappings"][mapping][top][second]
        if key == "Fn::Base64":
            return base64.b64encode(str(self.resolve(arg)).encode()).decode()
        if key == "Fn::GetAZs":
            return [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
        if key == "Fn::ToJsonString":
            import json

            return json.dumps(self.resolve(arg), separators=(",", ":"))
        raise TemplateError(f"intrinsic {key} is not supported by the local stack")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise TemplateError(f"Fn::Sub needs a string, got {text!r}")

        def repl(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in variables:
                return str(variables[expr])
            if "." in expr:
                logical_id, attr = expr.split(".", 1)
                return str(self.get_att(logical_id, attr))
            return str(self.ref(expr))

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def active(self, logical_id: str) -> bool:
        cond = self._resources[logical_id].get("Condition")
        return cond is None or self.conditions[cond]


def _layer_dirs(resolver: Resolver, root: Path, layers: list[Any]) -> list[Path]:
    """Lambda mounts layers under /opt; a python layer's code sits in `python/` or at its root."""
    dirs: list[Path] = []
    resources = resolver.doc["Resources"]
    for layer in layers:
        logical = next((lid for lid in resources if isinstance(layer, str) and resolver.arn(lid) == layer), None)
        if logical is None:
            log.debug("layer %s is not in the template; skipped", layer)
            continue
        props = resources[logical].get("Properties") or {}
        content = resolver.resolve(props.get("ContentUri") or props.get("Content"))
        if not isinstance(content, str):
            raise TemplateError(f"layer {logical} needs a local ContentUri")
        base = (root / content).resolve()
        dirs.append(base / "python" if (base / "python").is_dir() else base)
    return dirs


def _function(
    resolver: Resolver, root: Path, logical_id: str, raw: dict[str, Any], globals_fn: dict[str, Any]
) -> FunctionSpec:
    props = resolver.resolve(_deep_merge(globals_fn, raw.get("Properties") or {}))
    for required in ("CodeUri", "Handler"):
        if not isinstance(props.get(required), str):
            raise TemplateError(f"function {logical_id} needs a local {required}")
    code_dir = (root / props["CodeUri"]).resolve()
    if not code_dir.is_dir():
        raise TemplateError(f"function {logical_id}: CodeUri {code_dir} does not exist")
    env = {k: _env_str(v) for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()}
    spec = FunctionSpec(
        logical_id=logical_id,
        name=resolver.physical_name(logical_id),
        arn=resolver.arn(logical_id),
        code_dir=code_dir,
        handler=props["Handler"],
        runtime=str(props.get("Runtime", "python3.13")),
        timeout=int(props.get("Timeout", 3)),
        memory_size=int(props.get("MemorySize", 128)),
        environment=env,
        layer_dirs=_layer_dirs(resolver, root, props.get("Layers") or []),
        events=props.get("Events") or {},
    )
    for event in spec.events.values():
        if event.get("Type") == "Api":
            ev = event.get("Properties") or {}
            event_auth = ev.get("Auth") or {}
            key_required = event_auth.get("ApiKeyRequired")
            spec.routes.append(
                ApiRoute(
                    path=ev["Path"],
                    method=str(ev["Method"]).upper(),
                    function=logical_id,
                    authorizer=event_auth.get("Authorizer"),
                    api_key_required=None if key_required is None else str(key_required).lower() == "true",
                )
            )
    return spec


def _add_implicit_resources(doc: dict[str, Any]) -> None:
    """What the SAM transform generates and templates may reference: `<Function>Role` and the
    implicit `ServerlessRestApi` of Api events without a RestApiId."""
    resources: dict[str, Any] = doc["Resources"]
    implicit: dict[str, Any] = {}
    for logical_id, res in resources.items():
        if not isinstance(res, dict):
            continue
        props = res.get("Properties") or {}
        if res.get("Type") in {"AWS::Serverless::Function", "AWS::Serverless::StateMachine"} and "Role" not in props:
            implicit[f"{logical_id}Role"] = {"Type": "AWS::IAM::Role"}
        for event in (props.get("Events") or {}).values():
            if (
                isinstance(event, dict)
                and event.get("Type") == "Api"
                and "RestApiId" not in (event.get("Properties") or {})
            ):
                implicit["ServerlessRestApi"] = {
                    "Type": "AWS::Serverless::Api",
                    "Properties": {"StageName": "Prod"},
                }
    for logical_id, res in implicit.items():
        resources.setdefault(logical_id, res)


def _env_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        raise TemplateError(f"environment value did not resolve to a scalar: {value!r}")
    return str(value)


def resolve_template(
    path: Path,
    *,
    name_prefix: str = "paygate-local",
    parameter_overrides: Mapping[str, str] | None = None,
    moto_url: str = "http://127.0.0.1:5001",
) -> ResolvedTemplate:
    """Load `path` and resolve functions and resources the local stack knows how to provision."""
    doc = load_yaml(path)
    _add_implicit_resources(doc)
    root = path.parent.resolve()
    resolver = Resolver(
        doc, name_prefix=name_prefix, parameter_overrides=parameter_overrides or {}, sqs_base_url=moto_url
    )
    globals_ = doc.get("Globals") or {}
    globals_fn = globals_.get("Function") or {}
    functions: dict[str, FunctionSpec] = {}
    resources: dict[str, ResourceSpec] = {}
    for logical_id, raw in doc["Resources"].items():
        if not isinstance(raw, dict) or "Type" not in raw:
            raise TemplateError(f"resource {logical_id} has no Type")
        if not resolver.active(logical_id):
            continue
        rtype = raw["Type"]
        if rtype == "AWS::Serverless::Function":
            functions[logical_id] = _function(resolver, root, logical_id, raw, globals_fn)
            continue
        section = _GLOBAL_SECTIONS.get(rtype)
        props_raw = raw.get("Properties") or {}
        if section:
            props_raw = _deep_merge(globals_.get(section) or {}, props_raw)
        resources[logical_id] = ResourceSpec(
            logical_id=logical_id,
            type=rtype,
            properties=resolver.resolve(props_raw),
            name=resolver.physical_name(logical_id),
            arn=resolver.arn(logical_id),
        )
    globals_env_raw = ((globals_fn.get("Environment") or {}).get("Variables")) or {}
    globals_env = {k: _env_str(v) for k, v in resolver.resolve(globals_env_raw).items()}
    return ResolvedTemplate(
        path=path,
        parameters=resolver.parameters,
        functions=functions,
        resources=resources,
        globals_env=globals_env,
        moto_url=moto_url,
    )
