"""Per-container singletons: built on first use, reused by every invocation of the container.

The one place where services meet their adapters. Provider clients, the webhook and console services and
the webhook sender (and so httpx) are imported inside their getters: a function pays at cold
start only for what it uses (Query never loads httpx, the money flows never load webhooks).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from paygate import snapstart  # noqa: F401 - importing it registers the SnapStart hooks
from paygate.apps.keys import AppCache
from paygate.aws import client
from paygate.bus import EventPublisher
from paygate.credentials import SigningSecretStore
from paygate.history import NO_HISTORY, OrderHistory
from paygate.settings import get_settings, get_webhook_settings
from paygate.store.apps import AppsStore
from paygate.store.history import OrderHistoryStore
from paygate.store.orders import OrdersStore
from paygate.store.transfers import TransfersStore
from paygate.transfers.ledger import TransferLedger

if TYPE_CHECKING:
    import httpx

    from paygate.checkout.sessions import CheckoutService
    from paygate.console.audit import AuditLog
    from paygate.console.sessions import SessionService
    from paygate.console.users import UserService
    from paygate.credentials import BeilyPayCredentials
    from paygate.payments.bills import BillService
    from paygate.payments.refresh import BillRefresher, FollowUpScheduler
    from paygate.payments.refunds import RefundService
    from paygate.providers.beecloud import BeeCloudClient
    from paygate.providers.beilypay import BeilyPayClient
    from paygate.store.console import ConsoleStore
    from paygate.store.runs import ReconciliationRunsStore
    from paygate.transfers.collections import CollectionService
    from paygate.transfers.payouts import PayoutService
    from paygate.transfers.poller import FirstPollQueue, PendingPoller, PollerStarter, PollSchedule
    from paygate.webhooks.dispatch import Dispatcher
    from paygate.webhooks.endpoints import EndpointService
    from paygate.webhooks.queue import DeliveryQueue
    from paygate.webhooks.store import WebhooksStore


@cache
def orders_store() -> OrdersStore:
    return OrdersStore(client("dynamodb"), get_settings().orders_table)


@cache
def apps_store() -> AppsStore:
    return AppsStore(client("dynamodb"), get_settings().apps_table)


@cache
def app_cache() -> AppCache:
    """What authentication reads apps through (paygate.apps.keys: the revocation bound)."""
    return AppCache(apps_store(), ttl_s=get_settings().app_cache_ttl_s)


@cache
def order_history() -> OrderHistory:
    """Each order's history: written by the services (best effort), read by the console.

    Where ORDER_HISTORY_TABLE is not set, nothing is recorded and every order's history is empty.
    """
    table = get_settings().order_history_table
    return OrderHistoryStore(client("dynamodb"), table) if table else NO_HISTORY


@cache
def event_publisher() -> EventPublisher:
    return EventPublisher(client("events"), get_settings().event_bus_name, order_history())


@cache
def http_client() -> httpx.Client:
    from paygate.providers.http import make_http_client

    settings = get_settings()
    return make_http_client(
        connect_timeout_s=settings.provider_connect_timeout_s, read_timeout_s=settings.provider_read_timeout_s
    )


@cache
def beecloud_client() -> BeeCloudClient:
    from paygate.providers.beecloud import BeeCloudClient

    return BeeCloudClient(get_settings().beecloud_base_url, http_client())


@cache
def beilypay_client() -> BeilyPayClient:
    """For PollPending: queries retried on transient failures (no API Gateway 29 s limit there)."""
    from paygate.providers.beilypay import BeilyPayClient

    return BeilyPayClient(get_settings().beilypay_base_url, http_client())


@cache
def beilypay_api_client() -> BeilyPayClient:
    """For API routes: no query retries, so a slow BeilyPay cannot outlast the function's timeout."""
    from paygate.providers.beilypay import BeilyPayClient

    return BeilyPayClient(get_settings().beilypay_base_url, http_client(), query_retries=0)


@cache
def transfers_store() -> TransfersStore:
    return TransfersStore(client("dynamodb"), get_settings().orders_table)


@cache
def transfer_ledger() -> TransferLedger:
    return TransferLedger(transfers_store(), event_publisher(), history=order_history())


@cache
def poller_starter() -> PollerStarter:
    from paygate.transfers.poller import PollerStarter

    return PollerStarter(client("stepfunctions"), get_settings().poll_state_machine_arn, poll_schedule())


@cache
def pending_poller() -> PendingPoller:
    """One poll round (PollPending's task and FirstPoll's round), credentials read through the app cache."""
    from paygate.credentials import beilypay_credentials_or_none
    from paygate.transfers.poller import PendingPoller

    def credentials_of(app_id: str) -> BeilyPayCredentials | None:
        app = app_cache().get(app_id)
        return beilypay_credentials_or_none(app) if app is not None else None

    return PendingPoller(transfers_store(), transfer_ledger(), beilypay_client(), credentials_of)


def poll_schedule() -> PollSchedule:
    from paygate.transfers.poller import PollSchedule

    settings = get_settings()
    return PollSchedule(
        settings.poll_first_wait_s, settings.poll_max_wait_s, settings.poll_deadline_s, settings.poll_growth
    )


@cache
def first_poll() -> FirstPollQueue | PollerStarter:
    """Where a new payout's or collection's polling begins: FirstPollQueue, or the state machine at once."""
    from paygate.transfers.poller import FirstPollQueue

    url = get_settings().first_poll_queue_url
    return FirstPollQueue(client("sqs"), url, poll_schedule()) if url else poller_starter()


