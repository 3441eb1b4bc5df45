"""BeilyPay-specific ``/_sandbox`` routes: apps and balances, order state, forced completion."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.beilypay.config import BeilyPayAppConfig
from sandbox.beilypay.ledger import Account, Order, OrderKind, Status
from sandbox.beilypay.protocol import BeilyPayError, ErrorCode, JsonResponse, paise_to_inr
from sandbox.beilypay.service import BeilyPayService
from sandbox.common.control import bad_request, read_json_object

HTTP_STATUS_OF: dict[int, int] = {ErrorCode.ORDER_NOT_EXIST: 404, ErrorCode.APP_NOT_EXIST: 404,
                                  ErrorCode.ORDER_FINISHED: 409}  # fmt: skip


def account_json(account: Account) -> dict[str, Any]:
    """An app as the control API shows it (never its secret)."""
    return {
        "app_id": account.config.app_id,
        "merchant_id": account.config.merchant_id,
        "balance": account.balance,
        "settlementAmount": paise_to_inr(account.balance),
        "rate_limit_per_s": account.config.rate_limit_per_s,
    }


def error_response(error: BeilyPayError) -> JSONResponse:
    """10002/10003 → 404, 10009 → 409, anything else → 400; the BeilyPay code stays in the body."""
    status = HTTP_STATUS_OF.get(error.code, 400)
    return JSONResponse({"code": error.code, "msg": error.msg, "error": error.msg}, status_code=status)


def completion_status(body: dict[str, Any]) -> Status:
    value = body.get("status")
    if isinstance(value, bool) or value not in (2, 3):
        raise ValueError("status must be 2 (success) or 3 (failed)")
    return Status(value)


def collection_paid(body: dict[str, Any], status: Status) -> int | None:
    """Optional ``paid`` (paise) for a successful collection; may differ from payAmount."""
    paid = body.get("paid")
    if paid is None:
        return None
    if isinstance(paid, bool) or not isinstance(paid, int) or paid < 0:
        raise ValueError("paid must be an integer >= 0 (paise)")
    if status is Status.FAILED and paid != 0:
        raise ValueError("paid applies to status 2 only")
    return paid


class ControlApi:
    """Routes the local stack and the gateway tests use to set up and steer the emulator."""

    def __init__(self, service: BeilyPayService) -> None:
        self.service = service
        self.ledger = service.ledger

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/apps", self.register_app, methods=["POST"]),
            Route("/_sandbox/apps", self.list_apps, methods=["GET"]),
            Route("/_sandbox/apps/{app_id:int}/balance", self.set_balance, methods=["POST"]),
            Route("/_sandbox/orders", self.list_orders, methods=["GET"]),
            Route("/_sandbox/orders/{order_no}", self.get_order, methods=["GET"]),
            Route("/_sandbox/collections/{order_no}/complete", self.complete_collection, methods=["POST"]),
            Route("/_sandbox/payouts/{order_no}/complete", self.complete_payout, methods=["POST"]),
        ]

    async def register_app(self, request: Request) -> Response:
        """Add an app (201) or replace its ids, secret and balance (200); orders are kept."""
        try:
            app = BeilyPayAppConfig.from_json(await read_json_object(request))
        except (ValueError, TypeError) as exc:
            return bad_request(str(exc))
        created = self.ledger.register_app(app)
        account = self.ledger.account(app.app_id)
        assert account is not None
        return JsonResponse(account_json(account), status_code=201 if created else 200)

    async def list_apps(self, request: Request) -> Response:
        return JsonResponse({"apps": [account_json(account) for account in self.ledger.apps()]})

    async def set_balance(self, request: Request) -> Response:
        try:
            balance = (await read_json_object(request)).get("balance")
            if isinstance(balance, bool) or not isinstance(balance, int) or balance < 0:
                raise ValueError("balance must be an integer >= 0 (paise)")
            account = self.ledger.set_balance(request.path_params["app_id"], balance)
        except ValueError as exc:
            return bad_request(str(exc))
        except BeilyPayError as error:
            return error_response(error)
        return JsonResponse(account_json(account))

    async def list_orders(self, request: Request) -> Response:
        """Orders filtered by ``app_id`` / ``out_order_no`` (finds an order whose create answer was lost)."""
        app_id = request.query_params.get("app_id")
        out_order_no = request.query_params.get("out_order_no")
        if app_id is not None and not app_id.isdigit():
            return bad_request("app_id must be an integer")
        orders = [
            order.as_json()
            for order in self.ledger.orders()
            if (app_id is None or order.app_id == int(app_id))
            and (out_order_no is None or order.out_order_no == out_order_no)
        ]
        return JsonResponse({"orders": orders})

    async def get_order(self, request: Request) -> Response:
        try:
            order = self._find(request.path_params["order_no"])
        except BeilyPayError as error:
            return error_response(error)
        return JsonResponse(order.as_json())

    async def complete_collection(self, request: Request) -> Response:
        """Force a collection's result, e.g. an underpayment (``paid`` < payAmount) or a failure."""
        try:
            body = await read_json_object(request)
            status = completion_status(body)
            paid = collection_paid(body, status)
            order = self._find(request.path_params["order_no"], OrderKind.COLLECTION)
            self.service.finish_collection(order, status, paid)
        except ValueError as exc:
            return bad_request(str(exc))
        except BeilyPayError as error:
            return error_response(error)
        return JsonResponse({"code": 200, "msg": "SUCC", "data": order.as_json()})

    async def complete_payout(self, request: Request) -> Response:
        """Finish a payout now (the only way out of pending for accounts ending 9999)."""
        try:
            status = completion_status(await read_json_object(request))
            order = self._find(request.path_params["order_no"], OrderKind.PAYOUT)
            self.service.finish_payout(order, status)
        except ValueError as exc:
            return bad_request(str(exc))
        except BeilyPayError as error:
            return error_response(error)
        return JsonResponse({"code": 200, "msg": "SUCC", "data": order.as_json()})

    def _find(self, order_no: str, kind: OrderKind | None = None) -> Order:
        order = self.ledger.order(order_no)
        if order is None or (kind is not None and order.kind is not kind):
            raise BeilyPayError(ErrorCode.ORDER_NOT_EXIST)
        return order
