"""boto3 clients, created once per container and reused (connection reuse, no cold-start repeats)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: bounded, jittered, and honours throttling; never hand-rolled loops.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
    # A list page reads every index shard at once (paygate.store.orders): one connection each.
    max_pool_connections=32,
)


@cache
def _session() -> boto3.session.Session:
    # One session for every client: each new session loads the endpoint and credential chain
    # again, about 45 ms per client at a cold start.
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    """The endpoint comes from AWS_ENDPOINT_URL[_<SERVICE>] when set, so local runs need no branch."""
    return _session().client(service, config=_CONFIG)


def clear_caches() -> None:
    """A fresh container (tests): new session, so new credentials and endpoints from the environment."""
    client.cache_clear()
    _session.cache_clear()
