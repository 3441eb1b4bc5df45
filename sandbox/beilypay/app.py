"""``create_app``: the BeilyPay emulator as one Starlette application."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from sandbox.beilypay.api import BUSINESS_FAULT_KINDS, PublicApi
from sandbox.beilypay.config import BeilyPayAppConfig, BeilyPayConfig
from sandbox.beilypay.control import ControlApi
from sandbox.beilypay.ledger import Ledger
from sandbox.beilypay.orderbook import beilypay_order_book
from sandbox.beilypay.protocol import SUCCESS_MSG
from sandbox.beilypay.service import BeilyPayService
from sandbox.beilypay.signing import SIGN_FIELD
from sandbox.common.control import control_routes
from sandbox.common.faults import FaultMiddleware, FaultPlan
from sandbox.common.notifier import Notifier
from sandbox.common.page import page_routes

__all__ = ["BeilyPayAppConfig", "BeilyPayConfig", "create_app"]


def is_ack(response_text: str) -> bool:
    """The doc: any answer that contains ``SUCC``, in any format, acknowledges a notify."""
    return SUCCESS_MSG in response_text


def create_app(config: BeilyPayConfig) -> Starlette:
    """A fresh emulator with its own state; ``app.state.service`` gives in-process access to it."""
    plan = FaultPlan(extra_request_kinds=BUSINESS_FAULT_KINDS)
    notifier = Notifier(
        schedule=config.notify_schedule,
        time_scale=config.time_scale,
        is_ack=is_ack,
        faults=plan,
        signature_field=SIGN_FIELD,
        timeout_s=config.notify_timeout_s,
    )
    ledger = Ledger(config.apps, default_rate_limit_per_s=config.rate_limit_per_s)
    service = BeilyPayService(config, ledger, notifier)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.resume()  # nothing to do on a first start; after a crash, the work in flight
        yield
        service.cancel_timers()
        await notifier.aclose()

    routes = [
        *PublicApi(service, plan).routes(),
        *ControlApi(service).routes(),
        *control_routes(plan=plan, notifier=notifier, reset=service.reset),
        *page_routes(beilypay_order_book(service), notifier),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(FaultMiddleware, plan=plan, time_scale=config.time_scale)
    app.state.service = service
    app.state.faults = plan
    return app
