"""API keys through the per-container app cache: one read per app per TTL, and revocation bounded by it."""

from __future__ import annotations

import pytest

from paygate.apps.keys import AppCache, authenticate, hash_key, new_api_key
from paygate.errors import UnauthorizedError
from paygate.models import App

APP_ID = "app_0123456789abcdef"
TTL_S = 5.0


class CountingApps:
    """The apps table as authentication sees it, counting the reads."""

    def __init__(self, app: App | None) -> None:
        self.app = app
        self.reads = 0

    def get(self, app_id: str) -> App | None:
        self.reads += 1
        return self.app if self.app is not None and self.app.app_id == app_id else None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _app(key: str, **fields: object) -> App:
    return App.model_validate({"app_id": APP_ID, "name": "m", "key_hash": hash_key(key), "created_at_ms": 1, **fields})


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _cache(store: CountingApps, clock: Clock) -> AppCache:
    return AppCache(store, ttl_s=TTL_S, clock=clock)  # type: ignore[arg-type]


def test_a_busy_container_reads_the_app_once_per_ttl(clock):
    key = new_api_key(APP_ID)
    store = CountingApps(_app(key))
    cache = _cache(store, clock)

    for _ in range(1000):
        assert authenticate(f"Bearer {key}", cache).app_id == APP_ID
        clock.now += 0.001  # 1,000 requests a second

    assert store.reads == 1  # 1 s of traffic < one TTL
    clock.now += TTL_S
    authenticate(f"Bearer {key}", cache)
    assert store.reads == 2


def test_a_rotated_out_key_is_refused_within_the_ttl_and_the_new_key_works_at_once(clock):
    old, new = new_api_key(APP_ID), new_api_key(APP_ID)
    store = CountingApps(_app(old))
    cache = _cache(store, clock)
    authenticate(f"Bearer {old}", cache)

    store.app = _app(new)  # the operator rotates the key
    clock.now += 1.0
    assert authenticate(f"Bearer {new}", cache).app_id == APP_ID  # a key the copy lacks: read again
    clock.now += TTL_S

    with pytest.raises(UnauthorizedError):
        authenticate(f"Bearer {old}", cache)


def test_the_old_key_is_never_accepted_after_the_ttl_even_if_nobody_used_the_new_one(clock):
    old, new = new_api_key(APP_ID), new_api_key(APP_ID)
    store = CountingApps(_app(old))
    cache = _cache(store, clock)
    authenticate(f"Bearer {old}", cache)
    store.app = _app(new)

    accepted_until = clock.now
    while clock.now < 1000.0 + 2 * TTL_S:
        clock.now += 0.5
        try:
            authenticate(f"Bearer {old}", cache)
            accepted_until = clock.now
        except UnauthorizedError:
            pass

    assert accepted_until - 1000.0 < TTL_S


def test_a_suspended_app_is_refused_within_the_ttl(clock):
    key = new_api_key(APP_ID)
    store = CountingApps(_app(key))
    cache = _cache(store, clock)
    authenticate(f"Bearer {key}", cache)

    store.app = _app(key, status="suspended")
    clock.now += TTL_S

    with pytest.raises(UnauthorizedError):
        authenticate(f"Bearer {key}", cache)


def test_wrong_keys_cannot_force_more_than_one_read_a_second(clock):
    store = CountingApps(_app(new_api_key(APP_ID)))
    cache = _cache(store, clock)

    for _ in range(1000):
        with pytest.raises(UnauthorizedError):
            authenticate(f"Bearer {new_api_key(APP_ID)}", cache)
        clock.now += 0.001

    assert store.reads <= 2  # the first read and one forced refresh in that second


def test_unknown_apps_are_cached_and_the_cache_is_bounded(clock):
    store = CountingApps(None)
    cache = AppCache(store, ttl_s=TTL_S, max_apps=3, clock=clock)  # type: ignore[arg-type]

    for n in range(10):
        assert cache.get(f"app_{n:016x}") is None
    assert cache.get("app_0000000000000009") is None

    assert store.reads == 10  # the last one came from the cache
    assert len(cache._entries) == 3
