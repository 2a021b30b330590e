"""The state machine: every legal move, and every refused one."""

from __future__ import annotations

import itertools

import pytest

from flask_nicepay import machine
from flask_nicepay.machine import InvalidTransitionError
from flask_nicepay.machine import OrderState as S

# Written out by hand, independently of machine.TRANSITIONS, so that an accidental
# edit of the table shows up here.
LEGAL = {
    ("issue_vbank", S.READY): S.VBANK_ISSUED,
    ("issue_vbank", S.FAILED): S.VBANK_ISSUED,
    ("pay", S.READY): S.PAID,
    ("pay", S.VBANK_ISSUED): S.PAID,
    ("pay", S.FAILED): S.PAID,
    ("pay", S.MISMATCH): S.PAID,
    ("pay_late", S.EXPIRED): S.PAID,
    ("fail", S.READY): S.FAILED,
    ("fail", S.VBANK_ISSUED): S.FAILED,
    ("expire", S.VBANK_ISSUED): S.EXPIRED,
    ("flag_mismatch", S.READY): S.MISMATCH,
    ("flag_mismatch", S.VBANK_ISSUED): S.MISMATCH,
    ("flag_mismatch", S.FAILED): S.MISMATCH,
    ("flag_mismatch", S.EXPIRED): S.MISMATCH,
    ("cancel_partially", S.PAID): S.PARTIALLY_CANCELLED,
    ("cancel_partially", S.PARTIALLY_CANCELLED): S.PARTIALLY_CANCELLED,
    ("cancel", S.PAID): S.CANCELLED,
    ("cancel", S.PARTIALLY_CANCELLED): S.CANCELLED,
    ("void", S.READY): S.CANCELLED,
    ("void", S.VBANK_ISSUED): S.CANCELLED,
    ("void", S.FAILED): S.CANCELLED,
    ("void", S.EXPIRED): S.CANCELLED,
    ("void", S.MISMATCH): S.CANCELLED,
}
EVENTS = sorted({event for event, _ in LEGAL})


@pytest.mark.parametrize(("event", "state"), sorted(LEGAL))
def test_legal_transition(event: str, state: S) -> None:
    assert machine.fire(event, state) is LEGAL[event, state]
    assert machine.can_fire(event, state)


@pytest.mark.parametrize(
    ("event", "state"),
    [pair for pair in itertools.product(EVENTS, S) if pair not in LEGAL],
)
def test_refused_transition(event: str, state: S) -> None:
    with pytest.raises(InvalidTransitionError) as caught:
        machine.fire(event, state)
    assert caught.value.event == event and caught.value.state is state
    assert not machine.can_fire(event, state)


def test_table_matches_the_machine() -> None:
    assert {(e, s): d for s, d, e in machine.edges()} == LEGAL


def test_unknown_event_and_no_automatic_transitions() -> None:
    with pytest.raises(InvalidTransitionError):
        machine.fire("to_paid", S.READY)
    assert not any(name.startswith("to_") for name in machine.MACHINE.events)
    assert machine.MACHINE.models == []


def test_cancelled_is_final_and_paid_is_never_left_for_unpaid() -> None:
    for event in EVENTS:
        assert not machine.can_fire(event, S.CANCELLED)
    for event in ("fail", "expire", "flag_mismatch", "void", "issue_vbank"):
        assert not machine.can_fire(event, S.PAID)


def test_mermaid_diagram_has_every_edge() -> None:
    text = machine.to_mermaid()
    assert text.startswith("stateDiagram-v2\n")
    for source, dest, event in machine.edges():
        assert f"{source.value} --> {dest.value}: {event}" in text
