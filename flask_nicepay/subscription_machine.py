"""The subscription state machine: states and transitions as data.

Pure like :mod:`flask_nicepay.machine`, on its own shared
:class:`transitions.Machine`. A subscription is created ``incomplete`` (its
first period is being charged) or ``trialing`` (its first charge waits for the end
of a free trial); from then on each period paid, missed or given up moves it.
"""

from __future__ import annotations

import enum
import typing as t

from transitions import Machine

from .machine import fire_on


class SubscriptionState(enum.StrEnum):
    """Where a subscription stands."""

    #: The first period is being charged, or its charge was declined.
    INCOMPLETE = "incomplete"
    #: In a free trial; the first charge is scheduled for its end.
    TRIALING = "trialing"
    #: The current period is paid; the next charge is scheduled.
    ACTIVE = "active"
    #: A renewal was declined; a retry is scheduled (see the retry policy).
    RETRYING = "retrying"
    #: Every retry was declined; nothing more is charged until it is resumed.
    PAST_DUE = "past_due"
    #: Ended; nothing more is charged. Final.
    CANCELLED = "cancelled"


S = SubscriptionState

#: Every legal move. A declined first charge (``incomplete``) or a declined
#: resume (``past_due``) changes no state.
TRANSITIONS: list[dict[str, t.Any]] = [
    {
        "trigger": "pay_period",
        "source": [S.INCOMPLETE, S.TRIALING, S.ACTIVE, S.RETRYING, S.PAST_DUE],
        "dest": S.ACTIVE,
    },
    {
        "trigger": "miss",
        "source": [S.TRIALING, S.ACTIVE, S.RETRYING],
        "dest": S.RETRYING,
    },
    {
        "trigger": "lapse",
        "source": [S.TRIALING, S.ACTIVE, S.RETRYING],
        "dest": S.PAST_DUE,
    },
    {
        "trigger": "cancel",
        "source": [S.INCOMPLETE, S.TRIALING, S.ACTIVE, S.RETRYING, S.PAST_DUE],
        "dest": S.CANCELLED,
    },
]

#: States in which the plugin keeps charging.
BILLING_STATES = frozenset({S.TRIALING, S.ACTIVE, S.RETRYING})

MACHINE = Machine(
    model=None,
    states=SubscriptionState,
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
    ignore_invalid_triggers=False,
)


def fire(event: str, state: SubscriptionState) -> SubscriptionState:
    """Where ``event`` leads from ``state``.

    :raises ~flask_nicepay.machine.InvalidTransitionError: it cannot start there.
    """
    return SubscriptionState(fire_on(MACHINE, event, state))
