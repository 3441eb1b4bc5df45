"""Emulator settings: the BeeCloud apps it knows and the timings it plays back."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# BeeCloud app ids are UUIDs; QA answers 5 (not 1) for an app_id that is not UUID-shaped.
UUID_SHAPE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# The webhook guide: first delivery at 1 s, then 2, 4, ... 2^17 s (~36 h) after confirmation.
DEFAULT_WEBHOOK_SCHEDULE: tuple[float, ...] = tuple(float(2**k) for k in range(18))


class ConfigError(ValueError):
    """An app or setting the emulator cannot run with."""


@dataclass(frozen=True)
class BeeCloudAppConfig:
    """One BeeCloud app as configured in its console: credentials, the webhook URL, and what the
    merchant set up there: the channels whose payment parameters (支付要素) are filled in
    (None: every channel; another channel answers 2 PAY_FACTOR_NOT_SET) and whether WeChat's
    refund certificate is uploaded (without it a WeChat refund answers 6 CERT_FILE_ERROR)."""

    app_id: str
    app_secret: str
    master_secret: str
    webhook_url: str
    test_secret: str | None = None
    channels: tuple[str, ...] | None = None
    wx_refund_certificate: bool = True

    def __post_init__(self) -> None:
        if not UUID_SHAPE.fullmatch(self.app_id):
            raise ConfigError(f"app_id must be a UUID, got {self.app_id!r}")
        for name in ("app_secret", "master_secret", "webhook_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{name} must be a non-empty string")
        if self.test_secret is not None and (not isinstance(self.test_secret, str) or not self.test_secret):
            raise ConfigError("test_secret must be a non-empty string or null")
        if self.channels is not None and (
            isinstance(self.channels, str) or not all(isinstance(c, str) and c for c in self.channels)
        ):
            raise ConfigError("channels must be a list of channel names or null")
        if not isinstance(self.wx_refund_certificate, bool):
            raise ConfigError("wx_refund_certificate must be true or false")

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> BeeCloudAppConfig:
        """Build from a JSON map (config file, ``POST /_sandbox/apps``); raises :class:`ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError("an app must be a JSON object")
        missing = [key for key in ("app_id", "app_secret", "master_secret", "webhook_url") if key not in data]
        if missing:
            raise ConfigError(f"missing {', '.join(missing)}")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown app keys: {', '.join(sorted(unknown))}")
        channels = data.get("channels")
        app_id = data["app_id"]
        if not isinstance(app_id, str):
            raise ConfigError("app_id must be a string")
        return cls(
            app_id=app_id,
            app_secret=data["app_secret"],
            master_secret=data["master_secret"],
            webhook_url=data["webhook_url"],
            test_secret=data.get("test_secret"),
            channels=tuple(channels) if isinstance(channels, list) else channels,
            wx_refund_certificate=data.get("wx_refund_certificate", True),
        )


@dataclass
class BeeCloudConfig:
    """Everything :func:`sandbox.beecloud.app.create_app` needs; delays are seconds × ``time_scale``."""

    apps: list[BeeCloudAppConfig] = field(default_factory=list)
    time_scale: float = 1.0
    public_url: str | None = None  # base of the pay-page URLs; None = the request's base URL
    timestamp_window_s: float | None = 600.0  # real seconds, never scaled; None = no check
    refund_delay_s: float = 3.0
    wx_refund_processing_s: float = 10.0
    min_bill_no_len: int = 1
    webhook_schedule: tuple[float, ...] = DEFAULT_WEBHOOK_SCHEDULE
    webhook_timeout_s: float = 10.0
    webhook_ack_contains: bool = False  # True: any body containing "success" acknowledges
    refund_date_tolerance_days: int = 1
    refund_window_days: float = 365.0  # a bill paid longer ago answers 10 REFUND_EXCEED_TIME

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ConfigError("time_scale must be > 0")
        if not 1 <= self.min_bill_no_len <= 32:
            raise ConfigError("min_bill_no_len must be within 1..32")
        if self.refund_window_days <= 0:
            raise ConfigError("refund_window_days must be > 0")
        if not self.webhook_schedule:
            raise ConfigError("webhook_schedule needs at least one attempt")
        if self.public_url is not None:
            self.public_url = self.public_url.rstrip("/")

    @classmethod
    def from_file(cls, path: str | Path) -> BeeCloudConfig:
        """Read a JSON config: ``{"apps": [...], "time_scale": 0.01, ...}`` (keys = field names)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ConfigError("config file must hold a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}")
        apps = [BeeCloudAppConfig.from_mapping(item) for item in data.pop("apps", [])]
        if "webhook_schedule" in data:
            data["webhook_schedule"] = tuple(float(offset) for offset in data["webhook_schedule"])
        return cls(apps=apps, **data)
