"""The order state machine: states and transitions as data, one shared machine.

Pure: no Flask, no database. The machine only answers "from this state, does this
event lead somewhere, and where?"; persisting the answer is the store's job
(:mod:`flask_nicepay.store`), and deciding which event the truth calls for is
:mod:`flask_nicepay.truth`'s.

One :class:`transitions.Machine` is built at import with ``model=None`` and no
automatic ``to_<state>`` methods; events are fired on a throwaway holder, never on
an order row, so no machine is ever built per order and no callback can commit.
"""

from __future__ import annotations

import enum
import logging
import typing as t

from transitions import Machine
from transitions import MachineError


class OrderState(enum.StrEnum):
    """Where an order stands, as far as PortOne's API has shown."""

    #: Registered and waiting for the buyer; an abandoned window stays here.
    READY = "ready"
    #: A virtual account was issued and waits for the deposit.
    VBANK_ISSUED = "vbank_issued"
    #: Paid, and the payment passed verification.
    PAID = "paid"
    #: Paid, and part of it refunded.
    PARTIALLY_CANCELLED = "partially_cancelled"
    #: Fully refunded, or an unpaid order closed (virtual account voided).
    CANCELLED = "cancelled"
    #: The payment attempt failed (declined, aborted); the buyer may try again.
    FAILED = "failed"
    #: The virtual account's deadline passed with no deposit.
    EXPIRED = "expired"
    #: A payment failed verification (amount, currency, PG): the order is NOT paid.
    MISMATCH = "mismatch"


S = OrderState

#: Every legal move. ``trigger`` names the event, ``source`` where it may start.
TRANSITIONS: list[dict[str, t.Any]] = [
    {"trigger": "issue_vbank", "source": [S.READY, S.FAILED], "dest": S.VBANK_ISSUED},
    {
        "trigger": "pay",
        "source": [S.READY, S.VBANK_ISSUED, S.FAILED, S.MISMATCH],
        "dest": S.PAID,
    },
    # A deposit that arrives after the deadline is still money received: accepted,
    # and flagged on the order.
    {"trigger": "pay_late", "source": [S.EXPIRED], "dest": S.PAID},
    {"trigger": "fail", "source": [S.READY, S.VBANK_ISSUED], "dest": S.FAILED},
    {"trigger": "expire", "source": [S.VBANK_ISSUED], "dest": S.EXPIRED},
    {
        "trigger": "flag_mismatch",
        "source": [S.READY, S.VBANK_ISSUED, S.FAILED, S.EXPIRED],
        "dest": S.MISMATCH,
    },
    {
        "trigger": "cancel_partially",
        "source": [S.PAID, S.PARTIALLY_CANCELLED],
        "dest": S.PARTIALLY_CANCELLED,
    },
    {
        "trigger": "cancel",
        "source": [S.PAID, S.PARTIALLY_CANCELLED],
        "dest": S.CANCELLED,
    },
    # Closing an order that holds no money: a voided virtual account, an unpaid
    # order the store closes, a payment cancelled before we ever saw it paid, or a
    # mismatched order the store gives up on.
    {
        "trigger": "void",
        "source": [S.READY, S.VBANK_ISSUED, S.FAILED, S.EXPIRED, S.MISMATCH],
        "dest": S.CANCELLED,
    },
]

#: States no event leaves.
FINAL_STATES = frozenset({S.CANCELLED})
#: States the reconciler re-checks by default: the truth may still move them.
OPEN_STATES = frozenset({S.READY, S.VBANK_ISSUED, S.FAILED, S.EXPIRED, S.MISMATCH})
#: States in which the store holds the buyer's money.
MONEY_STATES = frozenset({S.PAID, S.PARTIALLY_CANCELLED})

# transitions logs every event it runs at INFO; here an event only answers a
# question about a throwaway holder, so those lines would describe no real order.
_TRANSITIONS_LOG = logging.getLogger("transitions.core")
if _TRANSITIONS_LOG.level == logging.NOTSET:
    _TRANSITIONS_LOG.setLevel(logging.WARNING)

MACHINE = Machine(
    model=None,
    states=OrderState,
    transitions=TRANSITIONS,
    initial=None,
    auto_transitions=False,
    ignore_invalid_triggers=False,
)


class InvalidTransitionError(Exception):
    """The event cannot start from the order's state.

    :param event: the event that was fired.
    :param state: the state it was fired from.
    """

    def __init__(self, event: str, state: enum.StrEnum) -> None:
        super().__init__(f"Event {event!r} cannot start from state {state.value!r}.")
        self.event = event
        self.state = state


class _Holder:
    """What the machine fires on: a state and nothing else."""

    def __init__(self, state: enum.StrEnum) -> None:
        self.state = state


def fire_on(machine: Machine, event: str, state: enum.StrEnum) -> str:
    """Fire ``event`` from ``state`` on a shared ``machine``; return where it leads.

    :raises InvalidTransitionError: the event is unknown or cannot start there.
    """
    if event not in machine.events:
        raise InvalidTransitionError(event, state)
    holder = _Holder(state)
    try:
        moved = machine.events[event].trigger(holder)
    except MachineError:
        raise InvalidTransitionError(event, state) from None
    if not moved:
        raise InvalidTransitionError(event, state)
    return str(holder.state)


def fire(event: str, state: OrderState) -> OrderState:
    """Fire ``event`` from ``state`` on the order machine; return where it leads.

    :raises InvalidTransitionError: the event is unknown or cannot start there.
    """
    return OrderState(fire_on(MACHINE, event, state))


def can_fire(event: str, state: OrderState) -> bool:
    """Whether ``event`` may start from ``state``."""
    try:
        fire(event, state)
    except InvalidTransitionError:
        return False
    return True


def edges() -> list[tuple[OrderState, OrderState, str]]:
    """Every (source, destination, event) triple, in declaration order."""
    return [
        (source, rule["dest"], rule["trigger"])
        for rule in TRANSITIONS
        for source in rule["source"]
    ]


def to_mermaid() -> str:
    """The graph as a Mermaid ``stateDiagram-v2``, built from :data:`TRANSITIONS`."""
    lines = ["stateDiagram-v2", "    [*] --> ready"]
    for source, dest, event in edges():
        lines.append(f"    {source.value} --> {dest.value}: {event}")
    return "\n".join(lines) + "\n"
