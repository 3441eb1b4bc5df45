"""Payouts (代付) over BeilyPay: record first, start the poller, call /v2/trans/create once.

Outcomes of the create call:
- answered: BeilyPay's orderNo is stored (the only key it can be queried by); if it already
  answered a final status, the payout is settled at once;
- definitely refused (10005 balance, 10006 rate limit, other codes, connection refused): the
  payout is `failed` with the mapped error, and an identical repeat gets the same error;
- answer lost (timeout, broken or unreadable answer, 20001/500): the payout is `unknown` and
  `payout.unknown` is published. It is never re-sent: a repeat returns the stored payout.
"""

from __future__ import annotations

from paygate.credentials import BeilyPayCredentials
from paygate.models import App, Created, OrderKind, Payout, ProviderState, TransferStatus
from paygate.providers.beilypay import BeilyPayClient, PayoutStatus
from paygate.store.transfers import Transfer
from paygate.transfers.ledger import CreateFlow, created_as
from paygate.transfers.requests import CreatePayoutRequest


class PayoutService(CreateFlow):
    kind = OrderKind.PAYOUT

    def create(
        self,
        app: App,
        creds: BeilyPayCredentials,
        beilypay: BeilyPayClient,
        request: CreatePayoutRequest,
        *,
        notify_url: str,
    ) -> Created[Payout]:
        """201 on first creation; the stored payout for an identical repeat; 409 for another body."""
        now = self._clock()
        payout = Payout(
            app_id=app.app_id,
            out_order_no=request.out_order_no,
            amount=request.amount,
            account_type=request.account_type,
            account_last4=request.account[-4:],
            account_owner=request.account_owner,
            bank_code=request.bank_code,
            ifsc=request.ifsc,
            status=TransferStatus.PENDING,
            provider_state=ProviderState.CALLING.value,
            request_hash=request.fingerprint(),
            lease_until_ms=now + self._lease_ms,
            created_at_ms=now,
            updated_at_ms=now,
        )
        repeat = self._record(payout)
        if repeat is not None:
            return created_as(Payout, repeat.order, created=False)

        def call() -> Transfer:
            answer = beilypay.create_payout(
                creds,
                out_order_no=request.out_order_no,
                amount=request.amount,
                account_type=request.account_type,
                account=request.account,
                account_owner=request.account_owner,
                bank_code=request.bank_code,
                ifsc=request.ifsc,
                address=request.address,
                email=request.email,
                mobile=request.mobile,
                notify_url=notify_url,
            )
            stored = self._created(
                payout,
                answer.order_no,
                lambda: self._store.record_created(
                    self.kind,
                    app.app_id,
                    request.out_order_no,
                    provider_order_no=answer.order_no,
                    trans_time=answer.trans_time,
                    now_ms=self._clock(),
                ),
            )
            if (
                answer.status in (PayoutStatus.SUCCEEDED, PayoutStatus.FAILED)
                and stored.status is TransferStatus.PENDING
            ):
                stored = self._ledger.settle(
                    self.kind,
                    app.app_id,
                    request.out_order_no,
                    succeeded=answer.status == PayoutStatus.SUCCEEDED,
                    provider_order_no=answer.order_no,
                    by="create",
                    amount=request.amount,
                ).transfer
            return stored

        return created_as(Payout, self._after_call(payout, call), created=True)
