"""Reconcile: the daily job (an EventBridge schedule) and an operator's on-demand run (Lambda Invoke).

Input (all optional): `{"app_id": "app_…", "from": ISO, "to": ISO, "lookback_hours": 48}`. Without
a period the run covers the `lookback_hours` before now. The schedule sends `{"lookback_hours": 48}`;
EventBridge's own envelope (a rule without Input) is accepted and its fields ignored.
The answer is the report (summary, fixes, mismatches, errors; docs/reconciliation.md).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from paygate.clock import now_ms
from paygate.reconciliation import Period
from paygate.reconciliation.runner import (
    DEFAULT_LOOKBACK_HOURS,
    UnknownAppError,
    default_period,
    parse_instant,
    reconcile,
)
from paygate.tracing import traced

logger = Logger()
metrics = Metrics()

# The whole report is answered up to this many mismatch rows; the counts are always complete.
MAX_MISMATCH_ROWS = 1000


class ReconcileRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    app_id: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    lookback_hours: int = Field(default=DEFAULT_LOOKBACK_HOURS, ge=1, le=24 * 31)

    def period(self, now: int) -> Period:
        if self.from_ is None and self.to is None:
            return default_period(now, self.lookback_hours)
        end = parse_instant(self.to, end_of_day=True) if self.to else now
        start = parse_instant(self.from_) if self.from_ else end - self.lookback_hours * 3_600_000
        return Period(start, end)


@traced
@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = ReconcileRequest.model_validate(event or {})
        period = request.period(now_ms())
    except (ValidationError, ValueError) as error:
        logger.error("bad reconciliation request", extra={"error": str(error)})
        return {"error": {"code": "invalid_request", "message": str(error)}}
    try:
        report = reconcile(period, app_id=request.app_id)
    except UnknownAppError as error:
        return {"error": {"code": "app_not_found", "message": str(error)}}
    metrics.add_metric(name="ReconciliationFixes", unit=MetricUnit.Count, value=len(report.fixes))
    metrics.add_metric(name="ReconciliationMismatches", unit=MetricUnit.Count, value=len(report.mismatches))
    metrics.add_metric(name="ReconciliationErrors", unit=MetricUnit.Count, value=len(report.errors))
    answer = report.to_json()
    if len(answer["mismatches"]) > MAX_MISMATCH_ROWS:
        answer["mismatches"] = answer["mismatches"][:MAX_MISMATCH_ROWS]
        answer["truncated"] = True
    return answer
