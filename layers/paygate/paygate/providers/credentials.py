"""Provider credentials, apart from the clients: loading an app's secrets must not import httpx."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BeeCloudCredentials:
    """One BeeCloud app. `app_secret` is v1's first name `app_key`; `master_secret` signs 2017+ webhooks."""

    app_id: str
    app_secret: str = field(repr=False)
    master_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class BeilyPayCredentials:
    """One BeilyPay merchant app."""

    app_id: int
    merchant_id: int
    secret: str = field(repr=False)
