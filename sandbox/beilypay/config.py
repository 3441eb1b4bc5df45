"""Emulator settings: the apps it knows and how fast its clock runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Seconds after the event for each notify attempt: 10 attempts over 30 minutes. BeilyPay does not
# document its schedule; this is a conventional growing backoff (see docs/sandbox.md).
DEFAULT_NOTIFY_SCHEDULE: tuple[float, ...] = (0, 5, 15, 30, 60, 120, 300, 600, 1200, 1800)


@dataclass
class BeilyPayAppConfig:
    """One merchant app: its ids, signing secret and starting balance in paise."""

    app_id: int
    merchant_id: int
    secret: str
    balance: int = 0
    rate_limit_per_s: int | None = None  # None: BeilyPayConfig.rate_limit_per_s

    def __post_init__(self) -> None:
        for name in ("app_id", "merchant_id", "balance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer")
        if self.app_id < 1 or self.merchant_id < 1:
            raise ValueError("app_id and merchant_id must be positive")
        if self.balance < 0:
            raise ValueError("balance must be >= 0 paise")
        if not isinstance(self.secret, str) or not self.secret:
            raise ValueError("secret must be a non-empty string")
        if self.rate_limit_per_s is not None and (
            isinstance(self.rate_limit_per_s, bool)
            or not isinstance(self.rate_limit_per_s, int)
            or self.rate_limit_per_s < 1
        ):
            raise ValueError("rate_limit_per_s must be a positive integer")

    @classmethod
    def from_json(cls, data: Any) -> BeilyPayAppConfig:
        """From ``{"app_id","merchant_id","secret","balance"?,"rate_limit_per_s"?}``; ValueError if bad."""
        if not isinstance(data, dict):
            raise ValueError("an app must be a JSON object")
        unknown = set(data) - {"app_id", "merchant_id", "secret", "balance", "rate_limit_per_s"}
        if unknown:
            raise ValueError(f"unknown app fields: {sorted(unknown)}")
        missing = {"app_id", "merchant_id", "secret"} - set(data)
        if missing:
            raise ValueError(f"missing app fields: {sorted(missing)}")
        return cls(
            app_id=data["app_id"],
            merchant_id=data["merchant_id"],
            secret=data["secret"],
            balance=data.get("balance", 0),
            rate_limit_per_s=data.get("rate_limit_per_s"),
        )


@dataclass
class BeilyPayConfig:
    """Everything ``create_app`` needs; every delay is multiplied by ``time_scale``."""

    apps: list[BeilyPayAppConfig] = field(default_factory=list)
    time_scale: float = 1.0
    public_url: str | None = None  # base of payUrl; None = the request's own base URL
    payout_delay_s: float = 3.0
    notify_schedule: tuple[float, ...] = DEFAULT_NOTIFY_SCHEDULE
    notify_on_collection_failure: bool = True
    notify_timeout_s: float = 10.0
    rate_limit_per_s: int = 100  # requests per app per second before 10006
    min_pay_amount: int = 100  # paise; the Java SDK documents a 1 INR minimum

    @classmethod
    def from_file(cls, path: str | Path) -> BeilyPayConfig:
        """Read ``{"apps": [...], "time_scale"?, "public_url"?, "payout_delay_s"?, ...}``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("config must be a JSON object")
        options = {k: v for k, v in data.items() if k != "apps"}
        known = set(cls.__dataclass_fields__) - {"apps"}
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown config fields: {sorted(unknown)}")
        if "notify_schedule" in options:
            options["notify_schedule"] = tuple(options["notify_schedule"])
        apps = [BeilyPayAppConfig.from_json(app) for app in data.get("apps", [])]
        return cls(apps=apps, **options)
