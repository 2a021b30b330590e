"""The janitor's settings: the backoff schedule, and ``NICEPAY_JANITOR_*`` checked."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from flask_nicepay.config import ConfigurationError
from flask_nicepay.janitor_policy import DEFAULTS
from flask_nicepay.janitor_policy import JanitorPolicy
from flask_nicepay.janitor_policy import from_config

MINUTE = dt.timedelta(minutes=1)


def test_the_default_backoff_grows_then_stays_at_its_cap() -> None:
    policy = JanitorPolicy()
    waits = [policy.delay(attempts) for attempts in range(1, 10)]
    assert waits == [MINUTE, 5 * MINUTE, 30 * MINUTE, 120 * MINUTE] + [360 * MINUTE] * 5


def test_the_defaults_read_as_the_policy_s_own() -> None:
    assert from_config(DEFAULTS) == JanitorPolicy()


def test_settings_take_seconds_or_timedeltas() -> None:
    config = {
        **DEFAULTS,
        "NICEPAY_JANITOR_GRACE": dt.timedelta(minutes=2),
        "NICEPAY_JANITOR_BACKOFF": [10, 20.5],
        "NICEPAY_JANITOR_BATCH_SIZE": 50,
    }
    policy = from_config(config)
    assert policy.grace == 2 * MINUTE and policy.batch_size == 50
    assert [policy.delay(n) for n in (1, 2, 3)] == [
        dt.timedelta(seconds=10),
        dt.timedelta(seconds=20.5),
        dt.timedelta(seconds=20.5),
    ]
    assert policy.limit == 50 * 10


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NICEPAY_JANITOR_GRACE", -1),
        ("NICEPAY_JANITOR_GRACE", "5m"),
        ("NICEPAY_JANITOR_LEASE", 0),
        ("NICEPAY_JANITOR_BACKOFF", []),
        ("NICEPAY_JANITOR_BACKOFF", [60, "x"]),
        ("NICEPAY_JANITOR_BATCH_SIZE", 101),
        ("NICEPAY_JANITOR_MAX_ATTEMPTS", 0),
        ("NICEPAY_JANITOR_RECHECK", True),
    ],
)
def test_a_wrong_setting_is_refused_by_name(key: str, value: t.Any) -> None:
    with pytest.raises(ConfigurationError, match=key):
        from_config({**DEFAULTS, key: value})
