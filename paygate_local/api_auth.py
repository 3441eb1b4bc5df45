"""What API Gateway does before a route's function runs: the Lambda authorizer, throttling, and
its own answers (gateway responses), as the template configures them.

- **Authorizer** (REQUEST type): called with the request's identity headers; a missing identity
  header is refused (401) without calling it. A successful answer is cached per identity for
  `ReauthorizeEvery` seconds and holds for every route its policy allows. The error "Unauthorized"
  means 401; any other error or a malformed answer means 500 (AUTHORIZER_FAILURE); a policy that
  does not allow the route means 403 (ACCESS_DENIED).
- **Usage plan** (key source AUTHORIZER): the authorizer's `usageIdentifierKey` must be an
  enabled key of the plan (else 403, INVALID_API_KEY); each key has its own token bucket
  (rate/burst), checked before the stage's, so a request one merchant's bucket refuses never
  spends the stage's allowance.
- **Stage throttling**: per method, as API Gateway applies a stage's limits: the stage's default
  (MethodSettings `/*`, `*`) gives *each* method its own bucket of that size, and a setting for one
  method (`/~1pay~1{token}~1status`, `GET`) replaces the default for that method.
- **Gateway responses**: the template's status, static headers and body per response type, with
  `$context.requestId` filled in; API Gateway's defaults otherwise.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

log = logging.getLogger(__name__)

# API Gateway's default answers (status, body) where the template sets none.
_DEFAULTS: dict[str, tuple[int, str]] = {
    "UNAUTHORIZED": (401, '{"message":"Unauthorized"}'),
    "ACCESS_DENIED": (403, '{"Message":"User is not authorized to access this resource"}'),
    "INVALID_API_KEY": (403, '{"message":"Forbidden"}'),
    "AUTHORIZER_FAILURE": (500, '{"message":null}'),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, '{"message":null}'),
    "THROTTLED": (429, '{"message":"Too Many Requests"}'),
}
_DEFAULT_4XX_5XX = {"UNAUTHORIZED": "DEFAULT_4XX", "ACCESS_DENIED": "DEFAULT_4XX", "INVALID_API_KEY": "DEFAULT_4XX",
                    "THROTTLED": "DEFAULT_4XX", "AUTHORIZER_FAILURE": "DEFAULT_5XX",
                    "AUTHORIZER_CONFIGURATION_ERROR": "DEFAULT_5XX"}  # fmt: skip
_ERROR_TYPES = {
    "UNAUTHORIZED": "UnauthorizedException",
    "ACCESS_DENIED": "AccessDeniedException",
    "INVALID_API_KEY": "ForbiddenException",
    "AUTHORIZER_FAILURE": "AuthorizerFailureException",
    "AUTHORIZER_CONFIGURATION_ERROR": "AuthorizerConfigurationException",
    "THROTTLED": "TooManyRequestsException",
}


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class GatewayResponses:
    """The template's `GatewayResponses` (SAM's shape: StatusCode, ResponseParameters.Headers, ResponseTemplates)."""

    configured: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def answer(self, response_type: str, request_id: str) -> GatewayAnswer:
        status, body = _DEFAULTS[response_type]
        spec = self.configured.get(response_type) or self.configured.get(_DEFAULT_4XX_5XX[response_type]) or {}
        status = int(spec.get("StatusCode", status))
        template = (spec.get("ResponseTemplates") or {}).get("application/json")
        if template is not None:
            body = template.replace("$context.requestId", request_id)
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", _ERROR_TYPES[response_type])]
        for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items():
            text = str(value)
            if len(text) >= 2 and text[0] == text[-1] == "'":  # a static value; request mappings are not modelled
                headers.append((str(name), text[1:-1]))
        return GatewayAnswer(status, headers, body.encode())


class TokenBucket:
    """API Gateway's throttle: `burst` tokens, refilled at `rate` a second."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class MethodThrottles:
    """A stage's throttle: a token bucket per method (resource path and HTTP verb), made on first use.

    settings: the stage's MethodSettings. A method's own entry wins over its path's `*` entry,
    which wins over the stage's default (`/*`, `*`); a method none of them covers is not throttled.
    """

    def __init__(self, settings: list[Mapping[str, Any]], clock: Callable[[], float] = time.monotonic) -> None:
        self._limits: dict[tuple[str, str], tuple[float, int]] = {}
        for setting in settings:
            if "ThrottlingRateLimit" not in setting:
                continue
            path = str(setting.get("ResourcePath", "/*"))
            resource = path if path == "/*" else path.replace("~1", "/").replace("//", "/")
            limit = (float(setting["ThrottlingRateLimit"]), int(setting.get("ThrottlingBurstLimit", 5_000)))
            self._limits[(resource, str(setting.get("HttpMethod", "*")).upper())] = limit
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def limit(self, resource: str, method: str) -> tuple[float, int] | None:
        """(rate, burst) for a method, or None when it is not throttled."""
        for key in ((resource, method.upper()), (resource, "*"), ("/*", "*")):
            if key in self._limits:
                return self._limits[key]
        return None

    def take(self, resource: str, method: str) -> bool:
        limit = self.limit(resource, method)
        if limit is None:
            return True
        key = (resource, method.upper())
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(*limit, clock=self._clock)
        return bucket.take()


