"""``python -m sandbox.beilypay``: run the emulator on its own."""

from __future__ import annotations

import argparse
import logging
import sys

from sandbox.beilypay.app import create_app
from sandbox.beilypay.config import BeilyPayAppConfig, BeilyPayConfig
from sandbox.common.server import run_forever


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox.beilypay", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--config", help="JSON file: {'apps': [...], 'time_scale': ..., ...}")
    parser.add_argument("--app-id", type=int, help="register one app with these credentials")
    parser.add_argument("--merchant-id", type=int)
    parser.add_argument("--secret")
    parser.add_argument("--balance", type=int, default=0, help="starting balance in paise")
    parser.add_argument("--time-scale", type=float, help="multiplies every delay (e.g. 0.01 in tests)")
    parser.add_argument("--public-url", help="base URL for payUrl (default: the request's base URL)")
    parser.add_argument("--payout-delay", type=float, help="seconds before a payout finishes (default 3)")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> BeilyPayConfig:
    """Config file first, then the flags on top of it."""
    config = BeilyPayConfig.from_file(args.config) if args.config else BeilyPayConfig()
    if args.app_id is not None:
        if args.merchant_id is None or not args.secret:
            raise SystemExit("--app-id needs --merchant-id and --secret")
        config.apps.append(
            BeilyPayAppConfig(
                app_id=args.app_id, merchant_id=args.merchant_id, secret=args.secret, balance=args.balance
            )
        )
    if args.time_scale is not None:
        config.time_scale = args.time_scale
    if args.public_url:
        config.public_url = args.public_url
    if args.payout_delay is not None:
        config.payout_delay_s = args.payout_delay
    return config


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run_forever(create_app(build_config(args)), args.host, args.port)


if __name__ == "__main__":
    main()
