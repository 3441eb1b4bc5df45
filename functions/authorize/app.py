"""Authorize: the API's Lambda authorizer (REQUEST), which decides whose rate limit a request spends.

API Gateway calls it once per Authorization header and caches the answer for ApiKeyCacheSeconds.
A genuine key is allowed on every route and metered under its app's usage key (per-merchant rate
limits, paygate.apps.limits); anything else is refused with API Gateway's 401, in the API's error
shape (the template's UNAUTHORIZED gateway response). The functions behind it authenticate the
key again themselves.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import APIGatewayAuthorizerRequestEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.apps.limits import Unauthorized, authorize
from paygate.deps import app_cache
from paygate.settings import get_settings
from paygate.tracing import traced

logger = Logger()


@traced
@logger.inject_lambda_context(log_event=False)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    shared_key = get_settings().shared_usage_key
    try:
        answer = authorize(event.headers.get("Authorization"), event.method_arn, app_cache(), shared_key)
    except Unauthorized:
        logger.info("refused", extra={"route": event.resource, "method": event.http_method})
        raise
    own_limit = answer.get("usageIdentifierKey") not in (None, shared_key)
    logger.info("allowed", extra={"app_id": answer["principalId"], "own_limit": own_limit})
    return answer
