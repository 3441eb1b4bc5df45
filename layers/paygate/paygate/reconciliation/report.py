"""What a reconciliation run found: the fixes it applied, the mismatches it reports, and its errors.

One report per run, as JSON (the Lambda's answer, the CLI's file) and as CSV (one row per fix
or mismatch, for a spreadsheet). Nothing here talks to AWS or a provider.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Any

from paygate.clock import iso_from_ms
from paygate.events import Mismatch


@dataclass(frozen=True)
class Fix:
    """A pending (or unknown) order moved to the final state the provider proved, with its event."""

    app_id: str
    provider: str
    order_kind: str
    order_no: str
    from_status: str
    to_status: str
    event: str
    evidence: dict[str, Any]


@dataclass(frozen=True)
class RunError:
    """A part of the run that could not be compared (e.g. BeeCloud unreachable): nothing was concluded."""

    app_id: str
    provider: str
    scope: str
    message: str


@dataclass
class Report:
    run_id: str
    period_from_ms: int
    period_to_ms: int
    started_at_ms: int
    finished_at_ms: int = 0
    apps: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    fixes: list[Fix] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    errors: list[RunError] = field(default_factory=list)

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n

    @property
    def clean(self) -> bool:
        return not self.mismatches and not self.errors

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "period": {"from": iso_from_ms(self.period_from_ms), "to": iso_from_ms(self.period_to_ms)},
            "started_at": iso_from_ms(self.started_at_ms),
            "finished_at": iso_from_ms(self.finished_at_ms or self.started_at_ms),
            "apps": len(self.apps),
            "checked": dict(sorted(self.checked.items())),
            "fixes": len(self.fixes),
            "mismatches": len(self.mismatches),
            "errors": len(self.errors),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "apps": list(self.apps),
            "fixes": [asdict(f) for f in self.fixes],
            "mismatches": [m.to_json() for m in self.mismatches],
            "errors": [asdict(e) for e in self.errors],
        }

    def to_csv(self) -> str:
        """One row per fix and per mismatch (errors too), with the same columns."""
        return rows_to_csv(self.rows())

    def rows(self, app_id: str | None = None) -> list[list[str]]:
        """The CSV's rows (without its header), of one app or all."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for fix in self.fixes:
            writer.writerow(
                [self.run_id, "fix", fix.app_id, fix.provider, fix.order_kind, fix.order_no,
                 f"{fix.from_status}->{fix.to_status}", fix.from_status, fix.to_status, "", "", fix.event]
            )  # fmt: skip
        for m in self.mismatches:
            writer.writerow(
                [self.run_id, "mismatch", m.app_id, m.provider, m.order_kind, m.order_no, m.kind.value,
                 m.ledger_status or "", m.provider_status or "", _text(m.ledger_amount), _text(m.provider_amount),
                 m.detail]
            )  # fmt: skip
        for e in self.errors:
            writer.writerow([self.run_id, "error", e.app_id, e.provider, e.scope, "", "", "", "", "", "", e.message])
        rows = list(csv.reader(io.StringIO(out.getvalue())))
        return [row for row in rows if app_id is None or row[2] == app_id]

    def app_run(self, app_id: str) -> dict[str, Any]:
        """What one app's console keeps of this run: the period, its counts and its rows."""
        rows = self.rows(app_id)
        return {
            "run_id": self.run_id,
            "period_from_ms": self.period_from_ms,
            "period_to_ms": self.period_to_ms,
            "started_at_ms": self.started_at_ms,
            "finished_at_ms": self.finished_at_ms or self.started_at_ms,
            "counts": {kind: sum(1 for row in rows if row[1] == kind) for kind in ("fix", "mismatch", "error")},
            "rows": rows,
        }


def rows_to_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


CSV_COLUMNS = [
    "run_id",
    "row",
    "app_id",
    "provider",
    "order_kind",
    "order_no",
    "kind",
    "ledger_status",
    "provider_status",
    "ledger_amount",
    "provider_amount",
    "detail",
]


def _text(value: int | None) -> str:
    return "" if value is None else str(value)
