"""Channel-specific payment parameters of a bill: fake but well-formed, pointing at the sandbox.

Whatever a browser or a QR scanner would follow (``code_url``, ``url``, form actions) is the
sandbox pay page ``<base>/pay/<app_id>/<bill_no>``, so fetching it pays the bill. App-SDK
fields (WeChat prepay, Alipay order string, UnionPay tn) have the real shapes and carry no
secret of any real provider.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

from sandbox.beecloud.signing import md5_hex
from sandbox.beecloud.state import Bill


def pay_url(base_url: str, app_id: str, bill_no: str) -> str:
    """The sandbox pay page of a bill: GET (or POST) it to pay."""
    return f"{base_url}/pay/{app_id}/{bill_no}"


def refund_url(base_url: str, app_id: str, refund_no: str) -> str:
    """The sandbox stand-in for Alipay's refund password page."""
    return f"{base_url}/refund/{app_id}/{refund_no}"


def _digits(seed: str, count: int) -> str:
    """Deterministic decimal digits derived from ``seed`` (stable ids per app)."""
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return str(number)[:count].rjust(count, "0")


def wechat_app_id(app_id: str) -> str:
    """The WeChat appid ("wx" + 16 hex) the sandbox pretends the BeeCloud app is bound to."""
    return "wx" + md5_hex("wechat:" + app_id)[:16]


def wechat_mch_id(app_id: str) -> str:
    """A 10-digit WeChat merchant number."""
    return "1" + _digits("mch:" + app_id, 9)


def alipay_partner(app_id: str) -> str:
    """A 16-digit Alipay partner id (they start with 2088)."""
    return "2088" + _digits("partner:" + app_id, 12)


def unionpay_mer_id(app_id: str) -> str:
    """A 15-digit UnionPay merchant id."""
    return "898" + _digits("mer:" + app_id, 12)


def _fake_rsa_signature(text: str) -> str:
    """128 bytes of base64, the size of an RSA-1024 signature, derived from the signed text."""
    digest = hashlib.sha512(text.encode()).digest()
    return base64.b64encode(digest * 2).decode()


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _auto_submit_form(form_id: str, action: str, method: str, fields: dict[str, str]) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}"/>'
        for name, value in fields.items()
    )
    return (
        f'<form id="{form_id}" name="{form_id}" action="{html.escape(action)}" method="{method}">'
        f'{inputs}<input type="submit" value="确认" style="display:none;"></form>'
        f"<script>document.forms['{form_id}'].submit();</script>"
    )


