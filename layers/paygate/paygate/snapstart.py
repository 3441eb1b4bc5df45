"""Lambda SnapStart hooks: warm before the snapshot, make each restored copy its own after.

With SnapStart (the template's `SnapStart` parameter), Lambda runs a function's init once, takes a
snapshot of its memory, and starts every new execution environment from a copy of it. So:
- **before the snapshot**, do what every first request would otherwise pay for: read the
  settings, build the boto3 session and clients, import the provider adapters and httpx;
- **after each restore**, drop what must not be shared between copies: open connections (boto3's
  and httpx's pools), credentials and clients resolved at snapshot time, cached app records and
  secrets, and re-seed Python's `random` (keys and ids come from `secrets` and `uuid4`, which read
  the OS's generator, but nothing should inherit a seeded generator from the snapshot).

The hooks are registered through the runtime's `snapshot_restore_py` when it is there (every
Python managed runtime ships it); elsewhere registration is a no-op and the hooks are plain
functions, which the tests call around a fork (a fork is a snapshot restored twice).
"""

from __future__ import annotations

import importlib
import random

from aws_lambda_powertools.utilities import parameters

from paygate import aws

# Clients a function may build on its first request: building them is local work (no network).
_CLIENTS = ("dynamodb", "events", "sqs", "secretsmanager", "stepfunctions")
# Imported lazily on the request path (deps getters), so imported here before the snapshot.
_MODULES = ("paygate.providers.beecloud", "paygate.providers.beilypay", "paygate.webhooks.sender")


def before_snapshot() -> None:
    """Everything a first request would build, built once into the snapshot."""
    from paygate import settings

    for read in (settings.get_settings, settings.get_webhook_settings):
        try:
            read()
        except ValueError:  # a function without that group's variables (webhooks vs money flows)
            continue
    for service in _CLIENTS:
        aws.client(service)
    for module in _MODULES:
        importlib.import_module(module)


def after_restore() -> None:
    """A restored copy gets its own connections, credentials, caches and random state."""
    from paygate import credentials, deps

    random.seed()
    deps.clear_caches()
    aws.clear_caches()
    credentials._provider.cache_clear()
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    before_snapshot()  # rebuild now, not on the first request: clients only, no network


def _register() -> None:
    try:
        from snapshot_restore_py import (  # type: ignore[import-not-found]
            register_after_restore,
            register_before_snapshot,
        )
    except ImportError:  # not a Lambda Python runtime: nothing takes snapshots here
        return
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)


_register()
