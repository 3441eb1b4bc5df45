"""The whole gateway on one machine: DynamoDB Local, moto, both sandboxes, the functions, the API.

`LocalStack(StackConfig(...)).start()` provisions what template.yaml declares and returns the
URLs (`StackInfo`); `stop()` (or leaving the `with` block) stops everything it started.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from paygate_local import iam, provision
from paygate_local.api_auth import UsagePlan, gatekeeper_from_template
from paygate_local.apigateway import ApiGateway
from paygate_local.dynamodb_local import DynamoDBLocal, create_tables
from paygate_local.eventbridge_bridge import EventBridge
from paygate_local.moto_server import MotoServer, SecretsSnapshot
from paygate_local.sqs_source import SqsEventSource
from paygate_local.swagger import add_swagger_ui
from paygate_local.template import REGION, FunctionSpec, ResolvedTemplate, load_yaml, resolve_template
from paygate_local.workers import Functions, lambda_environment
from sandbox.beecloud.app import create_app as create_beecloud
from sandbox.beecloud.config import BeeCloudConfig
from sandbox.beilypay.app import create_app as create_beilypay
from sandbox.beilypay.config import BeilyPayConfig
from sandbox.common.server import RunningServer, serve_in_thread

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_BALANCE_PAISE = 100_000_000  # ₹10 lakh of payout float for the demo BeilyPay app


@dataclass
class StackConfig:
    """What to run and where; port 0 picks a free port (tests)."""

    template: str | Path = "template.yaml"
    api_port: int = 3000
    moto_port: int = 5001
    dynamodb_port: int = 8000
    beecloud_port: int = 8101
    beilypay_port: int = 8102
    data_dir: Path | None = None  # None: everything in memory; else dynamodb/, logs/, secrets here
    time_scale: float = 1.0  # multiplies the sandboxes' delays and retry schedules
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    demo_app: bool = True
    # Beyond the basics:
    demo: DemoApp | None = None  # a demo app to reuse (from .local/stack.json) instead of creating one
    dynamodb_url: str | None = None  # use a running DynamoDB Local (tests share one JVM)
    name_prefix: str = "paygate-local"
    max_workers: int = 4  # per function
    integration_timeout: float = 29.0  # API Gateway's limit; tests lower it
    # Extra variables for every function worker, after the template's (tests: a short
    # PROVIDER_LEASE_MS, the kill-point directory of paygate_local.workers.KILL_DIR_ENV).
    function_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def on_free_ports(cls, **settings: Any) -> StackConfig:
        """Every listener on a port the OS picks: tests and benchmarks run beside `make run`."""
        return dataclasses.replace(
            cls(**settings), api_port=0, moto_port=0, dynamodb_port=0, beecloud_port=0, beilypay_port=0
        )


@dataclass
class DemoApp:
    """A paygate app with its provider apps in both sandboxes."""

    app_id: str
    api_key: str
    beecloud: dict[str, str]
    beilypay: dict[str, Any]
    name: str = "demo"
    checkout_secret: str | None = None  # verifies hosted checkout's return signature
    console_email: str | None = None  # the demo operator of the web console (local only)
    console_password: str | None = None


@dataclass
class StackInfo:
    """Where everything listens, and the demo app's credentials (JSON-serialisable)."""

    api_url: str
    moto_url: str
    dynamodb_url: str
    beecloud_url: str
    beilypay_url: str
    events_url: str
    swagger_url: str
    app_id: str | None = None
    api_key: str | None = None
    checkout_secret: str | None = None
    beecloud: dict[str, str] | None = None
    beilypay: dict[str, Any] | None = None
    console_url: str | None = None
    console_email: str | None = None
    console_password: str | None = None
    name_prefix: str = "paygate-local"
    template: str = "template.yaml"
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def local_template(
    template: str | Path,
    *,
    name_prefix: str,
    parameter_overrides: dict[str, str],
    beecloud_url: str,
    beilypay_url: str,
    moto_url: str,
) -> ResolvedTemplate:
    """The template as the local stack deploys it: the sandboxes as providers, loopback webhooks allowed."""
    overrides = {
        # Local merchants' webhook receivers are http://127.0.0.1:... (production: https, public hosts).
        "WebhookAllowInsecureUrls": "true",
        # A laptop runs tests and demos faster than one merchant's production limits allow; the
        # limits still apply, higher (override them to try the 429s: docs/local-stack.md).
        "ApiThrottleRateLimit": "10000",
        "ApiThrottleBurstLimit": "10000",
        "CheckoutStatusRateLimit": "10000",
        "CheckoutStatusBurstLimit": "10000",
        "MerchantRateLimit": "1000",
        "MerchantBurstLimit": "2000",
        **parameter_overrides,
        "BeeCloudBaseUrl": beecloud_url,
        "BeilyPayBaseUrl": beilypay_url,
    }
    path = Path(template)
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    return resolve_template(path, name_prefix=name_prefix, parameter_overrides=overrides, moto_url=moto_url)


