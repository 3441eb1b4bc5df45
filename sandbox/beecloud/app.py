"""The BeeCloud v1 emulator as a Starlette app: REST endpoints, pay pages and the control API."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.beecloud.channels import pay_url, payment_params, refund_url
from sandbox.beecloud.config import BeeCloudAppConfig, BeeCloudConfig
from sandbox.beecloud.orderbook import beecloud_order_book
from sandbox.beecloud.pages import not_found_page, pay_page, refund_page
from sandbox.beecloud.para import ParaError, decode_para
from sandbox.beecloud.protocol import (
    ALI_PAY_CHANNELS,
    BeeCloudError,
    ResultCode,
    envelope,
    error_response,
    json_response,
    parent_channel,
)
from sandbox.beecloud.service import BeeCloudEmulator, china_today, now_ms
from sandbox.beecloud.state import Bill, Refund
from sandbox.beecloud.validation import (
    parse_bill_request,
    parse_query_request,
    parse_refund_request,
    parse_refund_status_request,
)
from sandbox.beecloud.webhooks import webhook_ref
from sandbox.common.control import bad_request, control_routes, read_json_object
from sandbox.common.faults import FaultMiddleware, FaultPlan
from sandbox.common.page import page_routes

logger = logging.getLogger("sandbox.beecloud")

MAX_BODY_BYTES = 1024 * 1024
Params = dict[str, Any]
RestHandler = Callable[[Request], Awaitable[dict[str, Any]]]

__all__ = ["BeeCloudAppConfig", "BeeCloudConfig", "create_app"]


BUSINESS_FAULT_KINDS = frozenset({"code"})  # answer result_code `status`, unprocessed


def _injected_answer(code: int) -> dict[str, Any]:
    """The envelope of a `code` fault: any result_code, with its name when the v1 table has one."""
    try:
        message = ResultCode(code).name
    except ValueError:
        message = "UNKNOWN"
    return {"result_code": code, "result_msg": message, "err_detail": "injected by a fault rule"}


def _rest_endpoint(handler: RestHandler, plan: FaultPlan) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler so every outcome is HTTP 200 JSON with the BeeCloud envelope."""

    async def endpoint(request: Request) -> Response:
        try:
            rule = plan.take("request", request.url.path, kinds=BUSINESS_FAULT_KINDS)
            if rule is not None:
                return json_response(_injected_answer(rule.status))
            return json_response(await handler(request))
        except BeeCloudError as error:
            return error_response(error)
        except Exception:  # the provider's own answer to the unexpected is code 14
            logger.exception("unexpected error on %s", request.url.path)
            return json_response(envelope(ResultCode.RUN_TIME_ERROR, "internal error"))

    return endpoint


async def read_body_params(request: Request) -> Params:
    """The POST body: a JSON object under any ``application/json*`` content type."""
    content_type = request.headers.get("content-type", "").strip().lower()
    if content_type and not content_type.startswith("application/json"):
        raise BeeCloudError(ResultCode.PARAM_INVALID, "Content-Type must be application/json")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise BeeCloudError(ResultCode.PARAM_INVALID, "request body is too large")
    try:
        params = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BeeCloudError(ResultCode.PARAM_INVALID, "request body is not JSON") from exc
    if not isinstance(params, dict):
        raise BeeCloudError(ResultCode.PARAM_INVALID, "request body must be a JSON object")
    return params


def read_para(request: Request) -> Params:
    """The GET endpoints' single ``para=`` parameter, decoded leniently (see :mod:`.para`)."""
    para = request.query_params.get("para")
    if para is None or not para.strip():
        raise BeeCloudError(ResultCode.MISS_PARAM, "para is required")
    try:
        return decode_para(para)
    except ParaError as exc:
        raise BeeCloudError(ResultCode.PARAM_INVALID, str(exc)) from exc


def bill_item(bill: Bill) -> dict[str, Any]:
    """A ``bills`` entry: every key present and non-null (Java v1 dereferences them all)."""
    return {
        "bill_no": bill.bill_no,
        "total_fee": bill.request.total_fee,
        "channel": bill.channel,
        "title": bill.request.title,
        "spay_result": bill.paid,
        "created_time": bill.created_ms,
    }


def refund_item(refund: Refund) -> dict[str, Any]:
    """A ``refunds`` entry, with the ``title`` and ``channel`` later v1 docs (and Java v1) need."""
    bill = refund.bill
    return {
        "bill_no": bill.bill_no,
        "refund_no": refund.refund_no,
        "title": bill.request.title,
        "channel": bill.channel,
        "total_fee": bill.request.total_fee,
        "refund_fee": refund.refund_fee,
        "finish": refund.finished,
        "result": refund.succeeded,
        "created_time": refund.created_ms,
    }


