"""``python -m sandbox.beecloud``: run the BeeCloud emulator in the foreground."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sandbox.beecloud.app import create_app
from sandbox.beecloud.config import BeeCloudAppConfig, BeeCloudConfig, ConfigError
from sandbox.common.server import run_forever

SETTING_FLAGS = (
    "time_scale",
    "public_url",
    "timestamp_window_s",
    "refund_delay_s",
    "wx_refund_processing_s",
    "min_bill_no_len",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.beecloud", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument("--config", help="JSON file: {'apps': [...], 'time_scale': ..., ...}")
    parser.add_argument("--app-id", help="one app's UUID (with --app-secret, --master-secret, --webhook-url)")
    parser.add_argument("--app-secret")
    parser.add_argument("--master-secret")
    parser.add_argument("--test-secret")
    parser.add_argument("--webhook-url")
    parser.add_argument("--time-scale", type=float, help="multiplier of every delay (0.01 = 100x faster)")
    parser.add_argument("--public-url", help="base URL of the pay pages (default: the request's)")
    parser.add_argument("--timestamp-window-s", type=float, help="app_sign timestamp tolerance, seconds")
    parser.add_argument("--refund-delay-s", type=float, help="ALI/UN refund processing time")
    parser.add_argument("--wx-refund-processing-s", type=float, help="WX refund processing time")
    parser.add_argument("--min-bill-no-len", type=int, help="1 (first v1 text) or 8 (later v1 docs)")
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> BeeCloudConfig:
    """The config file (if any), then flags on top; ``--app-id`` adds one more app."""
    config = BeeCloudConfig.from_file(args.config) if args.config else BeeCloudConfig()
    for name in SETTING_FLAGS:
        value = getattr(args, name)
        if value is not None:
            setattr(config, name, value)
    if args.app_id:
        config.apps.append(
            BeeCloudAppConfig(
                app_id=args.app_id,
                app_secret=args.app_secret or "",
                master_secret=args.master_secret or "",
                webhook_url=args.webhook_url or "",
                test_secret=args.test_secret,
            )
        )
    config.__post_init__()  # re-validate after the flags changed it
    return config


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        config = build_config(args)
    except (ConfigError, OSError, ValueError) as exc:
        print(f"sandbox.beecloud: {exc}", file=sys.stderr)
        return 2
    run_forever(create_app(config), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
