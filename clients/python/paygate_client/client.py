"""PaygateClient (sync) and AsyncPaygateClient: the same methods, the same retries, the same errors.

with PaygateClient("pgk.app_….…", "https://…/dev") as paygate:
    bill = paygate.create_bill(bill_no="A0000001", channel="WX_NATIVE", total_fee=100, title="tea")
    bill = paygate.get_bill("A0000001")
    session = paygate.create_checkout_session(100, "tea", ["WX_NATIVE", "ALI_WEB"], "https://shop.example/paid")
    # send the payer to session.url; on the return, paygate_client.verify_checkout_return(query, secret)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Self

import httpx

from paygate_client._core import (
    USER_AGENT,
    Call,
    M,
    RetryPolicy,
    build_call,
    parse,
    retry_after_failure,
    should_retry,
)
from paygate_client.errors import ConnectionFailedError
from paygate_client.models import (
    Balance,
    Bill,
    BillList,
    BillStatus,
    Channel,
    CheckoutSession,
    Collection,
    CollectionList,
    CreateBillRequest,
    CreateCheckoutSessionRequest,
    CreateCollectionRequest,
    CreatedWebhookEndpoint,
    CreatePayoutRequest,
    CreateRefundRequest,
    CreateWebhookEndpointRequest,
    DeletedWebhookEndpoint,
    DeliveryList,
    Payout,
    PayoutList,
    Refund,
    RefundList,
    RefundStatus,
    Resend,
    RotateSecretRequest,
    TransferStatus,
    WebhookEndpoint,
    WebhookEndpointList,
)

DEFAULT_TIMEOUT_S = 35.0  # above API Gateway's 29 s integration limit: its 504 arrives before ours


def _headers(api_key: str) -> dict[str, str]:
    if not api_key:
        raise ValueError("api_key is required")
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}


def _list_query(
    *,
    created_from: datetime | str | None,
    created_to: datetime | str | None,
    limit: int | None,
    cursor: str | None,
    **filters: Any,
) -> dict[str, Any]:
    return {**filters, "created_from": created_from, "created_to": created_to, "limit": limit, "cursor": cursor}


class _Operations:
    """The API's operations as Calls (shared by both clients; each sends them its own way)."""

    @staticmethod
    def create_bill(
        bill_no: str,
        channel: Channel | str,
        total_fee: int,
        title: str,
        *,
        optional: dict[str, Any] | None = None,
        return_url: str | None = None,
        openid: str | None = None,
        show_url: str | None = None,
        qr_pay_mode: str | None = None,
        use_app: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Call:
        body = CreateBillRequest.model_validate(
            {
                "bill_no": bill_no,
                "channel": channel,
                "total_fee": total_fee,
                "title": title,
                "optional": optional,
                "return_url": return_url,
                "openid": openid,
                "show_url": show_url,
                "qr_pay_mode": qr_pay_mode,
                "use_app": use_app,
            }
        )
        return build_call("create_bill", body=body, idempotency_key=idempotency_key)

    @staticmethod
    def create_refund(
        refund_no: str,
        bill_no: str,
        refund_fee: int,
        *,
        optional: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Call:
        body = CreateRefundRequest(refund_no=refund_no, bill_no=bill_no, refund_fee=refund_fee, optional=optional)
        return build_call("create_refund", body=body, idempotency_key=idempotency_key)

    @staticmethod
    def create_payout(request: CreatePayoutRequest | dict[str, Any], *, idempotency_key: str | None = None) -> Call:
        body = CreatePayoutRequest.model_validate(request)
        return build_call("create_payout", body=body, idempotency_key=idempotency_key)

    @staticmethod
    def create_collection(
        request: CreateCollectionRequest | dict[str, Any], *, idempotency_key: str | None = None
    ) -> Call:
        body = CreateCollectionRequest.model_validate(request)
        return build_call("create_collection", body=body, idempotency_key=idempotency_key)

    @staticmethod
    def create_checkout_session(
        total_fee: int,
        title: str,
        channels: Sequence[Channel | str],
        return_url: str,
        *,
        bill_no_prefix: str | None = None,
        metadata: dict[str, Any] | None = None,
        expires_in: int | None = None,
        idempotency_key: str | None = None,
    ) -> Call:
        body = CreateCheckoutSessionRequest.model_validate(
            {
                "total_fee": total_fee,
                "title": title,
                "channels": list(channels),
                "return_url": return_url,
                "bill_no_prefix": bill_no_prefix,
                "metadata": metadata,
                "expires_in": expires_in,
            }
        )
        return build_call("create_checkout_session", body=body, idempotency_key=idempotency_key)


class PaygateClient:
    """Synchronous client. Thread-safe (one httpx.Client); close it, or use it as a context manager."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._retry = retry or RetryPolicy()
        self._sleep = sleep

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- bills
    def create_bill(
        self,
        bill_no: str,
        channel: Channel | str,
        total_fee: int,
        title: str,
        *,
        optional: dict[str, Any] | None = None,
        return_url: str | None = None,
        openid: str | None = None,
        show_url: str | None = None,
        qr_pay_mode: str | None = None,
        use_app: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Bill:
        """Create a bill (or get the same one back for an identical repeat); amounts in fen."""
        call = _Operations.create_bill(
            bill_no, channel, total_fee, title, optional=optional, return_url=return_url, openid=openid,
            show_url=show_url, qr_pay_mode=qr_pay_mode, use_app=use_app, idempotency_key=idempotency_key,
        )  # fmt: skip
        return self._send(call, Bill)

    def get_bill(self, bill_no: str) -> Bill:
        return self._send(build_call("get_bill", path_params={"bill_no": bill_no}), Bill)

    def refresh_bill(self, bill_no: str) -> Bill:
        """Ask BeeCloud now whether a pending bill was paid (settles it if so: its webhook was lost)."""
        return self._send(build_call("refresh_bill", path_params={"bill_no": bill_no}), Bill)

    def list_bills(
        self,
        *,
        channel: Channel | str | None = None,
        status: BillStatus | str | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> BillList:
        query = _list_query(
            created_from=created_from, created_to=created_to, limit=limit, cursor=cursor, channel=channel, status=status
        )
        return self._send(build_call("list_bills", query=query), BillList)

    def iter_bills(self, **filters: Any) -> Iterator[Bill]:
        """Every bill matching the filters, newest first, following `next_cursor`."""
        cursor = None
        while True:
            page = self.list_bills(cursor=cursor, **filters)
            yield from page.data
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # -- refunds
    def create_refund(
        self,
        refund_no: str,
        bill_no: str,
        refund_fee: int,
        *,
        optional: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        call = _Operations.create_refund(
            refund_no, bill_no, refund_fee, optional=optional, idempotency_key=idempotency_key
        )
        return self._send(call, Refund)

    def get_refund(self, refund_no: str) -> Refund:
        return self._send(build_call("get_refund", path_params={"refund_no": refund_no}), Refund)

    def refresh_refund(self, refund_no: str) -> Refund:
        """Ask BeeCloud now where a pending refund stands (settles it if final)."""
        return self._send(build_call("refresh_refund", path_params={"refund_no": refund_no}), Refund)

    def list_refunds(
        self,
        *,
        bill_no: str | None = None,
        channel: Channel | str | None = None,
        status: RefundStatus | str | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RefundList:
        query = _list_query(
            created_from=created_from, created_to=created_to, limit=limit, cursor=cursor,
            bill_no=bill_no, channel=channel, status=status,
        )  # fmt: skip
        return self._send(build_call("list_refunds", query=query), RefundList)

    # -- payouts, collections, balance (BeilyPay, INR in paise)
    def create_payout(
        self, request: CreatePayoutRequest | dict[str, Any], *, idempotency_key: str | None = None
    ) -> Payout:
        return self._send(_Operations.create_payout(request, idempotency_key=idempotency_key), Payout)

    def get_payout(self, out_order_no: str) -> Payout:
        return self._send(build_call("get_payout", path_params={"out_order_no": out_order_no}), Payout)

    def list_payouts(
        self,
        *,
        status: TransferStatus | str | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> PayoutList:
        query = _list_query(created_from=created_from, created_to=created_to, limit=limit, cursor=cursor, status=status)
        return self._send(build_call("list_payouts", query=query), PayoutList)

    def create_collection(
        self, request: CreateCollectionRequest | dict[str, Any], *, idempotency_key: str | None = None
    ) -> Collection:
        return self._send(_Operations.create_collection(request, idempotency_key=idempotency_key), Collection)

    def get_collection(self, out_order_no: str) -> Collection:
        return self._send(build_call("get_collection", path_params={"out_order_no": out_order_no}), Collection)

    def list_collections(
        self,
        *,
        status: TransferStatus | str | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> CollectionList:
        query = _list_query(created_from=created_from, created_to=created_to, limit=limit, cursor=cursor, status=status)
        return self._send(build_call("list_collections", query=query), CollectionList)

    def get_balance(self) -> Balance:
        return self._send(build_call("get_balance"), Balance)

    # -- merchant webhooks
    def create_webhook_endpoint(
        self, url: str, event_types: list[str], *, description: str | None = None
    ) -> CreatedWebhookEndpoint:
        """Register an endpoint; the answer carries its signing secret, shown once. Not retried once sent."""
        body = CreateWebhookEndpointRequest(url=url, event_types=event_types, description=description)
        return self._send(build_call("create_webhook_endpoint", body=body), CreatedWebhookEndpoint)

    def list_webhook_endpoints(self) -> WebhookEndpointList:
        return self._send(build_call("list_webhook_endpoints"), WebhookEndpointList)

    def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        return self._send(build_call("get_webhook_endpoint", path_params={"endpoint_id": endpoint_id}), WebhookEndpoint)

    def delete_webhook_endpoint(self, endpoint_id: str) -> DeletedWebhookEndpoint:
        call = build_call("delete_webhook_endpoint", path_params={"endpoint_id": endpoint_id})
        return self._send(call, DeletedWebhookEndpoint)

    def rotate_webhook_secret(
        self, endpoint_id: str, *, expire_previous_after_s: int = 86_400
    ) -> CreatedWebhookEndpoint:
        """A new signing secret (shown once); the previous one keeps signing too for the given time. Not retried."""
        body = RotateSecretRequest(expire_previous_after_s=expire_previous_after_s)
        call = build_call("rotate_webhook_secret", path_params={"endpoint_id": endpoint_id}, body=body)
        return self._send(call, CreatedWebhookEndpoint)

    def list_deliveries(self, endpoint_id: str, *, limit: int | None = None, cursor: str | None = None) -> DeliveryList:
        call = build_call(
            "list_deliveries", path_params={"endpoint_id": endpoint_id}, query={"limit": limit, "cursor": cursor}
        )
        return self._send(call, DeliveryList)

    def resend_event(self, event_id: str, *, endpoint_id: str | None = None) -> Resend:
        """Queue the event again for its endpoints (or one); receivers dedupe on the event id."""
        call = build_call("resend_event", path_params={"event_id": event_id}, query={"endpoint_id": endpoint_id})
        return self._send(call, Resend)

    # -- hosted checkout
    def create_checkout_session(
        self,
        total_fee: int,
        title: str,
        channels: Sequence[Channel | str],
        return_url: str,
        *,
        bill_no_prefix: str | None = None,
        metadata: dict[str, Any] | None = None,
        expires_in: int | None = None,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """A hosted payment page for total_fee fen: send the payer to `url`; amounts in fen.

        The payer comes back to return_url with a signed query (verify_checkout_return); ship on the
        session's state (get_checkout_session) or the checkout.session.completed event.
        """
        call = _Operations.create_checkout_session(
            total_fee, title, channels, return_url, bill_no_prefix=bill_no_prefix, metadata=metadata,
            expires_in=expires_in, idempotency_key=idempotency_key,
        )  # fmt: skip
        return self._send(call, CheckoutSession)

    def get_checkout_session(self, session_id: str) -> CheckoutSession:
        return self._send(build_call("get_checkout_session", path_params={"session_id": session_id}), CheckoutSession)

    # -- transport
    def _send(self, call: Call, model: type[M]) -> M:
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    call.method, call.path, params=call.params, content=call.body, headers=call.headers
                )
            except httpx.TransportError as error:
                attempt += 1
                if attempt > self._retry.max_retries or not retry_after_failure(call, error):
                    raise ConnectionFailedError(
                        f"{call.method} {call.path}: {error!r}", idempotency_key=call.idempotency_key
                    ) from error
                self._sleep(self._retry.delay(attempt))
                continue
            if should_retry(call, response) and attempt < self._retry.max_retries:
                attempt += 1
                self._sleep(self._retry.delay(attempt, response))
                continue
            return parse(call, response, model)


class AsyncPaygateClient:
    """asyncio client: the same methods as PaygateClient, awaited."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=_headers(api_key), timeout=timeout, transport=transport
        )
        self._retry = retry or RetryPolicy()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_bill(
        self,
        bill_no: str,
        channel: Channel | str,
        total_fee: int,
        title: str,
        *,
        optional: dict[str, Any] | None = None,
        return_url: str | None = None,
        openid: str | None = None,
        show_url: str | None = None,
        qr_pay_mode: str | None = None,
        use_app: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Bill:
        call = _Operations.create_bill(
            bill_no, channel, total_fee, title, optional=optional, return_url=return_url, openid=openid,
            show_url=show_url, qr_pay_mode=qr_pay_mode, use_app=use_app, idempotency_key=idempotency_key,
        )  # fmt: skip
        return await self._send(call, Bill)

    async def get_bill(self, bill_no: str) -> Bill:
        return await self._send(build_call("get_bill", path_params={"bill_no": bill_no}), Bill)

    async def refresh_bill(self, bill_no: str) -> Bill:
        return await self._send(build_call("refresh_bill", path_params={"bill_no": bill_no}), Bill)

    async def list_bills(
        self,
        *,
        channel: Channel | str | None = None,
        status: BillStatus | str | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> BillList:
        query = _list_query(
            created_from=created_from, created_to=created_to, limit=limit, cursor=cursor, channel=channel, status=status
        )
        return await self._send(build_call("list_bills", query=query), BillList)

    async def iter_bills(self, **filters: Any) -> AsyncIterator[Bill]:
        cursor = None
        while True:
            page = await self.list_bills(cursor=cursor, **filters)
            for bill in page.data:
                yield bill
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def create_refund(
        self,
        refund_no: str,
        bill_no: str,
        refund_fee: int,
        *,
        optional: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        call = _Operations.create_refund(
            refund_no, bill_no, refund_fee, optional=optional, idempotency_key=idempotency_key
        )
        return await self._send(call, Refund)

    async def get_refund(self, refund_no: str) -> Refund:
        return await self._send(build_call("get_refund", path_params={"refund_no": refund_no}), Refund)

    async def refresh_refund(self, refund_no: str) -> Refund:
        return await self._send(build_call("refresh_refund", path_params={"refund_no": refund_no}), Refund)

    async def list_refunds(
        self,
        *,
        bill_no: str | None = None,
        channel: Channel | str | None = None,
        status: RefundStatus | str | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> RefundList:
        query = _list_query(
            created_from=created_from, created_to=created_to, limit=limit, cursor=cursor,
            bill_no=bill_no, channel=channel, status=status,
        )  # fmt: skip
        return await self._send(build_call("list_refunds", query=query), RefundList)

    async def create_payout(
        self, request: CreatePayoutRequest | dict[str, Any], *, idempotency_key: str | None = None
    ) -> Payout:
        return await self._send(_Operations.create_payout(request, idempotency_key=idempotency_key), Payout)

    async def get_payout(self, out_order_no: str) -> Payout:
        return await self._send(build_call("get_payout", path_params={"out_order_no": out_order_no}), Payout)

    async def list_payouts(
        self,
        *,
        status: TransferStatus | str | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> PayoutList:
        query = _list_query(created_from=created_from, created_to=created_to, limit=limit, cursor=cursor, status=status)
        return await self._send(build_call("list_payouts", query=query), PayoutList)

    async def create_collection(
        self, request: CreateCollectionRequest | dict[str, Any], *, idempotency_key: str | None = None
    ) -> Collection:
        return await self._send(_Operations.create_collection(request, idempotency_key=idempotency_key), Collection)

    async def get_collection(self, out_order_no: str) -> Collection:
        return await self._send(build_call("get_collection", path_params={"out_order_no": out_order_no}), Collection)

    async def list_collections(
        self,
        *,
        status: TransferStatus | str | None = None,
        created_from: datetime | str | None = None,
        created_to: datetime | str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> CollectionList:
        query = _list_query(created_from=created_from, created_to=created_to, limit=limit, cursor=cursor, status=status)
        return await self._send(build_call("list_collections", query=query), CollectionList)

    async def get_balance(self) -> Balance:
        return await self._send(build_call("get_balance"), Balance)

    # -- merchant webhooks
    async def create_webhook_endpoint(
        self, url: str, event_types: list[str], *, description: str | None = None
    ) -> CreatedWebhookEndpoint:
        """Register an endpoint; the answer carries its signing secret, shown once. Not retried once sent."""
        body = CreateWebhookEndpointRequest(url=url, event_types=event_types, description=description)
        return await self._send(build_call("create_webhook_endpoint", body=body), CreatedWebhookEndpoint)

    async def list_webhook_endpoints(self) -> WebhookEndpointList:
        return await self._send(build_call("list_webhook_endpoints"), WebhookEndpointList)

    async def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._send(
            build_call("get_webhook_endpoint", path_params={"endpoint_id": endpoint_id}), WebhookEndpoint
        )

    async def delete_webhook_endpoint(self, endpoint_id: str) -> DeletedWebhookEndpoint:
        call = build_call("delete_webhook_endpoint", path_params={"endpoint_id": endpoint_id})
        return await self._send(call, DeletedWebhookEndpoint)

    async def rotate_webhook_secret(
        self, endpoint_id: str, *, expire_previous_after_s: int = 86_400
    ) -> CreatedWebhookEndpoint:
        """A new signing secret (shown once); the previous one keeps signing too for the given time. Not retried."""
        body = RotateSecretRequest(expire_previous_after_s=expire_previous_after_s)
        call = build_call("rotate_webhook_secret", path_params={"endpoint_id": endpoint_id}, body=body)
        return await self._send(call, CreatedWebhookEndpoint)

    async def list_deliveries(
        self, endpoint_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> DeliveryList:
        call = build_call(
            "list_deliveries", path_params={"endpoint_id": endpoint_id}, query={"limit": limit, "cursor": cursor}
        )
        return await self._send(call, DeliveryList)

    async def resend_event(self, event_id: str, *, endpoint_id: str | None = None) -> Resend:
        """Queue the event again for its endpoints (or one); receivers dedupe on the event id."""
        call = build_call("resend_event", path_params={"event_id": event_id}, query={"endpoint_id": endpoint_id})
        return await self._send(call, Resend)

    # -- hosted checkout
    async def create_checkout_session(
        self,
        total_fee: int,
        title: str,
        channels: Sequence[Channel | str],
        return_url: str,
        *,
        bill_no_prefix: str | None = None,
        metadata: dict[str, Any] | None = None,
        expires_in: int | None = None,
        idempotency_key: str | None = None,
    ) -> CheckoutSession:
        """A hosted payment page for total_fee fen: send the payer to `url`; amounts in fen."""
        call = _Operations.create_checkout_session(
            total_fee, title, channels, return_url, bill_no_prefix=bill_no_prefix, metadata=metadata,
            expires_in=expires_in, idempotency_key=idempotency_key,
        )  # fmt: skip
        return await self._send(call, CheckoutSession)

    async def get_checkout_session(self, session_id: str) -> CheckoutSession:
        call = build_call("get_checkout_session", path_params={"session_id": session_id})
        return await self._send(call, CheckoutSession)

    async def _send(self, call: Call, model: type[M]) -> M:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method, call.path, params=call.params, content=call.body, headers=call.headers
                )
            except httpx.TransportError as error:
                attempt += 1
                if attempt > self._retry.max_retries or not retry_after_failure(call, error):
                    raise ConnectionFailedError(
                        f"{call.method} {call.path}: {error!r}", idempotency_key=call.idempotency_key
                    ) from error
                await asyncio.sleep(self._retry.delay(attempt))
                continue
            if should_retry(call, response) and attempt < self._retry.max_retries:
                attempt += 1
                await asyncio.sleep(self._retry.delay(attempt, response))
                continue
            return parse(call, response, model)


__all__ = ["AsyncPaygateClient", "PaygateClient"]