@cache
def bill_follow_up_scheduler() -> FollowUpScheduler | None:
    """None when no BillFollowUpQueue is configured: bills then wait for the webhook or reconciliation."""
    from paygate.payments.follow_ups import FollowUpQueue
    from paygate.payments.refresh import FollowUpSchedule, FollowUpScheduler

    settings = get_settings()
    if not settings.bill_follow_up_queue_url:
        return None
    queue = FollowUpQueue(client("sqs"), settings.bill_follow_up_queue_url)
    return FollowUpScheduler(queue.send, FollowUpSchedule(settings.bill_follow_up_s, settings.bill_follow_up_attempts))


# ---------------------------------------------------------------- services


@cache
def checkout_service() -> CheckoutService:
    from paygate.checkout.expiry import ExpiryTimer
    from paygate.checkout.sessions import CheckoutService
    from paygate.credentials import require_beecloud
    from paygate.store.checkout import CheckoutStore

    settings = get_settings()
    store = CheckoutStore(client("dynamodb"), settings.orders_table)
    timer = (
        ExpiryTimer(client("sqs"), settings.checkout_expiry_queue_url) if settings.checkout_expiry_queue_url else None
    )
    return CheckoutService(
        store, orders_store(), bill_service(), app_cache(), require_beecloud, event_publisher(), timer
    )


@cache
def bill_service() -> BillService:
    from paygate.payments.bills import BillService

    return BillService(
        orders_store(),
        beecloud_client(),
        event_publisher(),
        lease_ms=get_settings().provider_lease_ms,
        history=order_history(),
    )


@cache
def refund_service() -> RefundService:
    from paygate.payments.refunds import RefundService

    return RefundService(orders_store(), beecloud_client(), event_publisher(), history=order_history())


@cache
def bill_refresher() -> BillRefresher:
    """For the API's refresh route; BillFollowUp builds its own (refreshed_by='follow_up')."""
    from paygate.payments.refresh import BillRefresher

    return BillRefresher(orders_store(), beecloud_client(), event_publisher(), history=order_history())


@cache
def payout_service() -> PayoutService:
    from paygate.transfers.payouts import PayoutService

    return PayoutService(transfers_store(), transfer_ledger(), first_poll(), lease_ms=get_settings().provider_lease_ms)


@cache
def collection_service() -> CollectionService:
    from paygate.transfers.collections import CollectionService

    return CollectionService(
        transfers_store(), transfer_ledger(), first_poll(), lease_ms=get_settings().provider_lease_ms
    )


# ---------------------------------------------------------------- webhooks


@cache
def webhooks_store() -> WebhooksStore:
    from paygate.webhooks.store import WebhooksStore

    return WebhooksStore(client("dynamodb"), get_webhook_settings().webhooks_table)


@cache
def delivery_queue() -> DeliveryQueue:
    from paygate.webhooks.queue import DeliveryQueue

    return DeliveryQueue(client("sqs"), get_webhook_settings().deliveries_queue_url)


@cache
def signing_secrets() -> SigningSecretStore:
    settings = get_webhook_settings()
    return SigningSecretStore(client("secretsmanager"), settings.secrets_prefix, max_age_s=settings.secrets_max_age_s)


@cache
def endpoint_service() -> EndpointService:
    from paygate.webhooks.endpoints import EndpointService

    return EndpointService(webhooks_store(), signing_secrets(), delivery_queue(), get_webhook_settings())


@cache
def dispatcher() -> Dispatcher:
    from paygate.webhooks.dispatch import Dispatcher
    from paygate.webhooks.sender import post

    return Dispatcher(webhooks_store(), delivery_queue(), signing_secrets(), get_webhook_settings(), post)


# ---------------------------------------------------------------- console


@cache
def console_store() -> ConsoleStore:
    from paygate.store.console import ConsoleStore

    return ConsoleStore(client("dynamodb"), get_settings().console_table)


@cache
def console_users() -> UserService:
    from paygate.console.users import UserService

    return UserService(console_store())


@cache
def console_sessions() -> SessionService:
    from paygate.console.sessions import SessionService

    return SessionService(console_store(), console_users())


@cache
def reconciliation_runs() -> ReconciliationRunsStore | None:
    """Where each app's console finds the reconciliation runs; None where the console has no table."""
    from paygate.store.runs import ReconciliationRunsStore

    table = get_settings().console_table
    return ReconciliationRunsStore(client("dynamodb"), table) if table else None


@cache
def audit_log() -> AuditLog:
    from paygate.console.audit import AuditLog

    return AuditLog(console_store())


def clear_caches() -> None:
    """A fresh 'container' (tests and benchmarks): every singleton above and both settings."""
    get_settings.cache_clear()
    get_webhook_settings.cache_clear()
    for factory in (
        orders_store,
        apps_store,
        app_cache,
        order_history,
        event_publisher,
        http_client,
        beecloud_client,
        beilypay_client,
        beilypay_api_client,
        transfers_store,
        transfer_ledger,
        poller_starter,
        first_poll,
        pending_poller,
        bill_follow_up_scheduler,
        checkout_service,
        bill_service,
        refund_service,
        bill_refresher,
        payout_service,
        collection_service,
        webhooks_store,
        delivery_queue,
        signing_secrets,
        endpoint_service,
        dispatcher,
        console_store,
        console_users,
        console_sessions,
        audit_log,
        reconciliation_runs,
    ):
        factory.cache_clear()
