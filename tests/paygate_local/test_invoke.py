"""`python -m paygate_local invoke`: every events/ file through its function, as `sam local invoke -e` would."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paygate_local.invoke import main
from paygate_local.stack import LocalStack, StackConfig
from tests.support.template import ROOT, template

EVENTS = sorted((ROOT / "events").glob("*.json"))
# The file's function, by the events file's name and the function's CodeUri in template.yaml.
FUNCTION_DIR = {
    "create_bill": "create_bill", "refresh_bill": "create_bill", "get_bill": "query", "list_bills": "query",
    "create_refund": "refund", "refresh_refund": "refund", "get_refund": "query", "list_refunds": "query",
    "create_payout": "payout", "get_payout": "query", "list_payouts": "query", "create_collection": "collect",
    "get_collection": "query", "list_collections": "query", "get_balance": "query",
    "beecloud_webhook": "callback", "beilypay_notify": "callback", "poll_pending": "poll_pending",
    "bill_follow_up_sqs": "bill_follow_up", "first_poll_sqs": "first_poll", "reconcile": "reconcile",
    "webhook_dispatcher_sqs": "webhook_dispatcher",
    "create_webhook_endpoint": "webhook_endpoints", "delete_webhook_endpoint": "webhook_endpoints",
    "get_webhook_endpoint": "webhook_endpoints", "list_webhook_endpoints": "webhook_endpoints",
    "rotate_webhook_secret": "webhook_endpoints", "list_webhook_deliveries": "webhook_endpoints",
    "resend_event": "webhook_endpoints", "authorize_request": "authorize",
    "create_checkout_session": "checkout", "get_checkout_session": "checkout",
}  # fmt: skip


def logical_id(function_dir: str) -> str:
    (found,) = [
        name
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
        and resource["Properties"]["CodeUri"].rstrip("/") == f"functions/{function_dir}"
    ]
    return found


@pytest.fixture(scope="module")
def stack_json(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with LocalStack(StackConfig.on_free_ports(time_scale=0.01)) as stack:
        assert stack.info is not None
        path = tmp_path_factory.mktemp("stack") / "stack.json"
        path.write_text(json.dumps(stack.info.to_json()))
        yield path


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def test_every_events_file_is_named_here():
    assert {path.stem for path in EVENTS} == set(FUNCTION_DIR)


@pytest.mark.parametrize("event_file", EVENTS, ids=lambda path: path.stem)
def test_each_events_file_invokes_its_function(stack_json: Path, event_file: Path):
    function = logical_id(FUNCTION_DIR[event_file.stem])
    is_api = "httpMethod" in json.loads(event_file.read_text())
    extra = ["--api-key", "demo"] if is_api else []

    code, out, err = run(function, "-e", str(event_file), "--stack", str(stack_json), *extra)

    answer = json.loads(out)
    assert "starting a temporary one" not in err  # it used the running stack
    assert "START RequestId: " in err
    assert "REPORT RequestId: " in err
    if event_file.stem == "authorize_request":
        # API Gateway's call to the authorizer: the demo key is allowed, metered under its app's key.
        assert code == 0, answer
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow"
        assert answer["usageIdentifierKey"]
    elif is_api:
        # The demo key is accepted, and the function answers as the API does (a 404 for an order
        # the demo app does not have is an answer too); nothing failed on our side.
        assert code == 0
        assert answer["statusCode"] not in (401, 403)
        assert answer["statusCode"] < 500, answer
    else:
        assert code == 0, answer


def test_env_vars_override_the_template_in_sams_format(stack_json: Path, tmp_path: Path):
    env_vars = tmp_path / "env.json"
    env_vars.write_text(json.dumps({"Parameters": {"POWERTOOLS_SERVICE_NAME": "everyone"},
                                    "CreateBillFunction": {"POWERTOOLS_SERVICE_NAME": "just-this-one"}}))  # fmt: skip
    event = str(ROOT / "events" / "create_bill.json")

    code, _out, err = run("CreateBillFunction", "-e", event, "--env-vars", str(env_vars), "--stack", str(stack_json),
                          "--api-key", "demo")  # fmt: skip

    assert code == 0
    services = {json.loads(line)["service"] for line in err.splitlines() if line.startswith("{")}
    assert services == {"just-this-one"}


def test_the_event_can_come_from_stdin(stack_json: Path):
    event = (ROOT / "events" / "get_balance.json").read_text()

    code, out, _err = run(logical_id("query"), "-e", "-", "--stack", str(stack_json), stdin=event)

    assert code == 0
    assert json.loads(out)["statusCode"] == 401  # no --api-key: the file's placeholder key is refused


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["NoSuchFunction", "-e", "events/create_bill.json"], "no function NoSuchFunction in template.yaml"),
        (["CreateBillFunction", "-e", "-"], "the event is not JSON"),
        (["CreateBillFunction", "-e", "events/missing.json"], "cannot read the event"),
    ],
)
def test_what_cannot_be_invoked_is_said_in_one_line(stack_json: Path, argv: list[str], message: str):
    code, out, err = run(*argv, "--stack", str(stack_json), stdin="{not json")

    assert (code, out) == (2, "")
    assert err.startswith("paygate_local invoke: ")
    assert message in err


def test_on_a_fresh_clone_it_starts_a_temporary_stack(tmp_path: Path):
    """No `make run`: the documented command still works, against a stack of its own."""
    missing = str(tmp_path / "none.json")
    command = [sys.executable, "-m", "paygate_local", "invoke", "CreateBillFunction",
               "-e", "events/create_bill.json", "--api-key", "demo", "--stack", missing]  # fmt: skip

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert "starting a temporary one" in done.stderr
    assert json.loads(done.stdout)["statusCode"] == 201
