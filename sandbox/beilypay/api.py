"""BeilyPay's public HTTP surface: the /v2 endpoints, /merchant/accountInfo and the test pay page."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from sandbox.beilypay.ledger import Account, Order, OrderKind, Status
from sandbox.beilypay.protocol import (
    INT32_MAX,
    INT64_MAX,
    BeilyPayError,
    ErrorCode,
    email_field,
    envelope_error,
    envelope_ok,
    integer_field,
    mobile_field,
    paise_to_inr,
    param_error,
    required_integer,
    required_text,
    text_field,
    url_field,
)
from sandbox.beilypay.service import BeilyPayService
from sandbox.beilypay.signing import SIGN_FIELD, loads, verify
from sandbox.common.faults import FaultPlan

logger = logging.getLogger("sandbox.beilypay")

# Request fault kinds BeilyPay adds to the shared ones: answered as business errors.
BUSINESS_FAULT_KINDS = frozenset({"rate_limit", "code"})
CARD = "Card"

Operation = Callable[[Request, Account, dict[str, Any]], dict[str, Any]]


class PublicApi:
    """Parses, authenticates and answers merchant requests; the business rules live in the service."""

    def __init__(self, service: BeilyPayService, plan: FaultPlan) -> None:
        self.service = service
        self.plan = plan

    def routes(self) -> list[Route]:
        account_info = self._endpoint(self.account_info)
        return [
            Route("/v2/trans/create", self._endpoint(self.trans_create), methods=["POST"]),
            Route("/v2/trans/query", self._endpoint(self.trans_query), methods=["POST"]),
            Route("/v2/payment/create", self._endpoint(self.payment_create), methods=["POST"]),
            Route("/v2/payment/query", self._endpoint(self.payment_query), methods=["POST"]),
            # The doc has no /v2 prefix here; the Python and PHP SDKs always add /v2. Serve both.
            Route("/merchant/accountInfo", account_info, methods=["POST"]),
            Route("/v2/merchant/accountInfo", account_info, methods=["POST"]),
            Route("/pay/{order_no}", self.pay_page, methods=["GET"]),
        ]

    def _endpoint(self, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
        """Common pipeline: injected business faults, JSON, app, rate limit, signature, then the operation."""

        async def endpoint(request: Request) -> Response:
            try:
                rule = self.plan.take("request", request.url.path, kinds=BUSINESS_FAULT_KINDS)
                if rule is not None:
                    code = ErrorCode.TOO_FREQUENT if rule.kind == "rate_limit" else rule.status
                    raise BeilyPayError(code)
                body = await read_body(request)
                account = self.authenticate(body)
                return envelope_ok(operation(request, account, body))
            except BeilyPayError as error:
                logger.info("%s -> %s %s", request.url.path, error.code, error.msg)
                return envelope_error(error)
            except Exception:
                logger.exception("unexpected error on %s", request.url.path)
                return envelope_error(BeilyPayError(ErrorCode.UNKNOWN_ERROR))

        return endpoint

    def authenticate(self, body: dict[str, Any]) -> Account:
        """Ids (10013), merchant (10001), app (10002), rate limit (10006), then signature (10004)."""
        app_id = required_integer(body, "appId", maximum=INT64_MAX)
        merchant_id = required_integer(body, "merchantId", maximum=INT32_MAX)
        account = self.service.ledger.authenticate(app_id, merchant_id)
        self.service.ledger.check_rate(account)
        received = body.get(SIGN_FIELD)
        if not isinstance(received, str) or not received.strip():
            raise param_error("sign is required")
        if not verify(body, account.config.secret, received):
            raise BeilyPayError(ErrorCode.SIGN_ERROR)
        return account

    # --- operations -------------------------------------------------------------------------------

    def trans_create(self, request: Request, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        account_type = text_field(body, "accountType", max_length=32)
        if account_type != CARD:
            raise BeilyPayError(ErrorCode.ACCOUNT_TYPE_NOT_SUPPORTED)
        fields = {
            "account": text_field(body, "account", max_length=64),
            "accountOwner": text_field(body, "accountOwner"),
            "accountType": account_type,
            "bankCode": text_field(body, "bankCode", max_length=32),
            "ifsc": text_field(body, "ifsc", max_length=32),
            "address": text_field(body, "address", max_length=256, required=False),
            "email": email_field(body),
            "mobile": mobile_field(body),
            "notifyUrl": url_field(body, "notifyUrl"),
            "outOrderNo": text_field(body, "outOrderNo", max_length=64),
            "payAmount": integer_field(body, "payAmount", minimum=self.service.config.min_pay_amount),
        }
        order = self.service.create_payout(account, fields)
        return self.service.trans_vo(order)

    def trans_query(self, request: Request, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        order_no = required_text(body, "orderNo", max_length=64)
        order = self.service.ledger.order_of(account, OrderKind.PAYOUT, order_no)
        return self.service.trans_order_vo(order)

    def payment_create(self, request: Request, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        fields = {
            "outOrderNo": text_field(body, "outOrderNo", max_length=64),
            "payAmount": integer_field(body, "payAmount", minimum=self.service.config.min_pay_amount),
            "notifyUrl": url_field(body, "notifyUrl"),
            "frontCallback": url_field(body, "frontCallback", required=False),
            "userId": text_field(body, "userId", required=False),
            "userName": text_field(body, "userName", required=False),
            "email": email_field(body),
            "mobile": mobile_field(body),
        }
        order = self.service.create_collection(account, fields)
        base = self.service.config.public_url or str(request.base_url)
        return self.service.pay_vo(order, f"{base.rstrip('/')}/pay/{order.order_no}")

    def payment_query(self, request: Request, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        order_no = required_text(body, "orderNo", max_length=64)
        order = self.service.ledger.order_of(account, OrderKind.COLLECTION, order_no)
        return self.service.payment_order_vo(order)

    def account_info(self, request: Request, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        return self.service.account_vo(account)

    # --- the test environment's payUrl ------------------------------------------------------------

    async def pay_page(self, request: Request) -> Response:
        """Visiting payUrl pays the order in full and fires the notify (test-environment behaviour)."""
        order_no = request.path_params["order_no"]
        order = self.service.ledger.order(order_no)
        if order is None or order.kind is not OrderKind.COLLECTION:
            return page("Unknown order", f"No collection {order_no}.", status_code=404)
        if order.status is Status.PENDING and request.method == "GET":
            try:
                self.service.finish_collection(order, Status.SUCCESS)
            except BeilyPayError:
                pass  # paid by a concurrent visit or the control API: fall through to "already paid"
            else:
                return page("Payment successful", payment_summary(order, "Paid"), order.details)
        if order.status is Status.SUCCESS:
            return page("Already paid", payment_summary(order, "This order is already paid"), order.details)
        if order.status is Status.FAILED:
            return page("Payment failed", payment_summary(order, "This order has failed"), order.details)
        return page("Pending", payment_summary(order, "Waiting for payment"), order.details)


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object body; any ``application/json*`` content type (Java adds ``;charset=UTF-8``)."""
    content_type = request.headers.get("content-type", "").strip().lower()
    if not content_type.startswith("application/json"):
        raise param_error("Content-Type must be application/json")
    raw = await request.body()
    try:
        body = loads(raw.decode("utf-8"))  # numbers keep their text: the sign covers it
    except (UnicodeDecodeError, ValueError):
        raise param_error("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise param_error("body must be a JSON object")
    return body


def payment_summary(order: Order, headline: str) -> str:
    return f"{headline}: order {order.order_no} ({order.out_order_no}), INR {paise_to_inr(order.pay_amount)}."


def page(title: str, text: str, details: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """A tiny page for the browser; links back to frontCallback when the merchant gave one."""
    link = ""
    front_callback = (details or {}).get("frontCallback")
    if front_callback:
        link = f'<p><a href="{html.escape(front_callback)}">Return to merchant</a></p>'
    content = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>BeilyPay sandbox: {html.escape(title)}"
        f"</title></head><body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{link}</body></html>"
    )
    return HTMLResponse(content, status_code=status_code)
