"""Every secret paygate holds, read from Secrets Manager through Powertools Parameters (cached).

Two kinds: each app's provider credentials (one secret per app, written by the operator with
`paygate.apps.admin`), and each webhook endpoint's signing secrets (one secret per endpoint,
written when the endpoint is created or its secret rotated). Nothing here imports httpx.
"""

from __future__ import annotations

import json
import secrets as random
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from paygate.aws import client
from paygate.errors import ConflictError, ServiceUnavailableError
from paygate.models import App
from paygate.settings import get_settings

# ---------------------------------------------------------------- provider credentials per app


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


class AppSecrets(BaseModel):
    """The JSON document stored at <APP_SECRETS_PREFIX><app_id>."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    beecloud_app_secret: str | None = Field(default=None, repr=False)
    beecloud_master_secret: str | None = Field(default=None, repr=False)
    beilypay_secret: str | None = Field(default=None, repr=False)
    # Signs the hosted checkout's return to the merchant (paygate.checkout.signing).
    checkout_secret: str | None = Field(default=None, repr=False)


def app_secret_name(prefix: str, app_id: str) -> str:
    return f"{prefix}{app_id}"


@cache
def _provider() -> parameters.SecretsProvider:
    # Our client: the container's shared session, and our timeouts and retry mode.
    return parameters.SecretsProvider(boto3_client=client("secretsmanager"))


def load_app_secrets(prefix: str, app_id: str, *, max_age_s: int) -> AppSecrets:
    try:
        raw: Any = _provider().get(app_secret_name(prefix, app_id), transform="json", max_age=max_age_s)
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


def require_checkout_secret(app: App) -> str:
    """The app's checkout signing secret, or a 409 saying the operator has not issued one."""
    secret = _secrets_for(app).checkout_secret
    if not secret:
        raise ConflictError(
            "this app has no checkout secret; the operator issues one with apps rotate-checkout-secret",
            code="checkout_not_configured",
        )
    return secret


def beilypay_credentials_or_none(app: App) -> BeilyPayCredentials | None:
    """None when the app has no BeilyPay account configured (the poller then gives up quietly)."""
    return beilypay_credentials(app, _secrets_for(app))


def require_beilypay(app: App) -> BeilyPayCredentials:
    """The app's BeilyPay credentials, or a 409 saying the operator has not configured them."""
    creds = beilypay_credentials(app, _secrets_for(app))
    if creds is None:
        raise ConflictError("this app has no BeilyPay account configured", code="provider_not_configured")
    return creds


# ---------------------------------------------------------------- webhook signing secrets per endpoint

SIGNING_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


class SigningSecret(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    secret: str = Field(repr=False)
    expires_at: int | None = None  # epoch seconds; None: the current secret


class SigningSecrets(BaseModel):
    """The JSON document stored at <WEBHOOK_SECRETS_PREFIX><app_id>/<endpoint_id>."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    signing_secrets: list[SigningSecret] = Field(min_length=1)

    def active(self, now_s: int) -> list[str]:
        """The secrets to sign with now: the current one and any previous one not yet expired."""
        return [s.secret for s in self.signing_secrets if s.expires_at is None or s.expires_at > now_s]

    def rotated(self, new_secret: str, *, now_s: int, previous_expires_at: int) -> SigningSecrets:
        """The new secret first; the ones still active keep signing until `previous_expires_at`."""
        kept = [
            SigningSecret(secret=s.secret, expires_at=min(s.expires_at or previous_expires_at, previous_expires_at))
            for s in self.signing_secrets
            if (s.expires_at is None or s.expires_at > now_s) and previous_expires_at > now_s
        ]
        return SigningSecrets(signing_secrets=[SigningSecret(secret=new_secret), *kept])

    def document(self) -> str:
        return json.dumps(self.model_dump(exclude_none=True))


class SecretsUnavailableError(Exception):
    """The endpoint's signing secret could not be read: the attempt fails and is retried."""


class SecretGoneError(Exception):
    """The endpoint's secret no longer exists (the endpoint was deleted meanwhile)."""


def new_signing_secret() -> str:
    return SIGNING_SECRET_PREFIX + random.token_urlsafe(32)


def signing_secret_name(prefix: str, app_id: str, endpoint_id: str) -> str:
    return f"{prefix}{app_id}/{endpoint_id}"


class SigningSecretStore:
    def __init__(self, client: Any, prefix: str, *, max_age_s: int) -> None:
        self._sm = client
        self._prefix = prefix
        self._max_age_s = max_age_s

    def create(self, app_id: str, endpoint_id: str, secret: str) -> None:
        self._sm.create_secret(
            Name=signing_secret_name(self._prefix, app_id, endpoint_id),
            Description=f"paygate webhook signing secret of {endpoint_id}",
            SecretString=SigningSecrets(signing_secrets=[SigningSecret(secret=secret)]).document(),
        )

    def load(self, app_id: str, endpoint_id: str) -> SigningSecrets:
        """Cached for SECRETS_MAX_AGE_S: a rotation reaches the dispatcher within that time."""
        name = signing_secret_name(self._prefix, app_id, endpoint_id)
        try:
            raw: Any = parameters.get_secret(name, transform="json", max_age=self._max_age_s)
        except parameters.exceptions.GetParameterError as error:
            raise SecretsUnavailableError(f"signing secret of {endpoint_id} is not readable") from error
        return SigningSecrets.model_validate(raw)

    def rotate(self, app_id: str, endpoint_id: str, new_secret: str, *, now_s: int, previous_expires_at: int) -> None:
        """Read (uncached), prepend the new secret, write. The caller holds the endpoint's rotation lease."""
        name = signing_secret_name(self._prefix, app_id, endpoint_id)
        try:
            current = SigningSecrets.model_validate_json(self._sm.get_secret_value(SecretId=name)["SecretString"])
            rotated = current.rotated(new_secret, now_s=now_s, previous_expires_at=previous_expires_at)
            self._sm.put_secret_value(SecretId=name, SecretString=rotated.document())
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("ResourceNotFoundException", "InvalidRequestException"):
                raise SecretGoneError(endpoint_id) from error
            raise

    def delete(self, app_id: str, endpoint_id: str) -> None:
        """Immediately: a deleted endpoint's secret must not sign anything again."""
        try:
            self._sm.delete_secret(
                SecretId=signing_secret_name(self._prefix, app_id, endpoint_id), ForceDeleteWithoutRecovery=True
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
