"""Provider credentials per app, from Secrets Manager via Powertools Parameters (cached)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, Field

from paygate.aws import client
from paygate.errors import ConflictError, ServiceUnavailableError
from paygate.models import App
from paygate.providers.credentials import BeeCloudCredentials, BeilyPayCredentials
from paygate.settings import get_settings


class AppSecrets(BaseModel):
    """The JSON document stored at <APP_SECRETS_PREFIX><app_id>."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    beecloud_app_secret: str | None = Field(default=None, repr=False)
    beecloud_master_secret: str | None = Field(default=None, repr=False)
    beilypay_secret: str | None = Field(default=None, repr=False)


def secret_name(prefix: str, app_id: str) -> str:
    return f"{prefix}{app_id}"


@cache
def _provider() -> parameters.SecretsProvider:
    # Our client: the container's shared session, and our timeouts and retry mode.
    return parameters.SecretsProvider(boto3_client=client("secretsmanager"))


def load_app_secrets(prefix: str, app_id: str, *, max_age_s: int) -> AppSecrets:
    try:
        raw: Any = _provider().get(secret_name(prefix, app_id), transform="json", max_age=max_age_s)
    except parameters.exceptions.GetParameterError as error:
        raise ServiceUnavailableError("provider credentials are not available") from error
    return AppSecrets.model_validate(raw)


def beecloud_credentials(app: App, secrets: AppSecrets) -> BeeCloudCredentials | None:
    if not app.beecloud_app_id or not secrets.beecloud_app_secret:
        return None
    return BeeCloudCredentials(
        app_id=app.beecloud_app_id,
        app_secret=secrets.beecloud_app_secret,
        master_secret=secrets.beecloud_master_secret,
    )


def beilypay_credentials(app: App, secrets: AppSecrets) -> BeilyPayCredentials | None:
    if app.beilypay_app_id is None or app.beilypay_merchant_id is None or not secrets.beilypay_secret:
        return None
    return BeilyPayCredentials(
        app_id=app.beilypay_app_id, merchant_id=app.beilypay_merchant_id, secret=secrets.beilypay_secret
    )


def _secrets_for(app: App) -> AppSecrets:
    settings = get_settings()
    return load_app_secrets(settings.app_secrets_prefix, app.app_id, max_age_s=settings.secrets_max_age_s)


def require_beecloud(app: App) -> BeeCloudCredentials:
    """The app's BeeCloud credentials, or a 409 saying the operator has not configured them."""
    creds = beecloud_credentials(app, _secrets_for(app))
    if creds is None:
        raise ConflictError("this app has no BeeCloud account configured", code="provider_not_configured")
    return creds


def beilypay_credentials_or_none(app: App) -> BeilyPayCredentials | None:
    """None when the app has no BeilyPay account configured (the poller then gives up quietly)."""
    return beilypay_credentials(app, _secrets_for(app))


def require_beilypay(app: App) -> BeilyPayCredentials:
    """The app's BeilyPay credentials, or a 409 saying the operator has not configured them."""
    creds = beilypay_credentials(app, _secrets_for(app))
    if creds is None:
        raise ConflictError("this app has no BeilyPay account configured", code="provider_not_configured")
    return creds
