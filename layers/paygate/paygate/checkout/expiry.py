"""The expiry timer of a checkout session: one delayed SQS message, sent again until the time is up.

SQS delays a message by at most 15 minutes and a session lives up to 24 hours, so the consumer
puts the message back with the time still left (at most 96 hops for a day). When the time is up
it expires the session, which announces checkout.session.expired, whether or not a page is open.
A lost or late message only delays that event: every read of the session applies its expiry too.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from paygate.models import CheckoutSession

MAX_SQS_DELAY_S = 900
logger = Logger(child=True)


def delay_until(expires_at_ms: int, now_ms: int) -> int:
    """Seconds to wait before looking again: the time left (rounded up), at most SQS's maximum."""
    left_ms = max(0, expires_at_ms - now_ms)
    return min(MAX_SQS_DELAY_S, -(-left_ms // 1000))


class ExpiryTimer:
    def __init__(self, sqs: Any, queue_url: str) -> None:
        self._sqs = sqs
        self._url = queue_url

    def start(self, session: CheckoutSession, now_ms: int) -> bool:
        """Never fails the caller: without its timer a session still expires when it is next read."""
        body = json.dumps({"app_id": session.app_id, "session_id": session.session_id})
        try:
            self._sqs.send_message(
                QueueUrl=self._url, MessageBody=body, DelaySeconds=delay_until(session.expires_at_ms, now_ms)
            )
        except (ClientError, BotoCoreError) as error:
            logger.error(
                "could not start the expiry timer", extra={"session_id": session.session_id, "error": str(error)}
            )
            return False
        return True
