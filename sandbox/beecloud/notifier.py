"""Adapts the shared :class:`~sandbox.common.notifier.Notifier` to BeeCloud's two signatures.

The shared notifier's ``bad_signature`` fault corrupts one field; a BeeCloud webhook carries
two (``signature`` and the legacy ``sign``), and a verifier that falls back from one to the other
would still accept the forgery. This subclass takes the callback fault itself, corrupts ``sign``
too, and hands the same rule to the shared code, which corrupts ``signature`` and applies
every other kind unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from sandbox.common.faults import FaultPlan, FaultRule
from sandbox.common.notifier import Notifier, corrupt_signature


class _HandOverPlan(FaultPlan):
    """A plan view whose ``take`` returns the rule the BeeCloud notifier already took."""

    def __init__(self) -> None:
        super().__init__()
        self.handed: FaultRule | None = None

    def take(self, scope: str, path: str, kinds: Collection[str] | None = None) -> FaultRule | None:
        rule, self.handed = self.handed, None
        return rule


class BeeCloudNotifier(Notifier):
    """Notifier whose ``bad_signature`` fault breaks both ``sign`` and ``signature``."""

    def __init__(
        self,
        *,
        schedule: Sequence[float],
        time_scale: float,
        is_ack: Callable[[str], bool],
        faults: FaultPlan,
        timeout_s: float = 10.0,
    ) -> None:
        self._plan = faults
        self._hand_over = _HandOverPlan()
        super().__init__(
            schedule=schedule,
            time_scale=time_scale,
            is_ack=is_ack,
            faults=self._hand_over,
            signature_field="signature",
            timeout_s=timeout_s,
        )

    def submit(self, *, ref: str, url: str, body: dict[str, Any]) -> str:
        rule = self._plan.take("callback", ref)
        if rule is not None and rule.kind == "bad_signature":
            body = {**body, "sign": corrupt_signature(body.get("sign"))}
        self._hand_over.handed = rule
        return super().submit(ref=ref, url=url, body=body)
