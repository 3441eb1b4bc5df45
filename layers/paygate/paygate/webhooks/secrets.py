"""Signing secrets: one Secrets Manager secret per endpoint, read through Powertools (cached).

The secret's JSON holds a list, newest first: after a rotation the previous secret keeps signing
(a second `v1`) until its `expires_at`, so receivers can switch without losing a delivery.
"""

from __future__ import annotations

import json
import secrets as random
from typing import Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


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
    return SECRET_PREFIX + random.token_urlsafe(32)


def secret_name(prefix: str, app_id: str, endpoint_id: str) -> str:
    return f"{prefix}{app_id}/{endpoint_id}"


class SigningSecretStore:
    def __init__(self, client: Any, prefix: str, *, max_age_s: int) -> None:
        self._sm = client
        self._prefix = prefix
        self._max_age_s = max_age_s

    def create(self, app_id: str, endpoint_id: str, secret: str) -> None:
        self._sm.create_secret(
            Name=secret_name(self._prefix, app_id, endpoint_id),
            Description=f"paygate webhook signing secret of {endpoint_id}",
            SecretString=SigningSecrets(signing_secrets=[SigningSecret(secret=secret)]).document(),
        )

    def load(self, app_id: str, endpoint_id: str) -> SigningSecrets:
        """Cached for SECRETS_MAX_AGE_S: a rotation reaches the dispatcher within that time."""
        name = secret_name(self._prefix, app_id, endpoint_id)
        try:
            raw: Any = parameters.get_secret(name, transform="json", max_age=self._max_age_s)
        except parameters.exceptions.GetParameterError as error:
            raise SecretsUnavailableError(f"signing secret of {endpoint_id} is not readable") from error
        return SigningSecrets.model_validate(raw)

    def rotate(self, app_id: str, endpoint_id: str, new_secret: str, *, now_s: int, previous_expires_at: int) -> None:
        """Read (uncached), prepend the new secret, write. The caller holds the endpoint's rotation lease."""
        name = secret_name(self._prefix, app_id, endpoint_id)
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
                SecretId=secret_name(self._prefix, app_id, endpoint_id), ForceDeleteWithoutRecovery=True
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
