"""`make run`: start the whole gateway locally, print where it is, stop cleanly on Ctrl-C/SIGTERM.

    python -m paygate_local [--api-port 3000] [--time-scale 1.0] [--fresh] [...]
    python -m paygate_local invoke <FunctionLogicalId> -e events/<file>.json   (see invoke.py)

Writes `.local/stack.json` for scripts; keeps DynamoDB data, secrets and logs under `.local/`,
and reuses the demo app from the previous run unless `--fresh`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from paygate_local.files import write_private
from paygate_local.stack import DemoApp, LocalStack, StackConfig, StackInfo

log = logging.getLogger("paygate_local")


def _parser() -> argparse.ArgumentParser:
    defaults = StackConfig()
    parser = argparse.ArgumentParser(prog="python -m paygate_local", description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=str(defaults.template))
    parser.add_argument("--data-dir", default=".local", help="DynamoDB data, secrets, logs, stack.json")
    for name in ("api", "moto", "dynamodb", "beecloud", "beilypay"):
        flag = f"--{name}-port"
        parser.add_argument(flag, type=int, default=getattr(defaults, f"{name}_port"), help="0 = any free port")
    parser.add_argument("--time-scale", type=float, default=1.0, help="sandbox delays x this (0.01 = 100x)")
    parser.add_argument("--workers", type=int, default=defaults.max_workers, help="max workers per function")
    parser.add_argument("--fresh", action="store_true", help="forget DynamoDB data, secrets and the demo app")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="template parameter")
    parser.add_argument("--log-level", default="INFO")
    return parser


def _saved_demo(stack_json: Path, data_dir: Path) -> DemoApp | None:
    if not stack_json.exists() or not (data_dir / "dynamodb").exists():
        return None
    try:
        saved = json.loads(stack_json.read_text(encoding="utf-8"))
        return DemoApp(
            app_id=saved["app_id"],
            api_key=saved["api_key"],
            beecloud=saved["beecloud"],
            beilypay=saved["beilypay"],
            checkout_secret=saved.get("checkout_secret"),
            console_email=saved.get("console_email"),
            console_password=saved.get("console_password"),
        )
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring unreadable %s", stack_json)
        return None


def _demo_checkout(info: StackInfo) -> str | None:
    """A fresh checkout session of the demo app, to open in a browser and pay in the sandbox."""
    import httpx

    body = {
        "total_fee": 1,
        "title": "paygate 演示订单",
        "channels": ["WX_NATIVE", "ALI_QRCODE", "ALI_WEB", "UN_WEB", "ALI_WAP"],
        "return_url": f"{info.beecloud_url}/_sandbox",
        "expires_in": 24 * 3600,
    }
    try:
        response = httpx.post(
            f"{info.api_url}/checkout/sessions",
            json=body,
            headers={"Authorization": f"Bearer {info.api_key}"},
            timeout=30,
        )
    except httpx.HTTPError as error:
        log.warning("no demo checkout session: %s", error)
        return None
    if response.status_code != 201:
        log.warning("no demo checkout session: %s %s", response.status_code, response.text[:200])
        return None
    return str(response.json()["url"])


def _banner(info: StackInfo, checkout_url: str | None = None) -> str:
    lines = [
        "",
        "paygate is running locally (Ctrl-C stops everything)",
        f"  API          {info.api_url}",
        f"  Swagger UI   {info.swagger_url}",
        f"  events       {info.events_url}",
        f"  schedules    {info.api_url}/_local/schedules   (POST .../fire?rule=ReconcileFunction runs one now)",
        f"  BeeCloud     {info.beecloud_url}   (sandbox; act as payer and provider at /_sandbox)",
        f"  BeilyPay     {info.beilypay_url}   (sandbox; act as payer and provider at /_sandbox)",
        f"  moto         {info.moto_url}   (EventBridge, Step Functions, SQS, Secrets Manager, SSM)",
        f"  DynamoDB     {info.dynamodb_url}   (DynamoDB Local)",
    ]
    if info.api_key:
        lines += [
            f"  demo app     {info.app_id}",
            f"  demo API key {info.api_key}",
            "",
            f'  curl -H "Authorization: Bearer {info.api_key}" {info.api_url}/bills',
        ]
    if info.checkout_secret:
        lines.insert(-2, f"  demo checkout secret {info.checkout_secret}")
    if checkout_url:
        lines += ["", f"  demo checkout (open in a browser, pay in the sandbox): {checkout_url}"]
    if info.console_url and info.console_email:
        lines += [
            f"  console      {info.console_url}",
            f"               sign in as {info.console_email} / {info.console_password}   (a demo operator, local only)",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["invoke"]:
        from paygate_local.invoke import main as invoke

        return invoke(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("httpx", "botocore", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    data_dir = Path(args.data_dir).resolve()
    stack_json = data_dir / "stack.json"
    if args.fresh:
        shutil.rmtree(data_dir / "dynamodb", ignore_errors=True)
        (data_dir / "moto-secrets.json").unlink(missing_ok=True)
        stack_json.unlink(missing_ok=True)
    overrides = dict(item.split("=", 1) for item in args.param)
    config = StackConfig(
        template=args.template,
        api_port=args.api_port,
        moto_port=args.moto_port,
        dynamodb_port=args.dynamodb_port,
        beecloud_port=args.beecloud_port,
        beilypay_port=args.beilypay_port,
        data_dir=data_dir,
        time_scale=args.time_scale,
        parameter_overrides=overrides,
        demo=_saved_demo(stack_json, data_dir),
        max_workers=args.workers,
    )
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stack = LocalStack(config)
    try:
        try:
            info = stack.start()
        except OSError as exc:  # typically a port already in use: say which, without a traceback
            log.error("could not start the local stack: %s (see --help for the port flags)", exc)
            return 1
        # Before stack.json says "ready": the demo session starts the authorizer's and Checkout's
        # workers, so a caller's first request does not wait behind them.
        checkout_url = _demo_checkout(info) if info.api_key else None
        write_private(stack_json, json.dumps(info.to_json(), indent=2) + "\n")
        print(_banner(info, checkout_url) + f"  written to   {stack_json}\n", flush=True)
        stopping.wait()
        log.info("stopping")
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything we started is stopped; skip the interpreter's multi-second teardown of moto's
    # module graph so Ctrl-C returns at once.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
