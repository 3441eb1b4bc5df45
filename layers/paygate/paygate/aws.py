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
)


@cache
def client(service: str) -> Any:
    """The endpoint comes from AWS_ENDPOINT_URL[_<SERVICE>] when set, so local runs need no branch."""
    return boto3.session.Session().client(service, config=_CONFIG)
