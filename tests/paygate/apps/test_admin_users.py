"""`python -m paygate.apps.admin users ...`: the operator creates, lists, disables and re-passwords
console users; a password is printed once, to stdout, and nowhere else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from paygate import aws, deps
from paygate.apps.admin import main
from paygate.console.users import LoginOutcome, UserService
from paygate.models import App
from paygate.store.apps import AppsStore
from paygate.store.console import ConsoleStore
from tests.support.template import table_definitions

REGION = "us-east-1"
APP_ID = "app_0123456789abcdef"
EMAIL = "ops@shop.example"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ORDERS_TABLE": "orders",
        "APPS_TABLE": "apps",
        "CONSOLE_TABLE": "console",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    aws.clear_caches()
    deps.clear_caches()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        for logical_id, name in (("AppsTable", "apps"), ("ConsoleTable", "console")):
            client.create_table(TableName=name, **table_definitions()[logical_id])
        AppsStore(client, "apps").create(App(app_id=APP_ID, name="shop", key_hash="unused", created_at_ms=1))
        yield client
    aws.clear_caches()
    deps.clear_caches()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _users(client: Any) -> UserService:
    return UserService(ConsoleStore(client, "console"))


def _create(capsys: pytest.CaptureFixture[str], email: str = EMAIL, role: str = "viewer") -> str:
    code, out, _ = _run(capsys, "users", "create", "--app-id", APP_ID, "--email", email, "--role", role, "--json")
    assert code == 0
    return str(json.loads(out)["password"])


def test_create_prints_the_password_once_and_it_signs_in(dynamodb, capsys, caplog):
    caplog.set_level("DEBUG")

    code, out, err = _run(
        capsys, "users", "create", "--app-id", APP_ID, "--email", "Ops@Shop.Example", "--role", "operator", "--json"
    )

    assert code == 0
    printed = json.loads(out)
    assert set(printed) == {"email", "app_id", "role", "password"}
    assert (printed["email"], printed["app_id"], printed["role"]) == (EMAIL, APP_ID, "operator")
    assert printed["password"] not in err + caplog.text
    assert _users(dynamodb).authenticate(EMAIL, printed["password"]).outcome is LoginOutcome.OK


def test_create_without_json_prints_the_password_for_a_person(dynamodb, capsys):
    code, out, _ = _run(capsys, "users", "create", "--app-id", APP_ID, "--email", EMAIL, "--role", "viewer")

    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("password:")]
    password = line.split()[-1]
    assert "shown once" in out
    assert _users(dynamodb).authenticate(EMAIL, password).outcome is LoginOutcome.OK


def test_create_refuses_an_app_that_does_not_exist(dynamodb, capsys):
    code, out, err = _run(
        capsys, "users", "create", "--app-id", "app_fedcba9876543210", "--email", EMAIL, "--role", "viewer"
    )

    assert code == 1
    assert out == ""
    assert "no app" in err
    assert dynamodb.scan(TableName="console")["Items"] == []


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--app-id", "not-an-app", "--email", EMAIL, "--role", "viewer"], 2),
        (["--app-id", APP_ID, "--email", "not an email", "--role", "viewer"], 2),
    ],
)
def test_create_refuses_bad_input(dynamodb, capsys, args, status):
    code, out, _ = _run(capsys, "users", "create", *args)

    assert code == status
    assert out == ""
    assert dynamodb.scan(TableName="console")["Items"] == []


def test_create_refuses_a_role_that_does_not_exist(dynamodb, capsys):
    with pytest.raises(SystemExit) as refused:
        main(["users", "create", "--app-id", APP_ID, "--email", EMAIL, "--role", "admin"])
    assert refused.value.code == 2


def test_create_refuses_an_email_already_taken(dynamodb, capsys):
    _create(capsys)

    code, out, err = _run(capsys, "users", "create", "--app-id", APP_ID, "--email", EMAIL, "--role", "operator")

    assert code == 1
    assert out == ""
    assert "exists" in err


def test_list_shows_the_apps_users_without_their_hashes(dynamodb, capsys):
    _create(capsys, "bob@shop.example", "operator")
    _create(capsys, "alice@shop.example")

    code, out, _ = _run(capsys, "users", "list", "--app-id", APP_ID)

    assert code == 0
    listed = json.loads(out)
    assert [(user["email"], user["role"], user["disabled"]) for user in listed] == [
        ("alice@shop.example", "viewer", False),
        ("bob@shop.example", "operator", False),
    ]
    assert "password_hash" not in out
    assert "scrypt" not in out


def test_disable_and_enable(dynamodb, capsys):
    password = _create(capsys)

    disabled = _run(capsys, "users", "disable", "--email", EMAIL)
    refused = _users(dynamodb).authenticate(EMAIL, password).outcome
    enabled = _run(capsys, "users", "enable", "--email", EMAIL)

    assert disabled[0] == 0
    assert json.loads(disabled[1])["disabled"] is True
    assert refused is LoginOutcome.BAD_CREDENTIALS
    assert enabled[0] == 0
    assert json.loads(enabled[1])["disabled"] is False
    assert _users(dynamodb).authenticate(EMAIL, password).outcome is LoginOutcome.OK


def test_set_role(dynamodb, capsys):
    _create(capsys, role="operator")

    code, out, _ = _run(capsys, "users", "set-role", "--email", EMAIL, "--role", "viewer")

    assert code == 0
    assert json.loads(out)["role"] == "viewer"


def test_reset_password_prints_a_new_one_and_the_old_one_stops_working(dynamodb, capsys, caplog):
    caplog.set_level("DEBUG")
    old = _create(capsys)

    code, out, err = _run(capsys, "users", "reset-password", "--email", EMAIL, "--json")

    assert code == 0
    printed = json.loads(out)
    assert (printed["email"], printed["app_id"]) == (EMAIL, APP_ID)
    new = printed["password"]
    assert new != old
    assert new not in err + caplog.text
    assert _users(dynamodb).authenticate(EMAIL, old).outcome is LoginOutcome.BAD_CREDENTIALS
    assert _users(dynamodb).authenticate(EMAIL, new).outcome is LoginOutcome.OK

    code, out, _ = _run(capsys, "users", "reset-password", "--email", EMAIL)
    assert code == 0
    assert "password:" in out


@pytest.mark.parametrize("command", ["disable", "enable", "reset-password"])
def test_an_unknown_user_is_exit_1(dynamodb, capsys, command):
    code, out, err = _run(capsys, "users", command, "--email", "nobody@shop.example")

    assert code == 1
    assert out == ""
    assert err


def test_without_the_console_table_the_cli_says_so(dynamodb, capsys, monkeypatch):
    monkeypatch.setenv("CONSOLE_TABLE", "")
    deps.clear_caches()

    code, _, err = _run(capsys, "users", "list", "--app-id", APP_ID)

    assert code == 1
    assert "CONSOLE_TABLE" in err
