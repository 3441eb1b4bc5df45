"""The small HTML pages a payer (or curl) sees on the sandbox's pay and refund-confirm URLs."""

from __future__ import annotations

import html

from sandbox.beecloud.state import Bill, Refund

#: Seconds the receipt stays before the cashier sends the payer on to the merchant's return_url.
RETURN_DELAY_SECONDS = 1


def _page(title: str, body: str, head: str = "") -> str:
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>{head}</head><body>{body}</body></html>"
    )


def _amount(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


def pay_page(bill: Bill, *, newly_paid: bool) -> str:
    """Receipt after paying; says 'already paid' on a repeat visit (no second webhook).

    With a return_url the page then goes there by itself, as the real cashiers do ("the current
    page jumps to the merchant's page"), and keeps a link for a browser that does not.
    """
    heading = "Payment succeeded" if newly_paid else "This bill is already paid"
    link = head = ""
    if bill.request.return_url:
        href = html.escape(bill.request.return_url)
        link = f"<p><a id='return' href='{href}'>Back to the merchant</a></p>"
        head = f"<meta http-equiv='refresh' content='{RETURN_DELAY_SECONDS};url={href}'>"
    body = (
        f"<h1>{heading}</h1>"
        f"<p>BeeCloud sandbox, channel {html.escape(bill.channel)}</p>"
        f"<p>Bill <b id='bill_no'>{html.escape(bill.bill_no)}</b>: {html.escape(bill.request.title)}, "
        f"{_amount(bill.request.total_fee)}</p>{link}"
    )
    return _page(heading, body, head)


def refund_page(refund: Refund, *, newly_confirmed: bool) -> str:
    """Stand-in for Alipay's refund password page: visiting it confirms the refund."""
    heading = "Refund confirmed" if newly_confirmed else f"Refund {refund.status.value.lower()}"
    body = (
        f"<h1>{heading}</h1><p>Refund <b id='refund_no'>{html.escape(refund.refund_no)}</b> of bill "
        f"{html.escape(refund.bill.bill_no)}: {_amount(refund.refund_fee)}</p>"
    )
    return _page(heading, body)


def not_found_page(what: str) -> str:
    """A 404 page for an unknown bill or refund."""
    return _page("Not found", f"<h1>No such {html.escape(what)}</h1>")