def aws_endpoints_env(moto_url: str, dynamodb_url: str) -> dict[str, str]:
    """What points boto3 at the local AWS: the same variables a deployed function would not need."""
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


class LocalStack:
    """Starts and stops the local gateway; see docs/local-stack.md."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.template: ResolvedTemplate | None = None
        self._template_doc: dict[str, Any] | None = None
        self.info: StackInfo | None = None
        self.functions: Functions | None = None
        self.eventbridge: EventBridge | None = None
        self.moto: MotoServer | None = None
        self.dynamodb: DynamoDBLocal | None = None
        self.api: ApiGateway | None = None
        self.beecloud: RunningServer | None = None
        self.beilypay: RunningServer | None = None
        self._dynamodb_url = ""
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self._pollers: list[threading.Event] = []  # set them all first: each may sit in a 1 s long poll
        self._provider_apps: dict[str, DemoApp] = {}  # registered in the sandboxes, by paygate app id
        self._snapshot: SecretsSnapshot | None = None
        self._usage_plans: dict[str, str] = {}  # usage plan logical id -> id in moto

    # lifecycle

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        """Start every part in dependency order; on failure, stop what already started."""
        atexit.register(self.stop)
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> StackInfo:
        cfg = self.config
        data = cfg.data_dir.resolve() if cfg.data_dir else None
        # moto's process imports for about a second: let it do so while the rest starts.
        self.moto = MotoServer(cfg.moto_port)
        self._on_stop("moto", self.moto.stop)
        self.moto.spawn()
        self.beecloud = serve_in_thread(
            create_beecloud(BeeCloudConfig(time_scale=cfg.time_scale)), port=cfg.beecloud_port
        )
        self._on_stop("beecloud", lambda: self.beecloud.stop() if self.beecloud else None)
        self.beilypay = serve_in_thread(
            create_beilypay(BeilyPayConfig(time_scale=cfg.time_scale)), port=cfg.beilypay_port
        )
        self._on_stop("beilypay", lambda: self.beilypay.stop() if self.beilypay else None)

        if cfg.dynamodb_url:
            self._dynamodb_url = cfg.dynamodb_url
        else:
            self.dynamodb = DynamoDBLocal(
                cfg.dynamodb_port,
                data / "dynamodb" if data else None,
                data / "logs" / "dynamodb.log" if data else None,
            )
            self._on_stop("dynamodb", self.dynamodb.stop)
            self.dynamodb.start()
            self._dynamodb_url = self.dynamodb.url

        self.moto.wait_ready()

        self.template = tpl = local_template(
            cfg.template,
            name_prefix=cfg.name_prefix,
            parameter_overrides=cfg.parameter_overrides,
            beecloud_url=self.beecloud.url,
            beilypay_url=self.beilypay.url,
            moto_url=self.moto.url,
        )
        create_tables(self._dynamodb_url, tpl.of_type("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"))

        if data:
            snapshot = self._snapshot = SecretsSnapshot(self.moto, data / "moto-secrets.json")
            restored = snapshot.restore()
            log.info("restored %d secrets/parameters from %s", restored, snapshot.path)
            snapshot.start()
            self._on_stop("secrets snapshot", snapshot.stop)

        self.functions = Functions(
            tpl.functions,
            self._function_env,
            max_workers=cfg.max_workers,
            log_dir=data / "logs" if data else None,
        )
        self._on_stop("functions", self.functions.close)
        self.moto.seam.lookup = self.functions.find
        self._provision_moto(tpl)

        api = next(iter(tpl.of_type("AWS::Serverless::Api")), None)
        gatekeeper, route_auth = (
            gatekeeper_from_template(
                api.properties,
                {fn.arn: fn.logical_id for fn in tpl.functions.values()},
                self._invoke_json,
                self._usage_plan(tpl),
            )
            if api
            else (None, None)
        )
        self.api = ApiGateway(
            [(route, self.functions.pools[route.function]) for route in tpl.routes()],
            port=cfg.api_port,
            stage=str(api.properties.get("StageName", "local")) if api else "local",
            api_id=api.name if api else "local00000",
            binary_media_types=api.properties.get("BinaryMediaTypes", []) if api else [],
            integration_timeout=cfg.integration_timeout,
            gatekeeper=gatekeeper,
            route_auth=route_auth,
        )
        assert self.eventbridge is not None
        self.api.local_routes["/_local/events"] = self.eventbridge.log.route
        self.api.local_routes["/_local/schedules"] = self.eventbridge.scheduler.route
        self.api.local_post_routes["/_local/schedules/fire"] = self.eventbridge.scheduler.fire_route
        self.eventbridge.scheduler.start()
        self.api.local_routes["/_local/health"] = lambda _q: (200, "application/json", b'{"status":"ok"}')
        add_swagger_ui(self.api, tpl.path.parent / "docs" / "openapi.json")
        self._on_stop("api", self.api.stop)
        self.api.start()

        swagger = "/swagger" if any(r.path == "/swagger" for r in tpl.routes()) else "/_local/swagger"
        self.info = StackInfo(
            api_url=self.api.url,
            moto_url=self.moto.url,
            dynamodb_url=self._dynamodb_url,
            beecloud_url=self.beecloud.url,
            beilypay_url=self.beilypay.url,
            events_url=f"{self.api.url}/_local/events",
            swagger_url=f"{self.api.url}{swagger}",
            name_prefix=cfg.name_prefix,
            template=str(tpl.path),
            parameter_overrides=dict(cfg.parameter_overrides),
        )
        if cfg.demo_app:
            demo = self._reuse_demo(cfg.demo) if cfg.demo else None
            demo = demo or DemoApp(**self.create_app("demo"))
            if demo.console_email is None:
                user = self.create_console_user(
                    demo.app_id, f"operator-{demo.app_id.removeprefix('app_')[:8]}@example.com"
                )
                demo = dataclasses.replace(demo, console_email=user["email"], console_password=user["password"])
            self.info.app_id, self.info.api_key = demo.app_id, demo.api_key
            self.info.checkout_secret = demo.checkout_secret
            self.info.beecloud, self.info.beilypay = demo.beecloud, demo.beilypay
            self.info.console_email, self.info.console_password = demo.console_email, demo.console_password
        self.info.console_url = f"{self.api.url}/console"
        return self.info

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice."""
        for stopping in self._pollers + [p.stopping for p in (self.eventbridge.pollers if self.eventbridge else [])]:
            stopping.set()
        while self._stops:
            name, stop = self._stops.pop()
            started = time.monotonic()
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", name)
            log.debug("stopped %s in %.2f s", name, time.monotonic() - started)
        atexit.unregister(self.stop)

    def _on_stop(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    # environments

    def _base_env(self) -> dict[str, str]:
        assert self.moto is not None
        return aws_endpoints_env(self.moto.url, self._dynamodb_url)

    def _function_env(self, spec: FunctionSpec) -> dict[str, str]:
        assert self.template is not None
        # The actions its role allows: the container refuses the others, as IAM would (paygate_local.iam).
        if self._template_doc is None:
            self._template_doc = load_yaml(self.template.path)
        return {
            **lambda_environment(spec, self._base_env(), region=REGION),
            **iam.container_env(self._template_doc, spec.logical_id),
            **self.config.function_env,
        }

    def admin_env(self) -> dict[str, str]:
        """The environment the operator CLI needs: the functions' Globals, the local endpoints."""
        assert self.template is not None
        layers = {str(d) for fn in self.template.functions.values() for d in fn.layer_dirs}
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self._base_env())
        env.update(self.template.globals_env)
        if self._usage_plans:  # the stack output MerchantUsagePlanId, as an operator would set it
            env["USAGE_PLAN_ID"] = next(iter(self._usage_plans.values()))
        env["PYTHONPATH"] = os.pathsep.join(sorted(layers))
        return env

    def _invoke_json(self, function: str, event: dict[str, Any]) -> tuple[bool, Any]:
        """Invoke a function as API Gateway invokes an authorizer: (errored, payload)."""
        assert self.functions is not None
        result = self.functions.pools[function].submit(event).result(timeout=self.config.integration_timeout)
        return bool(result.function_error), result.json()

    def _usage_plan(self, tpl: ResolvedTemplate) -> UsagePlan | None:
        """The one usage plan of the template (the local API has one stage), metered as API Gateway would."""
        assert self.moto is not None
        if not self._usage_plans:
            return None
        if len(self._usage_plans) > 1:
            log.warning("several usage plans: only %s is emulated", next(iter(self._usage_plans)))
        logical_id, plan_id = next(iter(self._usage_plans.items()))
        throttle = tpl.resources[logical_id].properties.get("Throttle") or {}
        moto = self.moto
        return UsagePlan(
            float(throttle.get("RateLimit", 10_000)),
            int(throttle.get("BurstLimit", 5_000)),
            lambda: provision.usage_plan_keys(moto, plan_id),
        )

    def _provision_moto(self, tpl: ResolvedTemplate) -> None:
        assert self.moto is not None
        assert self.functions is not None
        provision.create_queues(self.moto, tpl)
        provision.create_secrets(self.moto, tpl)
        provision.create_state_machines(self.moto, tpl)
        self._usage_plans = provision.create_usage_plans(
            self.moto, tpl, self._snapshot.plan_keys if self._snapshot else {}
        )
        self.eventbridge = EventBridge(self.moto, self.functions, self.config.name_prefix, self.config.time_scale)
        self._on_stop("eventbridge", self.eventbridge.stop)
        provision.create_buses_and_rules(self.eventbridge, tpl, self.config.name_prefix)
        for fn in tpl.functions.values():
            for event in fn.events.values():
                props = event.get("Properties") or {}
                if event.get("Type") == "SQS" and props.get("Enabled", True):
                    source = SqsEventSource(self.moto, self.functions.pools[fn.logical_id], props["Queue"], props)
                    self._pollers.append(source.stopping)
                    self._on_stop(f"sqs source {fn.logical_id}", source.stop)
                    source.start()
        provision.log_unmodelled(tpl)

    # apps

    def create_app(self, name: str) -> dict[str, Any]:
        """A fresh paygate app with fresh provider apps in both sandboxes, wired to our callbacks.

        Returns {"name", "app_id", "api_key", "beecloud": {...}, "beilypay": {...}}.
        """
        beecloud = {
            "app_id": str(uuid.uuid4()),
            "app_secret": secrets.token_hex(16),
            "master_secret": secrets.token_hex(16),
        }
        beilypay = {
            "app_id": secrets.randbelow(9_000_000) + 1_000_000,
            "merchant_id": secrets.randbelow(9_000_000) + 1_000_000,
            "secret": secrets.token_hex(16),
        }
        created = self._admin(
            "apps", "create", "--name", name, "--json",
            "--beecloud-app-id", beecloud["app_id"],
            "--beecloud-app-secret", beecloud["app_secret"],
            "--beecloud-master-secret", beecloud["master_secret"],
            "--beilypay-app-id", str(beilypay["app_id"]),
            "--beilypay-merchant-id", str(beilypay["merchant_id"]),
            "--beilypay-secret", str(beilypay["secret"]),
        )  # fmt: skip
        app = DemoApp(
            app_id=created["app_id"],
            api_key=created["api_key"],
            checkout_secret=created.get("checkout_secret"),
            beecloud=beecloud,
            beilypay=beilypay,
            name=name,
        )
        self._register_provider_apps(app)
        return dataclasses.asdict(app)

    def create_console_user(self, app_id: str, email: str, role: str = "operator") -> dict[str, Any]:
        """A console user of the app, through the operator CLI: {"email", "app_id", "role", "password"}."""
        return self._admin("users", "create", "--app-id", app_id, "--email", email, "--role", role, "--json")

    def restart_sandbox(self, name: Literal["beecloud", "beilypay"], *, keep_state: bool) -> None:
        """Crash a provider sandbox and start it again on the same port (tests: a provider restart).

        keep_state: the same emulator comes back with its orders, balances and work in flight
        (payouts completing, refunds processing, notifications not yet acknowledged), like a
        provider whose database survived. Otherwise a fresh emulator with the same accounts
        (every app registered again, balances as registered) and no order: a provider that lost
        its data.
        """
        running = self.beecloud if name == "beecloud" else self.beilypay
        assert running is not None, "the stack is not running"
        if keep_state:
            app = running.app
        elif name == "beecloud":
            app = create_beecloud(BeeCloudConfig(time_scale=self.config.time_scale))
        else:
            app = create_beilypay(BeilyPayConfig(time_scale=self.config.time_scale))
        running.crash()
        restarted = serve_in_thread(app, port=running.port)
        if name == "beecloud":
            self.beecloud = restarted
        else:
            self.beilypay = restarted
        if not keep_state:
            for provider_app in self._provider_apps.values():
                self._register_provider_apps(provider_app, only=name)
        log.info("sandbox %s restarted (%s)", name, "state kept" if keep_state else "state lost")

    def _register_provider_apps(self, app: DemoApp, *, only: str | None = None) -> None:
        assert self.info is not None
        self._provider_apps[app.app_id] = app
        webhook = f"{self.info.api_url}/callbacks/beecloud/{app.app_id}"
        for name, url, body in (
            ("beecloud", self.info.beecloud_url, {**app.beecloud, "webhook_url": webhook}),
            ("beilypay", self.info.beilypay_url, {**app.beilypay, "balance": DEMO_BALANCE_PAISE}),
        ):
            if only not in (None, name):
                continue
            response = httpx.post(f"{url}/_sandbox/apps", json=body, timeout=10)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"sandbox {url} refused the app: {response.status_code} {response.text}")

    def _reuse_demo(self, demo: DemoApp) -> DemoApp | None:
        """Keep the demo credentials across restarts if the app still exists in the data."""
        try:
            self._admin("apps", "show", "--app-id", demo.app_id)
        except RuntimeError:
            log.info("the saved demo app %s is gone; creating a new one", demo.app_id)
            return None
        self._register_provider_apps(demo)
        return demo

    def _admin(self, *args: str) -> dict[str, Any]:
        proc = subprocess.run(  # noqa: S603 - our interpreter, fixed module
            [sys.executable, "-m", "paygate.apps.admin", *args],
            env=self.admin_env(),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"paygate.apps.admin {args[:2]} failed ({proc.returncode}): {proc.stderr.strip()}")
        try:
            result: dict[str, Any] = json.loads(proc.stdout)
        except ValueError:
            result = {"output": proc.stdout}
        return result
