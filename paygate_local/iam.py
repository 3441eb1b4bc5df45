"""Each function's IAM actions, from the template, so the local stack refuses the others as AWS would.

Neither DynamoDB Local nor moto checks permissions, so a call a function's role does not allow
(a new `BatchWriteItem`, say) works here and is refused in AWS. The stack gives each function
container the actions its role allows (`Policies`: inline statements and the template's managed
policies); the container refuses any other AWS call with `AccessDeniedException`, as IAM would,
and says so on its log, which the stack records in `DENIED`.

Only actions are checked, not resources: a call to an allowed action on another table passes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

# The container's side (it imports nothing of paygate_local): what it reads, writes and matches.
from paygate_local._bootstrap import IAM_ACTIONS_ENV as ACTIONS_ENV
from paygate_local._bootstrap import IAM_DENIED_MARKER as DENIED_MARKER
from paygate_local._bootstrap import is_allowed as is_allowed
from paygate_local.template import TemplateError


@dataclass(frozen=True)
class DeniedCall:
    function: str
    action: str


DENIED: list[DeniedCall] = []  # every refusal of every stack in this process, in order
_lock = threading.Lock()


def record_denied(function: str, line: str) -> bool:
    """Note a container's refusal if `line` is one; True when it was."""
    if not line.startswith(DENIED_MARKER):
        return False
    with _lock:
        DENIED.append(DeniedCall(function, line[len(DENIED_MARKER) :].strip()))
    return True


def granted_actions(doc: dict[str, Any], logical_id: str) -> list[str]:
    """The actions (patterns, as written) the function's `Policies` allow."""
    resources = doc["Resources"]
    actions: list[str] = []
    for policy in resources[logical_id].get("Properties", {}).get("Policies") or []:
        if isinstance(policy, dict) and set(policy) == {"Ref"}:
            managed = resources.get(policy["Ref"], {})
            if managed.get("Type") != "AWS::IAM::ManagedPolicy":
                raise TemplateError(f"{logical_id}: policy {policy['Ref']} is not a managed policy of the template")
            statements = managed["Properties"]["PolicyDocument"]["Statement"]
        elif isinstance(policy, dict) and "Statement" in policy:
            statements = policy["Statement"]
        else:  # a SAM policy template or an AWS managed policy: add it here when the template uses one
            raise TemplateError(f"{logical_id}: policy {policy!r} is not understood by the local stack")
        for statement in statements:
            if statement.get("Effect") != "Allow":
                raise TemplateError(f"{logical_id}: only Allow statements are understood")
            action = statement.get("Action", [])
            actions += [action] if isinstance(action, str) else list(action)
    return sorted(set(actions))


def container_env(doc: dict[str, Any], logical_id: str) -> dict[str, str]:
    """The variable that makes the function's container refuse what its role does not allow."""
    return {ACTIONS_ENV: json.dumps(granted_actions(doc, logical_id))}
