"""Every route of every API function, with a valid body where it takes one: what the bad-input tests walk."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bench.samples import collection_body, payout_body
from tests.support.bad_input import RawBody
from tests.support.functions import ROOT, BeilyPayMerchant, Merchant, api_event, invoke, load_event

ENDPOINT_ID = "we_" + "0" * 24
EVENT_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Route:
    function: str
    method: str
    resource: str
    shop: str = "beecloud"  # whose API key (or app id, for callbacks) the request carries
    valid_body: dict[str, Any] = field(default_factory=dict)

    @property
    def is_callback(self) -> bool:
        return self.function == "callback"

    @property
    def is_page(self) -> bool:
        """The payer's checkout page: answers HTML (a page saying what is wrong) rather than the JSON error."""
        return self.resource.startswith("/pay/")

    @property
    def id(self) -> str:
        return f"{self.method} {self.resource}"


BILL = {"bill_no": "FUZZ00000001", "channel": "WX_NATIVE", "total_fee": 100, "title": "白开水"}
REFUND = {"refund_no": "20260101001", "bill_no": "FUZZ00000001", "refund_fee": 1}
ENDPOINT = {"url": "https://shop.example.com/hooks", "event_types": ["*"]}
BEECLOUD_WEBHOOK = {"sign": "x", "transaction_type": "PAY"}
BEILYPAY_NOTIFY = {"sign": "x", "orderNo": "1"}
CHECKOUT = {
    "total_fee": 100,
    "title": "白开水",
    "channels": ["WX_NATIVE"],
    "return_url": "https://shop.example.com/done",
}


ROUTES = [
    Route("create_bill", "POST", "/bills", valid_body=BILL),
    Route("create_bill", "POST", "/bills/{bill_no}/refresh"),
    Route(
        "refund",
        "POST",
        "/refunds",
        valid_body=REFUND,
    ),
    Route("refund", "POST", "/refunds/{refund_no}/refresh"),
    Route("payout", "POST", "/payouts", shop="beilypay", valid_body=payout_body("FUZZ-1")),
    Route("collect", "POST", "/collections", shop="beilypay", valid_body=collection_body("FUZZ-1")),
    Route(
        "webhook_endpoints",
        "POST",
        "/webhook-endpoints",
        valid_body=ENDPOINT,
    ),
    Route("webhook_endpoints", "GET", "/webhook-endpoints"),
    Route("webhook_endpoints", "GET", "/webhook-endpoints/{endpoint_id}"),
    Route("webhook_endpoints", "DELETE", "/webhook-endpoints/{endpoint_id}"),
    Route(
        "webhook_endpoints",
        "POST",
        "/webhook-endpoints/{endpoint_id}/rotate-secret",
        valid_body={"expire_previous_after_s": 0},
    ),
    Route("webhook_endpoints", "GET", "/webhook-endpoints/{endpoint_id}/deliveries"),
    Route("webhook_endpoints", "POST", "/events/{event_id}/resend"),
    Route("query", "GET", "/bills"),
    Route("query", "GET", "/bills/{bill_no}"),
    Route("query", "GET", "/refunds"),
    Route("query", "GET", "/refunds/{refund_no}"),
    Route("query", "GET", "/payouts", shop="beilypay"),
    Route("query", "GET", "/payouts/{out_order_no}", shop="beilypay"),
    Route("query", "GET", "/collections", shop="beilypay"),
    Route("query", "GET", "/collections/{out_order_no}", shop="beilypay"),
    Route("query", "GET", "/balance", shop="beilypay"),
    Route("checkout", "POST", "/checkout/sessions", valid_body=CHECKOUT),
    Route("checkout", "GET", "/checkout/sessions/{session_id}"),
    # The payer's page: no API key, no JSON body (a bare form post picks the channel).
    Route("checkout", "GET", "/pay/{token}"),
    Route("checkout", "POST", "/pay/{token}/channels/{channel}"),
    Route("checkout", "GET", "/pay/{token}/status"),
    Route("checkout", "GET", "/pay/assets/{name}"),
    Route("callback", "POST", "/callbacks/beecloud/{app_id}", valid_body=BEECLOUD_WEBHOOK),
    Route("callback", "POST", "/callbacks/beilypay/{app_id}", shop="beilypay", valid_body=BEILYPAY_NOTIFY),
]
BODY_ROUTES = [route for route in ROUTES if route.method == "POST"]


def api_functions() -> list[str]:
    """The functions behind API Gateway: those built on the shared resolver."""
    return sorted(
        path.parent.name for path in (ROOT / "functions").glob("*/app.py") if "build_resolver()" in path.read_text()
    )


def call(route: Route, shops: dict[str, Merchant | BeilyPayMerchant], body: RawBody | None) -> dict[str, Any]:
    """Invoke the route's function with this body (None: no body), as API Gateway would."""
    shop = shops[route.shop]
    values = {
        "refund_no": "20260101001",
        "endpoint_id": ENDPOINT_ID,
        "event_id": EVENT_ID,
        "bill_no": "FUZZ00000001",
        "out_order_no": "FUZZ-1",
        "app_id": shop.app_id,
        "session_id": "cs_" + "0" * 24,
        "token": "A" * 43,
        "channel": "WX_NATIVE",
        "name": "checkout.css",
    }
    names = re.findall(r"{(\w+)}", route.resource)
    path = route.resource.format(**{name: values[name] for name in names})
    if route.is_callback:
        event = load_event("beecloud_webhook" if route.shop == "beecloud" else "beilypay_notify")
        event.update(resource=route.resource, path=path, pathParameters={"app_id": shop.app_id})
    else:
        event = api_event(
            route.method,
            path,
            resource=route.resource,
            headers={"Authorization": shop.auth},
            path_params={name: values[name] for name in names} or None,
        )
    event.update(body=None, isBase64Encoded=False)
    if body is not None:
        event.update(body.event_fields())
    return invoke(route.function, event)
