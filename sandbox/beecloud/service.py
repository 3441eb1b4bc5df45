"""The emulator's behaviour behind the HTTP layer: auth, bill and refund life cycles, webhooks."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.beecloud.config import BeeCloudAppConfig, BeeCloudConfig
from sandbox.beecloud.notifier import BeeCloudNotifier
from sandbox.beecloud.protocol import BeeCloudError, ResultCode, parent_channel
from sandbox.beecloud.signing import verify_app_sign
from sandbox.beecloud.state import Bill, Refund, Store
from sandbox.beecloud.validation import BillRequest, RefundRequest, read_credentials
from sandbox.beecloud.webhooks import (
    build_webhook,
    is_ack,
    is_ack_lenient,
    pay_message_detail,
    refund_message_detail,
    webhook_ref,
)
from sandbox.common.faults import FaultPlan

logger = logging.getLogger("sandbox.beecloud")

CHINA_TZ = timedelta(hours=8)


def now_ms() -> int:
    """Wall-clock milliseconds, the unit of every BeeCloud timestamp."""
    return time.time_ns() // 1_000_000


def china_today() -> date:
    """Today's date in Beijing (refund_no prefixes are the merchant's local date)."""
    return (datetime.now(UTC) + CHINA_TZ).date()


class BeeCloudEmulator:
    """State plus the side effects (timers, webhooks) of BeeCloud's bill and refund flows."""

    def __init__(self, config: BeeCloudConfig, plan: FaultPlan) -> None:
        self.config = config
        self.plan = plan
        self.store = Store(config.apps)
        self.notifier = BeeCloudNotifier(
            schedule=config.webhook_schedule,
            time_scale=config.time_scale,
            is_ack=is_ack_lenient if config.webhook_ack_contains else is_ack,
            faults=plan,
            timeout_s=config.webhook_timeout_s,
        )
        self._refund_timers: dict[str, asyncio.TimerHandle] = {}

    # -- auth ---------------------------------------------------------------------------------

    def authenticate(self, params: Mapping[str, Any], *, allow_master_secret: bool) -> BeeCloudAppConfig:
        """Check app_id/timestamp/app_sign: shapes (4/5) first, then app, window, signature (1)."""
        credentials = read_credentials(params)
        app = self.store.apps.get(credentials.app_id)
        if app is None:
            raise BeeCloudError(ResultCode.APP_INVALID, "no app with this app_id")
        window_s = self.config.timestamp_window_s
        if window_s is not None and abs(now_ms() - credentials.timestamp) > window_s * 1000:
            raise BeeCloudError(ResultCode.APP_INVALID, "timestamp expired")
        accepted = [app.app_secret]
        if allow_master_secret:
            accepted.append(app.master_secret)
        if app.test_secret is not None:
            accepted.append(app.test_secret)
        if not verify_app_sign(credentials.app_id, credentials.timestamp, credentials.app_sign, accepted):
            raise BeeCloudError(ResultCode.APP_INVALID, "app_sign is incorrect")
        return app

    # -- bills --------------------------------------------------------------------------------

    def create_bill(self, app: BeeCloudAppConfig, request: BillRequest) -> Bill:
        """New bill, or the unpaid identical one again (the caller renders fresh parameters)."""
        if app.channels is not None and request.channel not in app.channels:
            raise BeeCloudError(ResultCode.PAY_FACTOR_NOT_SET, f"{request.channel} is not set up for this app")
        return self.store.create_bill(app.app_id, request, now_ms())

    def pay(self, bill: Bill) -> bool:
        """Mark paid and send the PAY webhook; False (nothing sent) when it was paid already."""
        trade_no = _channel_trade_no(bill.channel)
        if not self.store.mark_paid(bill, now_ms(), trade_no):
            return False
        app = self.store.apps[bill.app_id]
        body = build_webhook(
            app,
            transaction_type="PAY",
            transaction_id=bill.bill_no,
            sub_channel=bill.channel,
            fee=bill.request.total_fee,
            optional=bill.request.optional,
            message_detail=pay_message_detail(bill),
            record_id=bill.id,
            channel_transaction_id=trade_no,
            timestamp_ms=now_ms(),
        )
        self.notifier.submit(ref=webhook_ref(app.app_id, "PAY", bill.bill_no), url=app.webhook_url, body=body)
        logger.info("bill %s/%s paid", bill.app_id, bill.bill_no)
        return True

    # -- refunds ------------------------------------------------------------------------------

    def processing_delay_s(self, refund: Refund) -> float:
        """Unscaled seconds a refund stays PROCESSING before the channel settles it."""
        if parent_channel(refund.bill.channel) == "WX":
            return self.config.wx_refund_processing_s
        return self.config.refund_delay_s

    def create_refund(self, app: BeeCloudAppConfig, request: RefundRequest) -> Refund:
        """Record a PROCESSING refund and arm the timer that settles it successfully."""
        self._check_refundable(app, request)
        refund = self.store.create_refund(app.app_id, request, now_ms())
        delay = self.processing_delay_s(refund) * self.config.time_scale
        loop = asyncio.get_running_loop()
        self._refund_timers[refund.id] = loop.call_later(delay, self.finish_refund, refund, True)
        return refund

    def _check_refundable(self, app: BeeCloudAppConfig, request: RefundRequest) -> None:
        """The console-side rules the store does not know: the refund window and WeChat's certificate.

        They apply to a new refund of a paid bill; every other case keeps the store's answer."""
        bill = self.store.get_bill(app.app_id, request.bill_no)
        if bill is None or bill.paid_ms is None or self.store.get_refund(app.app_id, request.refund_no):
            return
        if now_ms() - bill.paid_ms > self.config.refund_window_days * 86_400_000:
            raise BeeCloudError(ResultCode.REFUND_EXCEED_TIME, f"bill {bill.bill_no} was paid too long ago")
        if parent_channel(bill.channel) == "WX" and not app.wx_refund_certificate:
            raise BeeCloudError(ResultCode.CERT_FILE_ERROR, "no WeChat refund certificate is uploaded for this app")

    def settle_if_due(self, refund: Refund) -> None:
        """Settle a refund whose processing time has passed even if its timer has not run yet."""
        if refund.finished:
            return
        due_ms = refund.created_ms + self.processing_delay_s(refund) * self.config.time_scale * 1000
        if now_ms() >= due_ms:
            self.finish_refund(refund, True)

    def resume(self) -> None:
        """After a crash: re-arm the timers of processing refunds, resend unacknowledged webhooks."""
        loop = asyncio.get_running_loop()
        self._refund_timers.clear()  # handles of the dead loop
        for refund in list(self.store.refunds.values()):
            if refund.finished:
                continue
            due_ms = refund.created_ms + self.processing_delay_s(refund) * self.config.time_scale * 1000
            delay = max(0.0, (due_ms - now_ms()) / 1000)
            self._refund_timers[refund.id] = loop.call_later(delay, self.finish_refund, refund, True)
        self.notifier.resume()

    def finish_refund(self, refund: Refund, success: bool) -> bool:
        """Finish a processing refund; only a success sends the REFUND webhook."""
        timer = self._refund_timers.pop(refund.id, None)
        if timer is not None:
            timer.cancel()
        if not self.store.finish_refund(refund, success, now_ms()):
            return False
        logger.info("refund %s/%s %s", refund.app_id, refund.refund_no, refund.status)
        if success:
            bill = refund.bill
            app = self.store.apps[refund.app_id]
            body = build_webhook(
                app,
                transaction_type="REFUND",
                transaction_id=refund.refund_no,
                sub_channel=bill.channel,
                fee=refund.refund_fee,
                optional=refund.optional,
                message_detail=refund_message_detail(refund),
                record_id=refund.id,
                channel_transaction_id=_channel_trade_no(bill.channel),
                timestamp_ms=now_ms(),
            )
            ref = webhook_ref(app.app_id, "REFUND", refund.refund_no)
            self.notifier.submit(ref=ref, url=app.webhook_url, body=body)
        return True

    # -- life cycle ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget bills and refunds and cancel refund timers (apps and the notifier log stay)."""
        for timer in self._refund_timers.values():
            timer.cancel()
        self._refund_timers.clear()
        self.store.reset()

    async def aclose(self) -> None:
        """Server shutdown: stop timers and deliveries."""
        self.reset()
        await self.notifier.aclose()


def _channel_trade_no(channel: str) -> str:
    """A trade number in the upstream channel's style (WeChat 28 digits, Alipay 28, UnionPay 21)."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    parent = parent_channel(channel)
    if parent == "WX":
        return f"4200000{stamp[:8]}{secrets.randbelow(10**13):013d}"
    if parent == "ALI":
        return f"{stamp[:8]}21001004{secrets.randbelow(10**12):012d}"
    return f"{stamp}{secrets.randbelow(10**7):07d}"
