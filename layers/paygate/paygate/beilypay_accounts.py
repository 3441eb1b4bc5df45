"""An app's BeilyPay merchant account: ids from the app record, the secret from Secrets Manager."""

from __future__ import annotations

from paygate.app_secrets import beilypay_credentials, load_app_secrets
from paygate.errors import ConflictError
from paygate.models import App
from paygate.providers.beilypay import BeilyPayCredentials
from paygate.settings import get_settings


def credentials_or_none(app: App) -> BeilyPayCredentials | None:
    """None when the app has no BeilyPay account configured."""
    settings = get_settings()
    secrets = load_app_secrets(settings.app_secrets_prefix, app.app_id, max_age_s=settings.secrets_max_age_s)
    return beilypay_credentials(app, secrets)


def require_credentials(app: App) -> BeilyPayCredentials:
    """The app's credentials, or 409 provider_not_configured."""
    creds = credentials_or_none(app)
    if creds is None:
        raise ConflictError("this app has no BeilyPay account configured", code="provider_not_configured")
    return creds
