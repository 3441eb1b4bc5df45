"""Daily (and on-demand) reconciliation of the ledger against BeeCloud and BeilyPay (docs/reconciliation.md)."""

from paygate.events import Mismatch, MismatchKind
from paygate.reconciliation.core import AppAccounts, Period, Reconciler
from paygate.reconciliation.report import Fix, Report, RunError

__all__ = ["AppAccounts", "Fix", "Mismatch", "MismatchKind", "Period", "Reconciler", "Report", "RunError"]
