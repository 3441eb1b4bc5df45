"""The BeeCloud webhook body (protocols §1.6, "Recommended emulator webhook").

One body serves all three payload generations the gateway may meet: camelCase (2015) and
snake_case (2015-10 on) keys side by side, the legacy ``sign`` and the 2017 ``signature``.
"""

from __future__ import annotations

import time
from typing import Any

from sandbox.beecloud.channels import alipay_partner, unionpay_mer_id, wechat_app_id, wechat_mch_id
from sandbox.beecloud.config import BeeCloudAppConfig
from sandbox.beecloud.protocol import parent_channel
from sandbox.beecloud.signing import md5_hex, webhook_sign, webhook_signature
from sandbox.beecloud.state import Bill, Refund

ACK = "success"


def is_ack(text: str) -> bool:
    """BeeCloud stops retrying when the receiver answers ``success`` (surrounding blanks allowed)."""
    return text.strip() == ACK


def is_ack_lenient(text: str) -> bool:
    """Contains-mode for receivers that print something before ``success`` (the PHP demos)."""
    return ACK in text


def webhook_ref(app_id: str, transaction_type: str, transaction_id: str) -> str:
    """Notification ref ``<app_id>/<PAY|REFUND>/<bill_no|refund_no>``; fault paths match its prefix."""
    return f"{app_id}/{transaction_type}/{transaction_id}"


def _china_time(ms: int, pattern: str) -> str:
    """Upstream channels report Beijing time (UTC+8)."""
    return time.strftime(pattern, time.gmtime(ms / 1000 + 8 * 3600))


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def pay_message_detail(bill: Bill) -> dict[str, Any]:
    """The upstream channel's own payment notification, as BeeCloud forwards it."""
    paid_ms = bill.paid_ms or 0
    trade_no = bill.channel_trade_no or ""
    fee = bill.request.total_fee
    channel = parent_channel(bill.channel)
    if channel == "WX":
        detail: dict[str, Any] = {
            "appid": wechat_app_id(bill.app_id),
            "mch_id": wechat_mch_id(bill.app_id),
            "bank_type": "CFT",
            "cash_fee": str(fee),
            "fee_type": "CNY",
            "is_subscribe": "N",
            "nonce_str": md5_hex(trade_no)[:16],
            "openid": bill.request.openid or "o" + md5_hex(bill.bill_no)[:27],
            "out_trade_no": bill.bill_no,
            "result_code": "SUCCESS",
            "return_code": "SUCCESS",
            "time_end": _china_time(paid_ms, "%Y%m%d%H%M%S"),
            "total_fee": str(fee),
            "trade_type": {"WX_APP": "APP", "WX_NATIVE": "NATIVE", "WX_JSAPI": "JSAPI"}[bill.channel],
            "transaction_id": trade_no,
        }
        detail["sign"] = md5_hex("&".join(f"{k}={v}" for k, v in sorted(detail.items()))).upper()
        return detail
    if channel == "ALI":
        return {
            "buyer_email": "buyer@example.com",
            "gmt_create": _china_time(bill.created_ms, "%Y-%m-%d %H:%M:%S"),
            "gmt_payment": _china_time(paid_ms, "%Y-%m-%d %H:%M:%S"),
            "notify_type": "trade_status_sync",
            "out_trade_no": bill.bill_no,
            "seller_id": alipay_partner(bill.app_id),
            "subject": bill.request.title,
            "total_fee": _yuan(fee),
            "trade_no": trade_no,
            "trade_status": "TRADE_SUCCESS",
        }
    return {
        "merId": unionpay_mer_id(bill.app_id),
        "orderId": bill.bill_no,
        "queryId": trade_no,
        "respCode": "00",
        "respMsg": "Success!",
        "txnAmt": str(fee),
        "txnTime": _china_time(paid_ms, "%Y%m%d%H%M%S"),
        "txnType": "01",
    }


def refund_message_detail(refund: Refund) -> dict[str, Any]:
    """The upstream channel's refund result, as BeeCloud forwards it."""
    bill = refund.bill
    channel = parent_channel(bill.channel)
    if channel == "WX":
        return {
            "appid": wechat_app_id(bill.app_id),
            "mch_id": wechat_mch_id(bill.app_id),
            "out_refund_no": refund.refund_no,
            "out_trade_no": bill.bill_no,
            "refund_fee": str(refund.refund_fee),
            "refund_id": "5" + md5_hex(refund.id)[:27],
            "refund_status": "SUCCESS",
            "total_fee": str(bill.request.total_fee),
            "transaction_id": bill.channel_trade_no or "",
        }
    if channel == "ALI":
        return {
            "batch_no": refund.refund_no,
            "notify_type": "batch_refund_notify",
            "result_details": f"{bill.channel_trade_no}^{_yuan(refund.refund_fee)}^SUCCESS",
            "success_num": "1",
        }
    return {
        "merId": unionpay_mer_id(bill.app_id),
        "orderId": refund.refund_no,
        "origQryId": bill.channel_trade_no or "",
        "respCode": "00",
        "respMsg": "Success!",
        "txnAmt": str(refund.refund_fee),
        "txnType": "04",
    }


def build_webhook(
    app: BeeCloudAppConfig,
    *,
    transaction_type: str,
    transaction_id: str,
    sub_channel: str,
    fee: int,
    optional: dict[str, Any],
    message_detail: dict[str, Any],
    record_id: str,
    channel_transaction_id: str,
    timestamp_ms: int,
) -> dict[str, Any]:
    """The signed body; ``timestamp`` is fixed at submission and not refreshed on retries."""
    channel_type = parent_channel(sub_channel)
    common = {
        "transaction_id": transaction_id,
        "transaction_type": transaction_type,
        "channel_type": channel_type,
        "sub_channel_type": sub_channel,
        "transaction_fee": fee,  # an integer: verifiers do str(fee)
        "trade_success": True,
        "message_detail": message_detail,
        "channel_transaction_id": channel_transaction_id,
    }
    camel = {_camel(key): value for key, value in common.items()}
    return {
        **common,
        **camel,
        "optional": optional,
        "id": record_id,
        "timestamp": timestamp_ms,
        "sign": webhook_sign(app.app_id, app.app_secret, timestamp_ms),
        "signature": webhook_signature(
            app.app_id, transaction_id, transaction_type, channel_type, fee, app.master_secret
        ),
    }


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)
