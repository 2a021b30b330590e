"""Random stories of PortOne truths, delivered late, twice and out of order.

Hypothesis writes a story for one order (declined and abandoned attempts, virtual
accounts, deposits, approvals, console cancels, refunds of ours) and a delivery
schedule for it: every notification arrives some steps after the event that caused
it, possibly more than once, through any of the three doors. Whatever the story
and the schedule, the order must end in the state PortOne's final truth implies,
its history must be one legal chain, and each transition must have sent exactly
one signal.
"""

from __future__ import annotations

import dataclasses
import itertools
import tempfile
import typing as t
from decimal import Decimal

from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from flask_nicepay import machine
from flask_nicepay import signals
from flask_nicepay.db import make_engine
from flask_nicepay.inbox import Hint
from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import RefundAccount
from flask_nicepay.sandbox import Sandbox

AMOUNT = 30_000
ACTIONS = (
    "decline",
    "abandon",
    "vbank",
    "deposit",
    "approve",
    "console_part",
    "console_full",
    "refund_part",
)
EVENT_SIGNAL = {
    "pay": "payment-paid",
    "pay_late": "payment-paid",
    "issue_vbank": "vbank-issued",
    "fail": "payment-failed",
    "cancel": "payment-cancelled",
    "cancel_partially": "payment-cancelled",
    "void": "payment-cancelled",
    "flag_mismatch": "payment-mismatch",
    "expire": "vbank-expired",
}


@dataclasses.dataclass
class World:
    sandbox: Sandbox
    service: Payments
    sent: list[tuple[str, str]]
    counter: itertools.count[int]


_WORLD: World | None = None


def world() -> World:
    """One sandbox and one database for all examples; each example its own order."""
    global _WORLD
    if _WORLD is None:
        sandbox = Sandbox(imp_key="k", imp_secret="s")
        engine = make_engine(f"sqlite:///{tempfile.mkdtemp()}/property.db")
        client = PortOneClient(
            "k", "s", base_url=sandbox.base_url, session=sandbox.session()
        )
        sender = object()
        service = Payments(client=client, engine=engine, sender=sender)
        service.create_all()
        sent: list[tuple[str, str]] = []
        for name in (
            "payment_paid",
            "vbank_issued",
            "payment_failed",
            "payment_cancelled",
            "payment_mismatch",
            "vbank_expired",
        ):
            signal = getattr(signals, name)

            def receiver(
                sender: t.Any, *, order: t.Any, _s: t.Any = signal, **kw: t.Any
            ) -> None:
                sent.append((_s.name, order.merchant_uid))

            signal.connect(receiver, sender=sender, weak=False)
        _WORLD = World(sandbox, service, sent, itertools.count())
    return _WORLD


@dataclasses.dataclass
class Story:
    """What happened at PortOne, and which attempt each step touched."""

    merchant_uid: str
    touched: list[str | None] = dataclasses.field(default_factory=list)
    paid: str | None = None
    vbank: str | None = None


def act(w: World, story: Story, action: str) -> None:
    """Perform one step at PortOne, if it makes sense now; record what it touched."""
    box, uid = w.sandbox, story.merchant_uid
    imp_uid: str | None = None
    if action in ("decline", "abandon") and story.paid is None:
        outcome = "decline" if action == "decline" else "close"
        imp_uid = box.checkout(merchant_uid=uid, amount=AMOUNT, outcome=outcome)[
            "imp_uid"
        ]
    elif action == "vbank" and story.paid is None and story.vbank is None:
        imp_uid = box.checkout(merchant_uid=uid, amount=AMOUNT, pay_method="vbank")[
            "imp_uid"
        ]
        story.vbank = imp_uid
    elif action == "deposit" and story.vbank and story.paid is None:
        imp_uid = box.deposit(imp_uid=story.vbank)["imp_uid"]
        story.paid = imp_uid
    elif action == "approve" and story.paid is None:
        imp_uid = box.checkout(merchant_uid=uid, amount=AMOUNT)["imp_uid"]
        story.paid = imp_uid
    elif action.startswith("console") and story.paid and _balance(box, story.paid):
        amount = 5_000 if action == "console_part" else None
        if amount is None or _balance(box, story.paid) > amount:
            imp_uid = box.console_cancel(story.paid, amount=amount)["imp_uid"]
    elif action == "refund_part" and story.paid and _balance(box, story.paid) > 5_000:
        order = w.service.orders.get(uid)
        if order is not None and order.state in machine.MONEY_STATES:
            # Money paid into a virtual account goes back to a bank account.
            account = RefundAccount("홍길동", "088", "110123456789")
            refund = account if order.pay_method == "vbank" else None
            w.service.refunds.refund(
                uid, 5_000, refund_account=refund
            )  # applies its answer
    story.touched.append(imp_uid)


