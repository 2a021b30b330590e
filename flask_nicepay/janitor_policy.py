"""How patient the janitor is: its grace periods, its backoff and its batches.

Pure values, read from the ``NICEPAY_JANITOR_*`` keys by
:func:`from_config` and used by :class:`~flask_nicepay.janitor.Janitor`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import typing as t

from .config_checks import ConfigurationError
from .config_checks import count

_MINUTE = dt.timedelta(minutes=1)
_HOUR = dt.timedelta(hours=1)

#: Waits between retries of a failed notification, the last one repeating.
DEFAULT_BACKOFF = (_MINUTE, 5 * _MINUTE, 30 * _MINUTE, 2 * _HOUR, 6 * _HOUR)

DEFAULTS: dict[str, t.Any] = {
    "NICEPAY_JANITOR_GRACE": 300,
    "NICEPAY_JANITOR_REFUND_GRACE": 600,
    "NICEPAY_JANITOR_RECHECK": 900,
    "NICEPAY_JANITOR_LEASE": 300,
    "NICEPAY_JANITOR_BACKOFF": tuple(int(d.total_seconds()) for d in DEFAULT_BACKOFF),
    "NICEPAY_JANITOR_MAX_ATTEMPTS": 8,
    "NICEPAY_JANITOR_BATCH_SIZE": 100,
    "NICEPAY_JANITOR_MAX_BATCHES": 10,
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class JanitorPolicy:
    """When the janitor looks at what, and how much of it one pass takes."""

    #: How long an inbox row may stay ``received``, and an open order untouched,
    #: before the janitor takes it up.
    grace: dt.timedelta = 5 * _MINUTE
    #: How long a refund may stay ``pending`` or ``unknown`` before the janitor
    #: settles it from PortOne's ``cancel_history``.
    refund_grace: dt.timedelta = 10 * _MINUTE
    #: How long after the janitor reconciled an open order it does so again.
    recheck: dt.timedelta = 15 * _MINUTE
    #: How long a claim holds: longer than any one row's work.
    lease: dt.timedelta = 5 * _MINUTE
    #: The wait before each retry of a failed notification, the last repeating.
    backoff: tuple[dt.timedelta, ...] = DEFAULT_BACKOFF
    #: Attempts after which a failed notification is left to the operator.
    max_attempts: int = 8
    #: Rows per batch (and per PortOne lookup, which takes at most 100).
    batch_size: int = 100
    #: Batches one pass takes at most, so no pass runs unbounded.
    max_batches: int = 10

    def delay(self, attempts: int) -> dt.timedelta:
        """The wait before retrying a notification processed ``attempts`` times."""
        return self.backoff[min(max(attempts, 1), len(self.backoff)) - 1]

    @property
    def limit(self) -> int:
        """The most rows one pass takes."""
        return self.batch_size * self.max_batches


def from_config(config: t.Mapping[str, t.Any]) -> JanitorPolicy:
    """The policy the ``NICEPAY_JANITOR_*`` keys describe (defaults set).

    :raises ConfigurationError: naming the key that is wrong.
    """
    backoff = config["NICEPAY_JANITOR_BACKOFF"]
    if isinstance(backoff, int | float | dt.timedelta):
        backoff = (backoff,)
    if not isinstance(backoff, list | tuple) or not backoff:
        raise ConfigurationError(
            "NICEPAY_JANITOR_BACKOFF must be a list of waits (seconds or "
            f"timedelta), such as [60, 300, 1800], not {backoff!r}."
        )
    key = "NICEPAY_JANITOR_BACKOFF"
    return JanitorPolicy(
        grace=duration(config["NICEPAY_JANITOR_GRACE"], "NICEPAY_JANITOR_GRACE"),
        refund_grace=duration(
            config["NICEPAY_JANITOR_REFUND_GRACE"], "NICEPAY_JANITOR_REFUND_GRACE"
        ),
        recheck=duration(config["NICEPAY_JANITOR_RECHECK"], "NICEPAY_JANITOR_RECHECK"),
        lease=duration(config["NICEPAY_JANITOR_LEASE"], "NICEPAY_JANITOR_LEASE", 1),
        backoff=tuple(duration(each, key) for each in backoff),
        max_attempts=count(config, "NICEPAY_JANITOR_MAX_ATTEMPTS", 1, 1000),
        batch_size=count(config, "NICEPAY_JANITOR_BATCH_SIZE", 1, 100),
        max_batches=count(config, "NICEPAY_JANITOR_MAX_BATCHES", 1, 10_000),
    )


def duration(value: t.Any, key: str, low: float = 0) -> dt.timedelta:
    """Seconds (or a :class:`~datetime.timedelta`) of at least ``low`` seconds."""
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < low
    ):
        raise ConfigurationError(
            f"{key} must be seconds (or a timedelta) of at least {low:g}, "
            f"not {value!r}."
        )
    return dt.timedelta(seconds=value)
