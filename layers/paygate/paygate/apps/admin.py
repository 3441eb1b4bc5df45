"""Operator CLI: create apps with their provider credentials, rotate keys, show apps; console users.

    python -m paygate.apps.admin apps create --name shop --beecloud-app-id ... --beecloud-app-secret ... --json
    python -m paygate.apps.admin apps rotate-key --app-id app_... [--json]
    python -m paygate.apps.admin apps show --app-id app_...
    python -m paygate.apps.admin apps register-usage-keys [--app-id app_...]
    python -m paygate.apps.admin apps rotate-checkout-secret --app-id app_...
    python -m paygate.apps.admin reconcile [--app-id app_...] --from 2026-11-24 --to 2026-11-24 [--out PREFIX]
    python -m paygate.apps.admin users create --app-id app_... --email a@example.com --role viewer|operator [--json]
    python -m paygate.apps.admin users list --app-id app_...
    python -m paygate.apps.admin users disable --email a@example.com
    python -m paygate.apps.admin users enable --email a@example.com
    python -m paygate.apps.admin users set-role --email a@example.com --role viewer|operator
    python -m paygate.apps.admin users reset-password --email a@example.com [--json]

Runs against whatever AWS endpoint the environment names (a real account, or the local stack
through AWS_ENDPOINT_URL); reads the same variables as the functions (APPS_TABLE,
APP_SECRETS_PREFIX, and USAGE_PLAN_ID: the stack output `MerchantUsagePlanId`). The API key is
printed once and stored only as a hash. With USAGE_PLAN_ID set, a new app gets its own usage key
in the plan (its own rate limit, docs/api.md "Rate limits").

Console users (CONSOLE_TABLE) sign in to their app's web console; a new user's password and a
reset one are printed once, to stdout only. Disabling a user, giving it a new role or a new
password ends its sessions at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from secrets import token_urlsafe as random_token
from typing import Any

from paygate.apps.keys import hash_key, is_valid_app_id, new_api_key, new_app_id
from paygate.apps.limits import UsageKeyRegistry
from paygate.aws import client
from paygate.clock import now_ms
from paygate.console.users import ConsoleUser, Role, UserService
from paygate.credentials import AppSecrets, app_secret_name
from paygate.errors import InvalidRequestError, PaygateError
from paygate.models import App
from paygate.settings import get_settings
from paygate.store.apps import AppsStore
from paygate.store.console import ConsoleStore


@dataclass(frozen=True)
class BeeCloudAccount:
    app_id: str
    app_secret: str
    master_secret: str | None = None


@dataclass(frozen=True)
class BeilyPayAccount:
    app_id: int
    merchant_id: int
    secret: str


def new_checkout_secret() -> str:
    return "pcs_" + random_token(32)


def create_app(
    name: str, *, beecloud: BeeCloudAccount | None, beilypay: BeilyPayAccount | None
) -> tuple[App, str, str]:
    """Secret first, app record second: an app never exists without its credentials.

    Returns the app, its API key and its checkout signing secret (both shown once).
    """
    settings = get_settings()
    app_id = new_app_id()
    api_key = new_api_key(app_id)
    checkout_secret = new_checkout_secret()
    secrets = AppSecrets(
        beecloud_app_secret=beecloud.app_secret if beecloud else None,
        beecloud_master_secret=beecloud.master_secret if beecloud else None,
        beilypay_secret=beilypay.secret if beilypay else None,
        checkout_secret=checkout_secret,
    )
    client("secretsmanager").create_secret(
        Name=app_secret_name(settings.app_secrets_prefix, app_id),
        SecretString=secrets.model_dump_json(exclude_none=True),
        Description=f"paygate provider credentials for {name}",
    )
    app = App(
        app_id=app_id,
        name=name,
        key_hash=hash_key(api_key),
        beecloud_app_id=beecloud.app_id if beecloud else None,
        beilypay_app_id=beilypay.app_id if beilypay else None,
        beilypay_merchant_id=beilypay.merchant_id if beilypay else None,
        created_at_ms=now_ms(),
    )
    AppsStore(client("dynamodb"), settings.apps_table).create(app)
    if settings.usage_plan_id:
        try:
            app = app.model_copy(update={"usage_key": _usage_keys().register(app_id)})
        except Exception as error:  # the app works (on the shared limit); the key must still be shown
            print(
                f"warning: {app_id} has no rate limit of its own yet ({type(error).__name__}: {error}); "
                "run `apps register-usage-keys` to give it one",
                file=sys.stderr,
            )
    return app, api_key, checkout_secret


def rotate_checkout_secret(app_id: str) -> str:
    """A new checkout signing secret; the old one stops signing within SECRETS_MAX_AGE_S (cached)."""
    settings = get_settings()
    if AppsStore(client("dynamodb"), settings.apps_table).get(app_id) is None:
        raise LookupError(f"no app {app_id}")
    name = app_secret_name(settings.app_secrets_prefix, app_id)
    manager = client("secretsmanager")
    current = AppSecrets.model_validate_json(manager.get_secret_value(SecretId=name)["SecretString"])
    checkout_secret = new_checkout_secret()
    updated = current.model_copy(update={"checkout_secret": checkout_secret})
    manager.put_secret_value(SecretId=name, SecretString=updated.model_dump_json(exclude_none=True))
    return checkout_secret


def _usage_keys() -> UsageKeyRegistry:
    settings = get_settings()
    if not settings.usage_plan_id:
        raise LookupError("USAGE_PLAN_ID is not set (the stack output MerchantUsagePlanId)")
    return UsageKeyRegistry(
        client("apigateway"),
        AppsStore(client("dynamodb"), settings.apps_table),
        usage_plan_id=settings.usage_plan_id,
        stage=settings.stage,
    )


def register_usage_keys(app_id: str | None) -> dict[str, str]:
    """Gives apps without one their own usage key (after an upgrade); repeatable."""
    registry = _usage_keys()
    apps = AppsStore(client("dynamodb"), get_settings().apps_table)
    targets = [app_id] if app_id else [app.app_id for app in apps.all() if not app.usage_key]
    return {target: registry.register(target) for target in targets}


def rotate_key(app_id: str) -> str:
    """The old key stops working at once; the new one is returned once."""
    api_key = new_api_key(app_id)
    if not AppsStore(client("dynamodb"), get_settings().apps_table).replace_key_hash(
        app_id, hash_key(api_key), now_ms()
    ):
        raise LookupError(f"no app {app_id}")
    return api_key


def show_app(app_id: str) -> dict[str, Any]:
    app = AppsStore(client("dynamodb"), get_settings().apps_table).get(app_id)
    if app is None:
        raise LookupError(f"no app {app_id}")
    return app.model_dump(mode="json", exclude={"key_hash"})


def _user_service() -> UserService:
    table = get_settings().console_table
    if not table:
        raise LookupError("CONSOLE_TABLE is not set (the stack's console table)")
    return UserService(ConsoleStore(client("dynamodb"), table))


def create_console_user(app_id: str, email: str, role: Role) -> tuple[ConsoleUser, str]:
    """A console user of an existing app, and its password (shown once)."""
    if AppsStore(client("dynamodb"), get_settings().apps_table).get(app_id) is None:
        raise LookupError(f"no app {app_id}")
    return _user_service().create(app_id, email, role)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m paygate.apps.admin", description="paygate operator CLI")
    groups = parser.add_subparsers(dest="group", required=True)
    apps = groups.add_parser("apps").add_subparsers(dest="command", required=True)
    create = apps.add_parser("create", help="create an app and print its API key once")
    create.add_argument("--name", required=True)
    create.add_argument("--beecloud-app-id")
    create.add_argument("--beecloud-app-secret")
    create.add_argument("--beecloud-master-secret")
    create.add_argument("--beilypay-app-id", type=int)
    create.add_argument("--beilypay-merchant-id", type=int)
    create.add_argument("--beilypay-secret")
    create.add_argument("--json", action="store_true")
    rotate = apps.add_parser("rotate-key", help="replace the app's API key (the old one stops working)")
    rotate.add_argument("--app-id", required=True)
    rotate.add_argument("--json", action="store_true")
    rotate_checkout = apps.add_parser(
        "rotate-checkout-secret", help="issue the app's checkout signing secret (hosted checkout's return signature)"
    )
    rotate_checkout.add_argument("--app-id", required=True)
    show = apps.add_parser("show", help="show an app (never its key or secrets)")
    show.add_argument("--app-id", required=True)
    register = apps.add_parser(
        "register-usage-keys", help="give apps without one their own rate limit (usage key); repeatable"
    )
    register.add_argument("--app-id", help="one app (default: every app without a usage key)")
    reconcile = groups.add_parser(
        "reconcile",
        help="compare the ledger with BeeCloud/BeilyPay for a period, fix what they prove, report the rest",
        description="Exit status: 0 clean, 3 mismatches reported, 1 parts could not be compared. "
        "Writes PREFIX.json and PREFIX.csv (docs/reconciliation.md).",
    )
    reconcile.add_argument("--app-id", help="one app (default: every app)")
    reconcile.add_argument("--from", dest="from_", help="ISO instant or date (UTC); default: --to minus 48 h")
    reconcile.add_argument("--to", help="ISO instant or date (a date means its end, UTC); default: now")
    reconcile.add_argument("--out", help="report path prefix (default: ./reconciliation-<run id>)")
    _users_parser(groups)
    return parser


def _users_parser(groups: Any) -> None:
    users = groups.add_parser("users", help="the people who sign in to an app's web console").add_subparsers(
        dest="command", required=True
    )
    roles = [role.value for role in Role]
    create = users.add_parser("create", help="create a console user of an app and print its password once")
    create.add_argument("--app-id", required=True)
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=roles)
    create.add_argument("--json", action="store_true")
    listing = users.add_parser("list", help="an app's console users (never their password hashes)")
    listing.add_argument("--app-id", required=True)
    disable = users.add_parser("disable", help="refuse the user's sign-ins and end its sessions")
    disable.add_argument("--email", required=True)
    enable = users.add_parser("enable", help="let a disabled user sign in again")
    enable.add_argument("--email", required=True)
    set_role = users.add_parser("set-role", help="give the user another role (its sessions end)")
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", required=True, choices=roles)
    reset = users.add_parser(
        "reset-password", help="give the user a new password, print it once (unlocks it, ends its sessions)"
    )
    reset.add_argument("--email", required=True)
    reset.add_argument("--json", action="store_true")


def _reconcile(args: argparse.Namespace) -> int:
    from datetime import timedelta
    from pathlib import Path

    from paygate.reconciliation import Period
    from paygate.reconciliation.runner import DEFAULT_LOOKBACK_HOURS, UnknownAppError, parse_instant, reconcile

    if args.app_id is not None and not is_valid_app_id(args.app_id):
        print(f"not an app id: {args.app_id}", file=sys.stderr)
        return 2
    try:
        end = parse_instant(args.to, end_of_day=True) if args.to else now_ms()
        lookback_ms = int(timedelta(hours=DEFAULT_LOOKBACK_HOURS).total_seconds() * 1000)
        start = parse_instant(args.from_) if args.from_ else end - lookback_ms
        period = Period(start, end)
    except ValueError as error:
        print(f"bad period: {error}", file=sys.stderr)
        return 2
    try:
        report = reconcile(period, app_id=args.app_id)
    except UnknownAppError as error:
        print(str(error), file=sys.stderr)
        return 1
    prefix = Path(args.out or f"reconciliation-{report.run_id}")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    json_path = prefix.with_name(prefix.name + ".json")
    csv_path = prefix.with_name(prefix.name + ".csv")
    json_path.write_text(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    csv_path.write_text(report.to_csv(), encoding="utf-8")
    print(json.dumps({**report.summary(), "json": str(json_path), "csv": str(csv_path)}))
    if report.errors:
        return 1
    return 3 if report.mismatches else 0


def _create(args: argparse.Namespace) -> int:
    beecloud = None
    if args.beecloud_app_id or args.beecloud_app_secret:
        if not (args.beecloud_app_id and args.beecloud_app_secret):
            print("--beecloud-app-id and --beecloud-app-secret go together", file=sys.stderr)
            return 2
        beecloud = BeeCloudAccount(args.beecloud_app_id, args.beecloud_app_secret, args.beecloud_master_secret)
    beilypay = None
    if args.beilypay_app_id is not None or args.beilypay_secret:
        if args.beilypay_app_id is None or args.beilypay_merchant_id is None or not args.beilypay_secret:
            print(
                "--beilypay-app-id, --beilypay-merchant-id and --beilypay-secret go together",
                file=sys.stderr,
            )
            return 2
        beilypay = BeilyPayAccount(args.beilypay_app_id, args.beilypay_merchant_id, args.beilypay_secret)
    app, api_key, checkout_secret = create_app(args.name, beecloud=beecloud, beilypay=beilypay)
    if args.json:
        print(json.dumps({"app_id": app.app_id, "api_key": api_key, "checkout_secret": checkout_secret}))
    else:
        print(
            f"app_id:          {app.app_id}\napi_key:         {api_key}\ncheckout_secret: {checkout_secret}\n"
            "(the key and the secret are shown once; store them now)"
        )
    return 0


def _users(args: argparse.Namespace) -> int:
    """Exit status: 0 done, 1 no such app or user (or the email is taken), 2 bad input."""
    if getattr(args, "app_id", None) is not None and not is_valid_app_id(args.app_id):
        print(f"not an app id: {args.app_id}", file=sys.stderr)
        return 2
    try:
        if args.command == "create":
            user, password = create_console_user(args.app_id, args.email, Role(args.role))
            _print_password(user, password, as_json=args.json)
        elif args.command == "list":
            print(json.dumps([user.public() for user in _user_service().list(args.app_id)], indent=2))
        elif args.command == "reset-password":
            service = _user_service()
            user = service.get(args.email) or _no_user()
            _print_password(user, service.reset_password(user.email), as_json=args.json)
        else:
            service = _user_service()
            changes = {
                "disable": lambda: service.disable(args.email),
                "enable": lambda: service.enable(args.email),
                "set-role": lambda: service.set_role(args.email, Role(args.role)),
            }
            print(json.dumps(changes[args.command]().public()))
    except InvalidRequestError as error:
        print(error.message, file=sys.stderr)
        return 2
    except (LookupError, PaygateError) as error:
        print(error.message if isinstance(error, PaygateError) else str(error), file=sys.stderr)
        return 1
    return 0


def _no_user() -> ConsoleUser:
    raise LookupError("no console user with this email")


def _print_password(user: ConsoleUser, password: str, *, as_json: bool) -> None:
    """The one place a console password is shown: stdout, once."""
    if as_json:
        print(json.dumps({"email": user.email, "app_id": user.app_id, "role": user.role.value, "password": password}))
    else:
        print(
            f"email:    {user.email}\napp_id:   {user.app_id}\nrole:     {user.role.value}\npassword: {password}\n"
            "(the password is shown once; hand it over now)"
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.group == "reconcile":
        return _reconcile(args)
    if args.group == "users":
        return _users(args)
    if args.command == "create":
        return _create(args)
    if args.command == "register-usage-keys" and args.app_id is None:
        try:
            print(json.dumps({"registered": sorted(register_usage_keys(None))}))
        except LookupError as error:
            print(str(error), file=sys.stderr)
            return 1
        return 0
    if not is_valid_app_id(args.app_id):
        print(f"not an app id: {args.app_id}", file=sys.stderr)
        return 2
    try:
        if args.command == "rotate-key":
            api_key = rotate_key(args.app_id)
            print(json.dumps({"app_id": args.app_id, "api_key": api_key}) if args.json else f"api_key: {api_key}")
        elif args.command == "rotate-checkout-secret":
            print(json.dumps({"app_id": args.app_id, "checkout_secret": rotate_checkout_secret(args.app_id)}))
        elif args.command == "register-usage-keys":
            print(json.dumps({"registered": sorted(register_usage_keys(args.app_id))}))
        else:
            print(json.dumps(show_app(args.app_id), indent=2))
    except LookupError as error:
        print(str(error), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