class UsagePlan:
    """One plan's throttle, a bucket per key; `keys()` lists the plan's enabled key values."""

    def __init__(
        self, rate: float, burst: int, keys: Callable[[], set[str]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._keys = keys
        self._clock = clock
        self._known: set[str] = set()
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def is_key(self, value: str) -> bool:
        """A key not seen yet makes it read the plan's keys again: one registered a moment ago works.

        The keys asked about come from the authorizer (an app item), not from callers, so unknown
        ones are rare and cannot be made up to force a read per request.
        """
        with self._lock:
            if value not in self._known:
                self._known = self._keys()
            return value in self._known

    def admit(self, value: str) -> bool:
        with self._lock:
            bucket = self._buckets.get(value)
            if bucket is None:
                bucket = self._buckets[value] = TokenBucket(self.rate, self.burst, self._clock)
        return bucket.take()


@dataclass(frozen=True)
class Authorizer:
    """A REQUEST Lambda authorizer: `invoke(event)` returns (errored, payload)."""

    name: str
    function: str  # logical id
    identity_headers: tuple[str, ...]
    ttl_s: float
    invoke: Callable[[dict[str, Any]], tuple[bool, Any]]


@dataclass(frozen=True)
class Allowed:
    principal_id: str
    context: dict[str, Any]
    usage_key: str | None
    policy: dict[str, Any]


class Refused(Exception):  # noqa: N818 - carries the gateway response type
    def __init__(self, response_type: str) -> None:
        super().__init__(response_type)
        self.response_type = response_type


@dataclass(frozen=True)
class RouteAuth:
    authorizer: Authorizer | None
    api_key_required: bool


class Gatekeeper:
    """Runs, for one request, what API Gateway checks before the integration."""

    def __init__(
        self,
        responses: GatewayResponses,
        usage_plan: UsagePlan | None,
        throttles: MethodThrottles | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.responses = responses
        self.usage_plan = usage_plan
        self.throttles = throttles
        self._clock = clock
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, Allowed]] = {}
        self._lock = threading.Lock()

    def check(self, auth: RouteAuth, event: dict[str, Any], method_arn: str) -> Allowed | None:
        """The authorizer's answer (None without one); raises Refused with the response type."""
        allowed = self._authorize(auth.authorizer, event, method_arn) if auth.authorizer else None
        if auth.api_key_required and self.usage_plan is not None:
            key = allowed.usage_key if allowed else None
            if not key or not self.usage_plan.is_key(key):
                raise Refused("INVALID_API_KEY")
            if not self.usage_plan.admit(key):
                raise Refused("THROTTLED")
        resource, verb = str(event.get("resource") or ""), str(event.get("httpMethod") or "")
        if self.throttles is not None and not self.throttles.take(resource, verb):
            raise Refused("THROTTLED")
        return allowed

    def _authorize(self, authorizer: Authorizer, event: dict[str, Any], method_arn: str) -> Allowed:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        identity = tuple(headers.get(h.lower(), "") for h in authorizer.identity_headers)
        if not all(identity):
            raise Refused("UNAUTHORIZED")
        cache_key = (authorizer.name, identity)
        with self._lock:
            cached = self._cache.get(cache_key)
        if cached and cached[0] > self._clock():
            allowed = cached[1]
        else:
            allowed = self._call(authorizer, event, method_arn)
            if authorizer.ttl_s > 0:
                with self._lock:
                    self._cache[cache_key] = (self._clock() + authorizer.ttl_s, allowed)
        if not _policy_allows(allowed.policy, method_arn):
            raise Refused("ACCESS_DENIED")
        return allowed

    def _call(self, authorizer: Authorizer, event: dict[str, Any], method_arn: str) -> Allowed:
        request = {
            "type": "REQUEST",
            "methodArn": method_arn,
            **{k: event.get(k) for k in ("resource", "path", "httpMethod", "headers", "multiValueHeaders",
                                         "queryStringParameters", "multiValueQueryStringParameters",
                                         "pathParameters", "stageVariables", "requestContext")},
        }  # fmt: skip
        errored, payload = authorizer.invoke(request)
        if errored:
            message = payload.get("errorMessage") if isinstance(payload, dict) else None
            if message == "Unauthorized":
                raise Refused("UNAUTHORIZED")
            log.warning("authorizer %s failed: %s", authorizer.name, str(payload)[:300])
            raise Refused("AUTHORIZER_FAILURE")
        try:
            principal = str(payload["principalId"])
            policy = payload["policyDocument"]
            context = {k: v for k, v in (payload.get("context") or {}).items() if isinstance(v, (str, int, bool))}
            usage_key = payload.get("usageIdentifierKey")
        except (KeyError, TypeError):
            log.warning("authorizer %s answered without principalId/policyDocument", authorizer.name)
            raise Refused("AUTHORIZER_CONFIGURATION_ERROR") from None
        return Allowed(principal, context, str(usage_key) if usage_key else None, policy)


def method_arn(region: str, account: str, api_id: str, stage: str, method: str, path: str) -> str:
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method}{path}"