def _balance(box: Sandbox, imp_uid: str) -> Decimal:
    payment = box.payment(imp_uid)
    assert payment is not None
    return Decimal(payment["amount"]) - Decimal(payment["cancel_amount"])


def expected_state(box: Sandbox, story: Story) -> OrderState:
    """The oracle: what PortOne's final truth implies, worked out independently."""
    if story.paid:
        payment = box.payment(story.paid)
        assert payment is not None
        cancelled = Decimal(payment["cancel_amount"])
        if cancelled == 0:
            return OrderState.PAID
        if cancelled < Decimal(payment["amount"]):
            return OrderState.PARTIALLY_CANCELLED
        return OrderState.CANCELLED
    attempts = [box.payment(i) for i in story.touched if i]
    if story.vbank:
        return OrderState.VBANK_ISSUED
    if any(a is not None and a["status"] == "failed" for a in attempts):
        return OrderState.FAILED
    return OrderState.READY


step = st.tuples(
    st.sampled_from(ACTIONS),
    st.lists(
        st.tuples(st.integers(0, 6), st.sampled_from(("webhook", "pc", "mobile"))),
        min_size=1,
        max_size=3,
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=9))
# Found by hypothesis: a refund of a deposited virtual account, between attempts.
@example(
    steps=[
        ("vbank", [(4, "webhook")]),
        ("deposit", [(0, "mobile")]),
        ("decline", [(6, "webhook")]),
        ("refund_part", [(6, "mobile")]),
        ("vbank", [(3, "webhook"), (1, "pc"), (6, "pc")]),
        ("decline", [(6, "mobile")]),
    ]
)
def test_any_story_in_any_order_ends_in_the_truth(
    steps: list[tuple[str, list[tuple[int, str]]]],
) -> None:
    w = world()
    uid = f"prop-{next(w.counter)}"
    w.service.orders.create(merchant_uid=uid, amount=AMOUNT, name="property")
    story = Story(uid)
    # Deliveries due at each tick; each one fetches the attempt's current truth.
    due: dict[int, list[tuple[str, str]]] = {}
    for tick, (action, deliveries) in enumerate(steps):
        act(w, story, action)
        imp_uid = story.touched[-1]
        for delay, door in deliveries:
            if imp_uid is not None:
                due.setdefault(tick + delay, []).append((imp_uid, door))
        for imp_uid_due, door in due.pop(tick, []):
            w.service.notifications.receive(door, Hint(imp_uid_due, uid))
    for tick in sorted(due):
        for imp_uid_due, door in due[tick]:
            w.service.notifications.receive(door, Hint(imp_uid_due, uid))

    order = w.service.orders.get(uid)
    assert order is not None
    assert order.state is expected_state(w.sandbox, story), story

    history = w.service.orders.history(uid)
    state = OrderState.READY
    for row in history:
        assert row["from_state"] == state.value
        state = machine.fire(row["event"], state)
        assert row["to_state"] == state.value
    assert state is order.state

    signalled = sorted(name for name, m in w.sent if m == uid)
    assert signalled == sorted(EVENT_SIGNAL[row["event"]] for row in history)
    if story.paid:
        assert order.balance == _balance(w.sandbox, story.paid)
        assert order.imp_uid == story.paid
