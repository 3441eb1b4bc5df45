"""What the page shows for a channel's bill: a QR code, a rebuilt provider form, or a link."""

from __future__ import annotations

from paygate.checkout.page import channels_for_device, payment_for, provider_form, qr_svg, strings_for
from paygate.models import Bill, BillStatus, Channel

ALIPAY_HTML = (
    '<form id="alipaysubmit" name="alipaysubmit" action="https://mapi.alipay.com/gateway.do?_input_charset=utf-8" '
    'method="get"><input type="hidden" name="subject" value="&lt;水&gt;"/>'
    '<input type="hidden" name="total_fee" value="12.34"/><input type="submit" value="ok" style="display:none;"></form>'
    "<script>document.forms['alipaysubmit'].submit();</script>"
)


def _bill(channel: str, params: dict) -> Bill:
    return Bill(
        app_id="app_0123456789abcdef", bill_no="B1", channel=Channel(channel), total_fee=1234, title="水",
        status=BillStatus.PENDING, payment_params=params, request_hash="h", provider_state="created",
        created_at_ms=1, updated_at_ms=1,
    )  # fmt: skip


def test_the_provider_form_is_rebuilt_from_its_fields_and_its_script_is_dropped():
    form = provider_form(ALIPAY_HTML)

    assert form is not None
    assert form.action == "https://mapi.alipay.com/gateway.do?_input_charset=utf-8"
    assert form.method == "get"
    assert form.fields == [("subject", "<水>"), ("total_fee", "12.34")]  # the unnamed submit button is not a field
    assert form.origin == "https://mapi.alipay.com"


def test_a_form_posting_anywhere_but_http_s_is_refused():
    assert provider_form('<form action="javascript:alert(1)" method="post"></form>') is None
    assert provider_form('<form action="https://x.example/" method="dialog"></form>') is None
    assert provider_form("<p>no form</p>") is None


def test_each_channel_is_paid_its_own_way():
    strings = strings_for("en")

    wechat = payment_for(_bill("WX_NATIVE", {"code_url": "weixin://wxpay/bizpayurl?pr=abc"}), strings)
    assert wechat is not None
    assert wechat.qr_content == "weixin://wxpay/bizpayurl?pr=abc"
    assert wechat.qr_svg is not None
    assert wechat.qr_svg.startswith("<svg")
    assert wechat.form_targets == []
    web = payment_for(_bill("ALI_WEB", {"html": ALIPAY_HTML}), strings)
    assert web is not None
    assert web.form_targets == ["https://mapi.alipay.com"]
    phone = payment_for(_bill("ALI_WAP", {"url": "https://mclient.alipay.com/x"}), strings)
    assert phone is not None
    assert phone.link == "https://mclient.alipay.com/x"
    assert payment_for(_bill("WX_NATIVE", {}), strings) is None  # no parameters yet: nothing to show


def test_the_qr_code_is_an_inline_svg_without_script():
    svg = qr_svg("http://127.0.0.1:8101/pay/app/B1")

    assert svg.startswith("<svg")
    assert "<script" not in svg
    assert "onload" not in svg


def test_a_phone_is_offered_the_mobile_cashier_and_a_desktop_the_qr_codes_and_web_cashiers():
    offered = ["ALI_WAP", "WX_NATIVE", "UN_WEB", "ALI_QRCODE", "ALI_WEB"]

    assert channels_for_device(offered, phone=True) == ["ALI_WAP"]
    assert channels_for_device(offered, phone=False) == ["WX_NATIVE", "UN_WEB", "ALI_QRCODE", "ALI_WEB"]


def test_a_device_that_fits_none_of_the_channels_is_offered_them_all():
    assert channels_for_device(["WX_NATIVE", "ALI_WEB"], phone=True) == ["WX_NATIVE", "ALI_WEB"]
    assert channels_for_device(["ALI_WAP"], phone=False) == ["ALI_WAP"]
