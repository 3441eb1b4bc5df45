"""Signing secrets: one Secrets Manager secret per endpoint, read through Powertools (cached).

The secret's JSON holds a list, so a rotation can sign with old and new secrets for a while
(receivers accept any matching v1).
"""

from __future__ import annotations

import json
import secrets as random
from typing import Any

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


class SigningSecrets(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    signing_secrets: list[str] = Field(min_length=1, repr=False)


class SecretsUnavailableError(Exception):
    """The endpoint's signing secret could not be read: the attempt fails and is retried."""


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
            SecretString=json.dumps({"signing_secrets": [secret]}),
        )

    def load(self, app_id: str, endpoint_id: str) -> list[str]:
        name = secret_name(self._prefix, app_id, endpoint_id)
        try:
            raw: Any = parameters.get_secret(name, transform="json", max_age=self._max_age_s)
        except parameters.exceptions.GetParameterError as error:
            raise SecretsUnavailableError(f"signing secret of {endpoint_id} is not readable") from error
        return SigningSecrets.model_validate(raw).signing_secrets

    def delete(self, app_id: str, endpoint_id: str) -> None:
        """Immediately: a deleted endpoint's secret must not sign anything again."""
        try:
            self._sm.delete_secret(
                SecretId=secret_name(self._prefix, app_id, endpoint_id), ForceDeleteWithoutRecovery=True
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