def _policy_allows(policy: dict[str, Any], arn: str) -> bool:
    """IAM's rule, for execute-api: any matching Deny wins; else some Allow must match."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for statement in statements:
        resources = statement.get("Resource") or []
        if isinstance(resources, str):
            resources = [resources]
        if not any(fnmatchcase(arn, pattern.replace("?", "[?]")) for pattern in resources):
            continue
        if str(statement.get("Effect")).lower() == "deny":
            return False
        allowed = allowed or str(statement.get("Effect")).lower() == "allow"
    return allowed


def authorizer_context(allowed: Allowed | None) -> dict[str, Any] | None:
    """`requestContext.authorizer` of the proxy event: the principal and the context's values."""
    if allowed is None:
        return None
    return {"principalId": allowed.principal_id, **allowed.context, "integrationLatency": 0}


def gatekeeper_from_template(
    api_properties: Mapping[str, Any],
    authorizer_functions: Mapping[str, str],
    invoke: Callable[[str, dict[str, Any]], tuple[bool, Any]],
    usage_plan: UsagePlan | None,
) -> tuple[Gatekeeper, Callable[[Any], RouteAuth]]:
    """The Api's Auth, GatewayResponses and stage throttle as a Gatekeeper, and each route's auth.

    authorizer_functions: function ARN -> logical id; invoke(logical id, event) -> (errored, payload).
    """
    auth = api_properties.get("Auth") or {}
    authorizers: dict[str, Authorizer] = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        function = authorizer_functions.get(str(spec.get("FunctionArn")))
        if function is None or spec.get("FunctionPayloadType") != "REQUEST":
            log.warning("authorizer %s is not a REQUEST authorizer of a template function; not emulated", name)
            continue
        identity = spec.get("Identity") or {}
        authorizers[name] = Authorizer(
            name=name,
            function=function,
            identity_headers=tuple(identity.get("Headers") or ()),
            ttl_s=float(identity.get("ReauthorizeEvery", 300)),
            invoke=functools.partial(invoke, function),
        )
    default_authorizer = auth.get("DefaultAuthorizer")
    default_key_required = str(auth.get("ApiKeyRequired", False)).lower() == "true"

    def route_auth(route: Any) -> RouteAuth:
        name = route.authorizer if route.authorizer is not None else default_authorizer
        required = route.api_key_required if route.api_key_required is not None else default_key_required
        return RouteAuth(authorizers.get(name) if name and name != "NONE" else None, required)

    throttles = MethodThrottles(list(api_properties.get("MethodSettings") or []))
    gatekeeper = Gatekeeper(GatewayResponses(api_properties.get("GatewayResponses") or {}), usage_plan, throttles)
    return gatekeeper, route_auth
