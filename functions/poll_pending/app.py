"""PollPending: the task of statemachines/poll_pending.asl.json, one poll round per invocation.

Input and output are the state machine's data (paygate.transfers.poller.PollState): the order, the next
wait, the deadline, and `outcome` (pending -> loop, final -> done, expired -> mark unknown).
Provider failures are absorbed (the next round asks again); only our own failures raise, and
the state machine retries them.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.deps import order_history, pending_poller
from paygate.tracing import traced
from paygate.transfers.poller import PollState

logger = Logger()
metrics = Metrics()


@traced
@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = PollState.model_validate(event)
    logger.append_keys(kind=state.kind, out_order_no=state.out_order_no, poll=state.polls + 1)
    with order_history().collected():
        result = pending_poller().run(state)
    if result.outcome != "pending":
        metrics.add_metric(name=f"Poll{result.outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    logger.info("poll round", extra={"outcome": result.outcome, "status": result.status})
    return result.model_dump(mode="json")
