"""Wiring shared by the Reconcile function and `python -m paygate.apps.admin reconcile`: same code, same result."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from aws_lambda_powertools import Logger

from paygate.credentials import beecloud_credentials, beilypay_credentials, load_app_secrets
from paygate.deps import (
    apps_store,
    beecloud_client,
    beilypay_client,
    event_publisher,
    order_history,
    orders_store,
    reconciliation_runs,
    transfer_ledger,
    transfers_store,
)
from paygate.models import App
from paygate.payments.refunds import RefundService
from paygate.reconciliation.core import AppAccounts, Period, Reconciler
from paygate.reconciliation.report import Report
from paygate.settings import get_settings

logger = Logger(child=True)

DEFAULT_LOOKBACK_HOURS = 48  # daily runs overlap: a bill paid a day after it was created is still seen


class UnknownAppError(LookupError):
    """The run names an app that does not exist."""


def accounts(app_id: str | None = None) -> Iterator[AppAccounts]:
    """The app (or every app) with its provider credentials from Secrets Manager."""
    store = apps_store()
    if app_id is not None:
        app = store.get(app_id)
        if app is None:
            raise UnknownAppError(f"no app {app_id}")
        apps: list[App] | Iterator[App] = [app]
    else:
        apps = store.all()
    settings = get_settings()
    for app in apps:
        if app.status != "active":
            continue
        if not app.beecloud_app_id and app.beilypay_app_id is None:
            continue
        secrets = load_app_secrets(settings.app_secrets_prefix, app.app_id, max_age_s=settings.secrets_max_age_s)
        yield AppAccounts(app, beecloud_credentials(app, secrets), beilypay_credentials(app, secrets))


def reconciler() -> Reconciler:
    publisher = event_publisher()
    return Reconciler(
        transfers_store(),
        RefundService(orders_store(), beecloud_client(), publisher, history=order_history()),
        transfer_ledger(),
        publisher,
        beecloud_client(),
        beilypay_client(),
        history=order_history(),
    )


def reconcile(period: Period, *, app_id: str | None = None, run_id: str | None = None) -> Report:
    """One run over one app (or all) for the period, kept for each app's console."""
    report = reconciler().run(accounts(app_id), period, run_id=run_id)
    record_for_consoles(report)
    return report


def record_for_consoles(report: Report) -> None:
    """Each app's part of the run, for its console (best effort: the run's work is done either way)."""
    runs = reconciliation_runs()
    if runs is None:
        return
    for app in report.apps:
        try:
            runs.put(app, report.started_at_ms, report.run_id, report.app_run(app))
        except Exception:
            logger.warning("reconciliation run not recorded for the console", extra={"app_id": app}, exc_info=True)


def parse_instant(text: str, *, end_of_day: bool = False) -> int:
    """ISO 8601 instant (naive = UTC) or a date (its first or, for `to`, its last millisecond), in ms."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text)
        moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        if end_of_day:
            moment = moment.replace(microsecond=999_000)
    else:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def default_period(now_ms: int, lookback_hours: int = DEFAULT_LOOKBACK_HOURS) -> Period:
    return Period(now_ms - int(timedelta(hours=lookback_hours).total_seconds() * 1000), now_ms)
