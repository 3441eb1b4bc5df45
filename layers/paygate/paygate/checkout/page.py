"""What the payment page shows: the strings of both languages, and each channel's way to pay.

WX_NATIVE becomes a QR code we render as SVG on the server (segno); the web cashiers (ALI_WEB,
ALI_QRCODE, UN_WEB) become a form the payer submits to the provider, rebuilt from BeeCloud's HTML
so that no provider script runs on our page; ALI_WAP becomes a link to Alipay's mobile cashier.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from paygate.models import Bill
from paygate.web.i18n import Catalog, Language

CATALOG = Catalog(
    {
        "page_title": {"zh-CN": "收银台", "en": "Checkout"},
        "choose": {"zh-CN": "选择支付方式", "en": "Choose how to pay"},
        "switch": {"zh-CN": "换一种支付方式", "en": "Pay another way"},
        "waiting": {"zh-CN": "等待支付结果…", "en": "Waiting for the payment…"},
        "paid_heading": {"zh-CN": "支付成功", "en": "Payment received"},
        "paid_text": {
            "zh-CN": "这笔订单已经支付,无需再次付款。",
            "en": "This order is paid. There is nothing more to pay.",
        },
        "back_to_merchant": {"zh-CN": "返回商户", "en": "Back to the merchant"},
        "expired_heading": {"zh-CN": "支付已过期", "en": "This payment has expired"},
        "expired_text": {
            "zh-CN": "这个付款链接已失效,请回到商户重新下单。",
            "en": "This payment link is no longer valid. Please go back to the merchant and start again.",
        },
        "missing_heading": {"zh-CN": "找不到这笔支付", "en": "Payment not found"},
        "missing_text": {
            "zh-CN": "链接不完整或已失效,请回到商户重新下单。",
            "en": "The link is incomplete or no longer valid. Please go back to the merchant.",
        },
        "expires_at": {"zh-CN": "有效期至", "en": "Pay before"},
        "channel_failed": {
            "zh-CN": "这种支付方式暂时不可用,请稍后再试或换一种方式。",
            "en": "This way to pay is not available right now. Please try again or choose another.",
        },
        "secured_by": {"zh-CN": "由 paygate 提供安全支付", "en": "Secure payment by paygate"},
        "scan_wechat": {"zh-CN": "请用微信扫一扫", "en": "Scan with WeChat"},
        "scan_alipay": {"zh-CN": "请用支付宝扫一扫", "en": "Scan with Alipay"},
        "go_alipay": {"zh-CN": "前往支付宝付款", "en": "Continue to Alipay"},
        "go_unionpay": {"zh-CN": "前往银联付款", "en": "Continue to UnionPay"},
        "WX_NATIVE": {"zh-CN": "微信支付(扫码)", "en": "WeChat Pay (QR code)"},
        "ALI_QRCODE": {"zh-CN": "支付宝(扫码)", "en": "Alipay (QR code)"},
        "ALI_WEB": {"zh-CN": "支付宝网页支付", "en": "Alipay (web)"},
        "ALI_WAP": {"zh-CN": "支付宝(手机)", "en": "Alipay (phone)"},
        "UN_WEB": {"zh-CN": "银联在线支付", "en": "UnionPay (web)"},
    }
)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True)
class ProviderForm:
    action: str
    method: str
    fields: list[tuple[str, str]]

    @property
    def origin(self) -> str:
        parts = urlsplit(self.action)
        return f"{parts.scheme}://{parts.netloc}"


class _FormReader(HTMLParser):
    """The first form of the provider's HTML: its action, method and inputs (its script is dropped)."""

    def __init__(self) -> None:
        super().__init__()
        self.form: ProviderForm | None = None
        self._fields: list[tuple[str, str]] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and self.form is None and not self._inside:
            self._inside = True
            self.form = ProviderForm(values.get("action", ""), values.get("method", "post").lower(), self._fields)
        elif tag == "input" and self._inside and values.get("name"):
            self._fields.append((values["name"], values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def provider_form(html: str) -> ProviderForm | None:
    """None unless the HTML holds a form posting to an https (or, locally configured, http) URL."""
    reader = _FormReader()
    reader.feed(html)
    form = reader.form
    if form is None or urlsplit(form.action).scheme not in ("https", "http") or form.method not in ("get", "post"):
        return None
    return form


@dataclass(frozen=True)
class Payment:
    """How the page lets the payer pay the chosen channel's bill."""

    channel: str
    heading: str
    hint: str
    qr_content: str | None = None
    qr_svg: str | None = None
    form: ProviderForm | None = None
    link: str | None = None

    @property
    def form_targets(self) -> list[str]:
        return [self.form.origin] if self.form else []


def qr_svg(content: str) -> str:
    import segno

    return str(segno.make(content, error="m", micro=False).svg_inline(scale=6, border=2, omitsize=True))


def payment_for(bill: Bill, strings: dict[str, str]) -> Payment | None:
    """None while the bill has no payment parameters (BeeCloud's answer is still pending)."""
    params: dict[str, Any] = bill.payment_params or {}
    label = strings[bill.channel.value]
    if bill.channel.value == "WX_NATIVE" and params.get("code_url"):
        content = str(params["code_url"])
        return Payment("WX_NATIVE", label, strings["scan_wechat"], qr_content=content, qr_svg=qr_svg(content))
    if bill.channel.value in ("ALI_WEB", "ALI_QRCODE", "UN_WEB") and params.get("html"):
        form = provider_form(str(params["html"]))
        hint = strings["go_unionpay"] if bill.channel.value == "UN_WEB" else strings["go_alipay"]
        return Payment(bill.channel.value, label, hint, form=form) if form else None
    if bill.channel.value == "ALI_WAP" and params.get("url"):
        return Payment("ALI_WAP", label, strings["go_alipay"], link=str(params["url"]))
    return None


#: Paid on the device showing the page: a phone's browser opens Alipay's mobile cashier.
PHONE_CHANNELS = frozenset({"ALI_WAP"})


def channels_for_device(offered: list[str], *, phone: bool) -> list[str]:
    """The session's channels that the payer's device can pay with, in the merchant's order.

    A desktop gets the QR codes and the web cashiers, a phone the mobile cashier: a QR code on the
    phone's own screen cannot be scanned by it. When none of the offered channels fits the device,
    all of them are shown rather than none (a phone can still submit a web cashier's form).
    """
    fitting = [channel for channel in offered if (channel in PHONE_CHANNELS) == phone]
    return fitting or list(offered)


def strings_for(language: Language) -> dict[str, str]:
    return CATALOG.for_language(language)
