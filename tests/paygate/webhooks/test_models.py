"""Pure webhook rules: the retry schedule, event type patterns, secret rotation (URLs: test_urls.py)."""

from __future__ import annotations

import pytest

from paygate.webhooks.models import EVENT_TYPES, matches, retry_delay_s, valid_pattern


def test_the_default_schedule_doubles_from_a_minute_to_12_hours_and_spans_more_than_24_hours():
    delays = [retry_delay_s(n, base_s=60, max_s=43_200) for n in range(1, 12)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 30720, 43200]
    # 12 attempts (WebhookMaxAttempts): the last one starts after the first 11 delays.
    assert sum(delays) == 104_580  # about 29 h
    assert sum(delays) > 24 * 3600


def test_huge_attempt_numbers_stay_capped():
    assert retry_delay_s(1000, base_s=60, max_s=43_200) == 43_200


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [
        ("*", True),
        ("bill.succeeded", True),
        ("payout.*", True),
        ("collection.unknown", True),
        ("bill.paid", False),
        ("bills.*", False),
        ("bill.", False),
        ("", False),
        ("*.*", False),
        ("reconciliation.*", False),
    ],
)
def test_patterns_come_from_the_catalogue(pattern, ok):
    assert valid_pattern(pattern) is ok


def test_matching():
    assert matches(["payout.*"], "payout.failed")
    assert not matches(["payout.*"], "payouts.failed")
    assert matches(["bill.succeeded", "refund.*"], "refund.succeeded")
    assert not matches(["bill.succeeded"], "bill.failed")
    assert all(matches(["*"], t) for t in EVENT_TYPES)


def test_rotation_keeps_what_is_still_active_for_the_new_window_only():
    from paygate.credentials import SigningSecret, SigningSecrets

    stored = SigningSecrets(
        signing_secrets=[
            SigningSecret(secret="whsec_current"),
            SigningSecret(secret="whsec_previous", expires_at=1_000),
            SigningSecret(secret="whsec_expired", expires_at=400),
        ]
    )
    assert stored.active(500) == ["whsec_current", "whsec_previous"]

    rotated = stored.rotated("whsec_new", now_s=500, previous_expires_at=800)
    assert [(s.secret, s.expires_at) for s in rotated.signing_secrets] == [
        ("whsec_new", None),
        ("whsec_current", 800),
        ("whsec_previous", 800),
    ]
    assert stored.rotated("whsec_new", now_s=500, previous_expires_at=500).active(500) == ["whsec_new"]
    assert rotated.active(800) == ["whsec_new"]