def _wechat_prepay(bill: Bill, app_secret: str, now_ms: int) -> dict[str, str]:
    """Fields shared by WX_APP and WX_JSAPI; pay_sign is an uppercase MD5 like WeChat's."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now_ms / 1000))
    prepay_id = "wx" + stamp + secrets.token_hex(9)
    return {
        "app_id": wechat_app_id(bill.app_id),
        "nonce_str": secrets.token_hex(16),
        "timestamp": str(now_ms),  # v1: String, 13-digit milliseconds
        "prepay_id": prepay_id,
        "sign_key": md5_hex("wxkey:" + app_secret),
    }


def payment_params(bill: Bill, *, base_url: str, app_secret: str, now_ms: int) -> dict[str, Any]:
    """The channel-specific success fields of ``POST /1/rest/bill`` (fresh nonces each call)."""
    request = bill.request
    url = pay_url(base_url, bill.app_id, bill.bill_no)
    channel = request.channel
    if channel in ("WX_APP", "WX_JSAPI"):
        prepay = _wechat_prepay(bill, app_secret, now_ms)
        key = prepay.pop("sign_key")
        if channel == "WX_APP":
            fields = {
                "app_id": prepay["app_id"],
                "partner_id": wechat_mch_id(bill.app_id),
                "package": "Sign=WXPay",
                "nonce_str": prepay["nonce_str"],
                "timestamp": prepay["timestamp"],
                "prepay_id": prepay["prepay_id"],
            }
            signed = (
                f"appid={fields['app_id']}&noncestr={fields['nonce_str']}&package={fields['package']}"
                f"&partnerid={fields['partner_id']}&prepayid={fields['prepay_id']}"
                f"&timestamp={fields['timestamp']}&key={key}"
            )
        else:
            fields = {
                "app_id": prepay["app_id"],
                "package": f"prepay_id={prepay['prepay_id']}",
                "nonce_str": prepay["nonce_str"],
                "timestamp": prepay["timestamp"],
                "sign_type": "MD5",
            }
            signed = (
                f"appId={fields['app_id']}&nonceStr={fields['nonce_str']}&package={fields['package']}"
                f"&signType=MD5&timeStamp={fields['timestamp']}&key={key}"
            )
        return {**fields, "pay_sign": md5_hex(signed).upper()}
    if channel == "WX_NATIVE":
        return {"code_url": url}
    if channel == "ALI_APP":
        return {"order_string": _alipay_order_string(bill, url)}
    if channel in ("ALI_WEB", "ALI_QRCODE"):
        fields = {
            "service": "create_direct_pay_by_user",
            "partner": alipay_partner(bill.app_id),
            "_input_charset": "utf-8",
            "out_trade_no": bill.bill_no,
            "subject": request.title,
            "total_fee": _yuan(request.total_fee),
            "return_url": request.return_url or "",
        }
        if request.show_url:
            fields["show_url"] = request.show_url
        if channel == "ALI_QRCODE":
            fields["qr_pay_mode"] = request.qr_pay_mode
        fields["sign_type"] = "MD5"
        fields["sign"] = md5_hex(urlencode(sorted(fields.items())))
        return {"html": _auto_submit_form("alipaysubmit", url, "get", fields), "url": url}
    if channel == "ALI_WAP":
        return _alipay_wap(bill, url)
    if channel == "UN_APP":
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now_ms / 1000))
        return {"tn": f"{stamp}{secrets.randbelow(10**7):07d}"}
    if channel == "UN_WEB":
        fields = {
            "version": "5.0.0",
            "encoding": "UTF-8",
            "txnType": "01",
            "merId": unionpay_mer_id(bill.app_id),
            "orderId": bill.bill_no,
            "txnAmt": str(request.total_fee),
            "currencyCode": "156",
            "txnTime": time.strftime("%Y%m%d%H%M%S", time.gmtime(now_ms / 1000)),
            "frontUrl": request.return_url or "",
            "signMethod": "01",
        }
        fields["signature"] = _fake_rsa_signature(urlencode(sorted(fields.items())))
        return {"html": _auto_submit_form("pay_form", url, "post", fields)}
    raise ValueError(f"no payment parameters for channel {channel}")


def _alipay_wap(bill: Bill, url: str) -> dict[str, str]:
    """Alipay's mobile cashier (``alipay.wap.create.direct.pay.by.user``), as a form and a link.

    ``app_pay=Y`` is what ``use_app`` turns into: the cashier hands over to the Alipay app.
    """
    request = bill.request
    fields = {
        "service": "alipay.wap.create.direct.pay.by.user",
        "partner": alipay_partner(bill.app_id),
        "seller_id": alipay_partner(bill.app_id),
        "_input_charset": "utf-8",
        "payment_type": "1",
        "out_trade_no": bill.bill_no,
        "subject": request.title,
        "total_fee": _yuan(request.total_fee),
    }
    if request.return_url:
        fields["return_url"] = request.return_url
    if request.use_app:
        fields["app_pay"] = "Y"
    fields["sign_type"] = "MD5"
    fields["sign"] = md5_hex(urlencode(sorted(fields.items())))
    return {"html": _auto_submit_form("alipaysubmit", url, "get", fields), "url": url}


def _alipay_order_string(bill: Bill, notify_url: str) -> str:
    """Alipay mobile ``securitypay`` order string: quoted pairs, then a URL-encoded RSA sign."""
    pairs = [
        ("partner", alipay_partner(bill.app_id)),
        ("seller_id", alipay_partner(bill.app_id)),
        ("out_trade_no", bill.bill_no),
        ("subject", bill.request.title),
        ("body", bill.request.title),
        ("total_fee", _yuan(bill.request.total_fee)),
        ("notify_url", notify_url),
        ("service", "mobile.securitypay.pay"),
        ("payment_type", "1"),
        ("_input_charset", "utf-8"),
        ("it_b_pay", "30m"),
    ]
    unsigned = "&".join(f'{name}="{value}"' for name, value in pairs)
    sign = quote(_fake_rsa_signature(unsigned), safe="")
    return f'{unsigned}&sign="{sign}"&sign_type="RSA"'
