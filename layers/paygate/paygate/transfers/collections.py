"""Collections (代收) over BeilyPay: record first, start the poller, get the pay_url once.

The payer pays on BeilyPay's page; BeilyPay's notify (or the poller) settles the collection
with `paid`, what the payer actually paid, which may differ from the amount asked for and is
recorded as reported. A lost create answer makes the collection `unknown` (never re-sent).
"""

from __future__ import annotations

from paygate.credentials import BeilyPayCredentials
from paygate.models import App, Collection, Created, OrderKind, ProviderState, TransferStatus
from paygate.providers.beilypay import BeilyPayClient
from paygate.store.transfers import Transfer
from paygate.transfers.ledger import CreateFlow, created_as
from paygate.transfers.requests import CreateCollectionRequest


class CollectionService(CreateFlow):
    kind = OrderKind.COLLECTION

    def create(
        self,
        app: App,
        creds: BeilyPayCredentials,
        beilypay: BeilyPayClient,
        request: CreateCollectionRequest,
        *,
        notify_url: str,
    ) -> Created[Collection]:
        """201 with the pay_url on first creation; the stored collection for an identical repeat."""
        now = self._clock()
        collection = Collection(
            app_id=app.app_id,
            out_order_no=request.out_order_no,
            amount=request.amount,
            user_id=request.user_id,
            user_name=request.user_name,
            return_url=request.return_url,
            status=TransferStatus.PENDING,
            provider_state=ProviderState.CALLING.value,
            request_hash=request.fingerprint(),
            lease_until_ms=now + self._lease_ms,
            created_at_ms=now,
            updated_at_ms=now,
        )
        repeat = self._record(collection)
        if repeat is not None:
            return created_as(Collection, repeat.order, created=False)

        def call() -> Transfer:
            answer = beilypay.create_collection(
                creds,
                out_order_no=request.out_order_no,
                amount=request.amount,
                user_id=request.user_id,
                user_name=request.user_name,
                email=request.email,
                mobile=request.mobile,
                notify_url=notify_url,
                front_callback=request.return_url,
            )
            return self._created(
                collection,
                answer.order_no,
                lambda: self._store.record_created(
                    self.kind,
                    app.app_id,
                    request.out_order_no,
                    provider_order_no=answer.order_no,
                    pay_url=answer.pay_url,
                    now_ms=self._clock(),
                ),
            )

        return created_as(Collection, self._after_call(collection, call), created=True)