class BeeCloudRoutes:
    """Request handlers bound to one emulator instance."""

    def __init__(self, emulator: BeeCloudEmulator) -> None:
        self.emulator = emulator
        self.store = emulator.store
        self.config = emulator.config

    def base_url(self, request: Request) -> str:
        """Where pay pages live: the configured public URL, else the URL the caller used."""
        return self.config.public_url or str(request.base_url).rstrip("/")

    # -- /1/rest ------------------------------------------------------------------------------

    async def create_bill(self, request: Request) -> dict[str, Any]:
        params = await read_body_params(request)
        app = self.emulator.authenticate(params, allow_master_secret=False)
        bill_request = parse_bill_request(params, min_bill_no_len=self.config.min_bill_no_len)
        bill = self.emulator.create_bill(app, bill_request)
        fields = payment_params(bill, base_url=self.base_url(request), app_secret=app.app_secret, now_ms=now_ms())
        return envelope(id=bill.id, **fields)

    async def create_refund(self, request: Request) -> dict[str, Any]:
        params = await read_body_params(request)
        app = self.emulator.authenticate(params, allow_master_secret=True)
        refund_request = parse_refund_request(
            params, today=china_today(), tolerance_days=self.config.refund_date_tolerance_days
        )
        refund = self.emulator.create_refund(app, refund_request)
        extra: dict[str, Any] = {}
        if refund.bill.channel in ALI_PAY_CHANNELS:
            extra["url"] = refund_url(self.base_url(request), app.app_id, refund.refund_no)
        return envelope(id=refund.id, **extra)

    async def query_bills(self, request: Request) -> dict[str, Any]:
        params = read_para(request)
        app = self.emulator.authenticate(params, allow_master_secret=False)
        query = parse_query_request(params, with_refund_no=False)
        items = [bill_item(bill) for bill in self.store.query_bills(app.app_id, query)]
        return envelope(count=len(items), bills=items)

    async def query_refunds(self, request: Request) -> dict[str, Any]:
        params = read_para(request)
        app = self.emulator.authenticate(params, allow_master_secret=False)
        query = parse_query_request(params, with_refund_no=True)
        for refund in list(self.store.refunds.values()):
            if refund.app_id == app.app_id:
                self.emulator.settle_if_due(refund)
        items = [refund_item(refund) for refund in self.store.query_refunds(app.app_id, query)]
        return envelope(count=len(items), refunds=items)

    async def refund_status(self, request: Request) -> dict[str, Any]:
        params = read_para(request)
        app = self.emulator.authenticate(params, allow_master_secret=False)
        status_request = parse_refund_status_request(params)
        refund = self.store.get_refund(app.app_id, status_request.refund_no)
        if refund is None or parent_channel(refund.bill.channel) != status_request.channel:
            raise BeeCloudError(ResultCode.NO_SUCH_REFUND, f"no WX refund {status_request.refund_no}")
        self.emulator.settle_if_due(refund)
        return envelope(refund_status=refund.status.value)

    # -- pages --------------------------------------------------------------------------------

    async def pay_page(self, request: Request) -> Response:
        bill = self.store.get_bill(request.path_params["app_id"], request.path_params["bill_no"])
        if bill is None:
            return HTMLResponse(not_found_page("bill"), status_code=404)
        newly_paid = self.emulator.pay(bill)
        return HTMLResponse(pay_page(bill, newly_paid=newly_paid))

    async def refund_page(self, request: Request) -> Response:
        refund = self.store.get_refund(request.path_params["app_id"], request.path_params["refund_no"])
        if refund is None or refund.bill.channel not in ALI_PAY_CHANNELS:
            return HTMLResponse(not_found_page("refund"), status_code=404)
        confirmed = self.emulator.finish_refund(refund, True)
        return HTMLResponse(refund_page(refund, newly_confirmed=confirmed))

    # -- /_sandbox ----------------------------------------------------------------------------

    def bill_json(self, request: Request, bill: Bill) -> dict[str, Any]:
        ref = webhook_ref(bill.app_id, "PAY", bill.bill_no)
        return {
            "id": bill.id,
            "app_id": bill.app_id,
            **asdict(bill.request),
            "paid": bill.paid,
            "created_time": bill.created_ms,
            "paid_time": bill.paid_ms,
            "channel_trade_no": bill.channel_trade_no,
            "pay_url": pay_url(self.base_url(request), bill.app_id, bill.bill_no),
            "refunds": [self.refund_json(refund) for refund in bill.refunds],
            "webhook_ref": ref,
            "notifications": [asdict(a) for a in self.emulator.notifier.attempts(ref)],
        }

    def refund_json(self, refund: Refund) -> dict[str, Any]:
        ref = webhook_ref(refund.app_id, "REFUND", refund.refund_no)
        return {
            "id": refund.id,
            "app_id": refund.app_id,
            "refund_no": refund.refund_no,
            "bill_no": refund.bill.bill_no,
            "refund_fee": refund.refund_fee,
            "optional": refund.optional,
            "status": refund.status.value,
            "finish": refund.finished,
            "result": refund.succeeded,
            "created_time": refund.created_ms,
            "finished_time": refund.finished_ms,
            "webhook_ref": ref,
            "notifications": [asdict(a) for a in self.emulator.notifier.attempts(ref)],
        }

    async def control_get_bill(self, request: Request) -> Response:
        bill = self.store.get_bill(request.path_params["app_id"], request.path_params["bill_no"])
        if bill is None:
            return JSONResponse({"error": "no such bill"}, status_code=404)
        return JSONResponse(self.bill_json(request, bill))

    async def control_pay_bill(self, request: Request) -> Response:
        bill = self.store.get_bill(request.path_params["app_id"], request.path_params["bill_no"])
        if bill is None:
            return JSONResponse({"error": "no such bill"}, status_code=404)
        newly_paid = self.emulator.pay(bill)
        return JSONResponse({"already_paid": not newly_paid, "bill": self.bill_json(request, bill)})

    async def control_get_refund(self, request: Request) -> Response:
        refund = self.store.get_refund(request.path_params["app_id"], request.path_params["refund_no"])
        if refund is None:
            return JSONResponse({"error": "no such refund"}, status_code=404)
        return JSONResponse(self.refund_json(refund))

    async def control_complete_refund(self, request: Request) -> Response:
        refund = self.store.get_refund(request.path_params["app_id"], request.path_params["refund_no"])
        if refund is None:
            return JSONResponse({"error": "no such refund"}, status_code=404)
        try:
            body = await read_json_object(request)
        except ValueError as exc:
            return bad_request(str(exc))
        result = body.get("result", True)
        if not isinstance(result, bool):
            return bad_request("result must be true or false")
        if not self.emulator.finish_refund(refund, result) and refund.succeeded != result:
            return JSONResponse(
                {"error": f"refund already finished as {refund.status.value}", **self.refund_json(refund)},
                status_code=409,
            )
        return JSONResponse(self.refund_json(refund))

    async def control_register_app(self, request: Request) -> Response:
        try:
            app = BeeCloudAppConfig.from_mapping(await read_json_object(request))
        except (ValueError, TypeError) as exc:
            return bad_request(str(exc))
        created = self.store.register_app(app)
        return JSONResponse({"app_id": app.app_id, "created": created}, status_code=201 if created else 200)

    async def control_list_apps(self, request: Request) -> Response:
        apps = [{"app_id": app.app_id, "webhook_url": app.webhook_url} for app in self.store.apps.values()]
        return JSONResponse({"apps": apps})

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/1/rest/bill", _rest_endpoint(self.create_bill, self.emulator.plan), methods=["POST"]),
            Route("/1/rest/refund", _rest_endpoint(self.create_refund, self.emulator.plan), methods=["POST"]),
            Route("/1/rest/bills", _rest_endpoint(self.query_bills, self.emulator.plan), methods=["GET"]),
            Route("/1/rest/refunds", _rest_endpoint(self.query_refunds, self.emulator.plan), methods=["GET"]),
            Route("/1/rest/refund/status", _rest_endpoint(self.refund_status, self.emulator.plan), methods=["GET"]),
            Route("/pay/{app_id}/{bill_no}", self.pay_page, methods=["GET", "POST"]),
            Route("/refund/{app_id}/{refund_no}", self.refund_page, methods=["GET", "POST"]),
            Route("/_sandbox/apps", self.control_register_app, methods=["POST"]),
            Route("/_sandbox/apps", self.control_list_apps, methods=["GET"]),
            Route("/_sandbox/bills/{app_id}/{bill_no}", self.control_get_bill, methods=["GET"]),
            Route("/_sandbox/bills/{app_id}/{bill_no}/pay", self.control_pay_bill, methods=["POST"]),
            Route("/_sandbox/refunds/{app_id}/{refund_no}", self.control_get_refund, methods=["GET"]),
            Route(
                "/_sandbox/refunds/{app_id}/{refund_no}/complete",
                self.control_complete_refund,
                methods=["POST"],
            ),
        ]


def create_app(config: BeeCloudConfig) -> Starlette:
    """Build the emulator; ``app.state.emulator`` exposes its state to in-process tests."""
    plan = FaultPlan(extra_request_kinds=BUSINESS_FAULT_KINDS)
    emulator = BeeCloudEmulator(config, plan)
    handlers = BeeCloudRoutes(emulator)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        emulator.resume()  # nothing to do on a first start; after a crash, the work in flight
        yield
        await emulator.aclose()

    routes = [
        *handlers.routes(),
        *control_routes(plan=plan, notifier=emulator.notifier, reset=emulator.reset),
        *page_routes(beecloud_order_book(emulator), emulator.notifier),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, plan=plan, time_scale=config.time_scale)],
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    app.state.fault_plan = plan
    return app
