"""SQS event source mappings (a function's `Type: SQS` events), polled like Lambda's poller does.

Batches of up to BatchSize records in Lambda's SQS event shape; the batch is deleted when the
function succeeds, left for redelivery (after the queue's visibility timeout) when it fails, and
with `ReportBatchItemFailures` only the reported records are left.

With `ScalingConfig.MaximumConcurrency` several batches of one source run at once (at most the
function's workers), as Lambda's pollers do, so one slow batch does not stall the queue; the
receives themselves are serialised (moto's receive is not atomic across threads). Without it,
one batch at a time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any

from paygate_local.moto_server import MotoServer
from paygate_local.template import ACCOUNT_ID, REGION
from paygate_local.workers import FunctionPool

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 1


def sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of Lambda's SQS event from a ReceiveMessage result."""
    attributes = dict(message.get("Attributes", {}))  # same names as ReceiveMessage's
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody") or _md5(message["Body"]),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


class SqsEventSource(threading.Thread):
    """Polls one queue for one function."""

    def __init__(self, moto: MotoServer, pool: FunctionPool, queue_arn: str, props: dict[str, Any]) -> None:
        super().__init__(name=f"sqs-{pool.spec.logical_id}", daemon=True)
        self.sqs = moto.client("sqs")
        self.pool = pool
        self.queue_arn = queue_arn
        self.queue_url = f"{moto.url}/{ACCOUNT_ID}/{queue_arn.rsplit(':', 1)[-1]}"
        self.batch_size = min(int(props.get("BatchSize", 10)), 10)
        self.partial = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
        scaling = props.get("ScalingConfig") or {}
        wanted = int(scaling.get("MaximumConcurrency", DEFAULT_CONCURRENCY))
        self.concurrency = max(1, min(wanted, pool.max_workers))
        self.stopping = threading.Event()
        self._receiving = threading.Lock()

    def run(self) -> None:
        helpers = [
            threading.Thread(target=self._poll, name=f"{self.name}-{n}", daemon=True)
            for n in range(1, self.concurrency)
        ]
        for helper in helpers:
            helper.start()
        self._poll()
        for helper in helpers:
            helper.join(timeout=5)

    def _poll(self) -> None:
        while not self.stopping.is_set():
            try:
                with self._receiving:
                    if self.stopping.is_set():
                        break
                    received = self.sqs.receive_message(
                        QueueUrl=self.queue_url,
                        MaxNumberOfMessages=self.batch_size,
                        WaitTimeSeconds=1,
                        MessageSystemAttributeNames=["All"],
                        MessageAttributeNames=["All"],
                    )
                messages = received.get("Messages", [])
                if messages:
                    self._deliver(messages)
            except Exception:
                if not self.stopping.is_set():
                    log.exception("SQS event source %s failed", self.queue_arn)
                    self.stopping.wait(1)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        records = [sqs_record(m, self.queue_arn) for m in messages]
        result = self.pool.invoke({"Records": records})
        done = messages
        if result.function_error:
            log.warning("%s failed on an SQS batch; it will be redelivered", self.pool.spec.name)
            done = []
        elif self.partial:
            response = result.json() if result.payload.strip() not in (b"", b"null") else {}
            failed = {f.get("itemIdentifier") for f in (response or {}).get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
        for message in done:
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
