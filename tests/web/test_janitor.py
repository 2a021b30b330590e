"""The janitor's passes, each doing its duty on a real app, on SQLite and PostgreSQL.

Every situation is made by the real flows: PortOne's answers lost or refused by
the sandbox's faults, webhooks dropped, time moved by the clock fixture. Each
pass is run once more at the end, and changes nothing the second time.
"""

from __future__ import annotations

import collections
import typing as t

import pytest
from flask import Flask

from flask_nicepay import Monthly
from flask_nicepay import OrderState
from flask_nicepay import Plan
from flask_nicepay import SubscriptionState
from flask_nicepay import signals
from flask_nicepay import tables
from flask_nicepay import testing
from flask_nicepay.inbox import Hint
from flask_nicepay.janitor import PASSES
from flask_nicepay.janitor import Janitor
from flask_nicepay.portone import Card
from flask_nicepay.portone import NoResponseError
from flask_nicepay.sandbox import Sandbox

from .webshop import get_order
from .webshop import inbox
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import paid_order
from .webshop import state
from .webshop import vbank_order

pytestmark = on_both_databases


class Heard:
    """The payment signals the app sent, as (name, merchant_uid)."""

    NAMES = ("payment_paid", "payment_cancelled", "vbank_expired", "payment_failed")

    def __init__(self, app: Flask) -> None:
        self.sent: list[tuple[str, str]] = []
        for name in self.NAMES:
            getattr(signals, name).connect(self._heard(name), sender=app, weak=False)

    def _heard(self, name: str) -> t.Callable[..., None]:
        def heard(sender: t.Any, *, order: t.Any, **data: t.Any) -> None:
            self.sent.append((name, order.merchant_uid))

        return heard

    def count(self) -> collections.Counter[tuple[str, str]]:
        return collections.Counter(self.sent)


@pytest.fixture
def janitor(app: Flask) -> Janitor:
    return state(app).payments.janitor


@pytest.fixture
def heard(app: Flask) -> t.Iterator[Heard]:
    listener = Heard(app)
    yield listener
    for name in Heard.NAMES:
        getattr(signals, name).receivers.clear()


def events(app: Flask, uid: str) -> list[str]:
    return [row["event"] for row in state(app).payments.orders.history(uid)]


def paid_unheard(app: Flask) -> tuple[str, dict[str, t.Any]]:
    """An order paid at PortOne whose webhook is still waiting in the sandbox."""
    uid = new_order(app)
    return uid, testing.pay(uid, app=app, deliver=False)


# -- stale_inbox -------------------------------------------------------------------


def test_a_row_left_received_is_processed_after_the_grace(
    app: Flask, janitor: Janitor, nicepay_clock: testing.Clock, heard: Heard
) -> None:
    uid, payment = paid_unheard(app)
    # Recorded, as the celery intake records a webhook, and never processed: its
    # task was lost.
    entry = state(app).payments.inbox.record(
        "webhook", hint=Hint(payment["imp_uid"], uid, "paid")
    )
    nicepay_clock.advance(minutes=4)
    assert janitor.stale_inbox().counts == {}
    assert get_order(app, uid).state is OrderState.READY

    nicepay_clock.advance(minutes=2)
    report = janitor.stale_inbox()

    assert report.counts == {"claimed": 1, "applied": 1} and report.ok
    assert get_order(app, uid).state is OrderState.PAID
    assert state(app).payments.inbox.get(entry).outcome == "applied"  # type: ignore[union-attr]
    assert janitor.stale_inbox().counts == {}
    assert events(app, uid) == ["pay"] and heard.sent == [("payment_paid", uid)]


def test_a_row_another_janitor_holds_waits_until_its_claim_lapses(
    app: Flask, janitor: Janitor, nicepay_clock: testing.Clock
) -> None:
    uid, payment = paid_unheard(app)
    entry = state(app).payments.inbox.record(
        "webhook", hint=Hint(payment["imp_uid"], uid, "paid")
    )
    nicepay_clock.advance(minutes=6)
    # Another janitor took it, and died: its claim holds for the lease.
    until = janitor.clock() + janitor.policy.lease
    assert janitor.claim(tables.inbox, [entry], until=until) == [entry]
    assert janitor.claim(tables.inbox, [entry], until=until) == []

    assert janitor.stale_inbox().counts == {}
    nicepay_clock.advance(minutes=4)
    assert janitor.stale_inbox().counts == {}
    assert get_order(app, uid).state is OrderState.READY

    nicepay_clock.advance(minutes=1)
    assert janitor.stale_inbox().counts == {"claimed": 1, "applied": 1}
    assert get_order(app, uid).state is OrderState.PAID


# -- failed_inbox ------------------------------------------------------------------


def failed_webhook(app: Flask, faults: testing.Faults) -> tuple[str, int]:
    """An order paid, its webhook recorded as failed: PortOne could not be asked."""
    uid, _ = paid_unheard(app)
    faults.api("503", path="/payments/imp_*", times=1_000)
    testing.deliver_webhooks(app)
    [entry] = inbox(app, merchant_uid=uid)
    assert entry.outcome == "error" and entry.attempts == 1
    return uid, entry.id


def test_failed_notifications_are_retried_with_backoff(
    app: Flask,
    janitor: Janitor,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
    heard: Heard,
) -> None:
    uid, entry_id = failed_webhook(app, nicepay_faults)

    def retried_after(**wait: float) -> bool:
        nicepay_clock.advance(**wait)
        return janitor.failed_inbox().counts.get("claimed", 0) == 1

    assert not retried_after(seconds=50)
    assert retried_after(seconds=11)  # 1 minute after the first failure
    assert not retried_after(minutes=4, seconds=50)
    assert retried_after(seconds=11)  # 5 minutes after the second
    assert not retried_after(minutes=29)
    nicepay_faults.clear()
    assert retried_after(minutes=1)  # 30 minutes after the third, and it works
    assert get_order(app, uid).state is OrderState.PAID
    assert state(app).payments.inbox.get(entry_id).attempts == 4  # type: ignore[union-attr]
    nicepay_clock.advance(hours=3)
    assert janitor.failed_inbox().counts == {"given_up": 0}
    assert events(app, uid) == ["pay"] and heard.sent == [("payment_paid", uid)]


def test_a_retry_that_fails_again_is_reported(
    app: Flask,
    janitor: Janitor,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
) -> None:
    failed_webhook(app, nicepay_faults)
    nicepay_clock.advance(minutes=1)
    report = janitor.failed_inbox()
    assert report.counts == {"claimed": 1, "error": 1, "given_up": 0}
    assert not report.ok and "503" in report.errors[0]


@pytest.mark.parametrize(
    "config", [{"NICEPAY_JANITOR_MAX_ATTEMPTS": 3, "NICEPAY_JANITOR_BACKOFF": 60}]
)
def test_a_notification_is_left_to_the_operator_after_max_attempts(
    make_app: t.Any, config: dict[str, t.Any]
) -> None:
    app = make_app(config)
    janitor = state(app).payments.janitor
    clock, faults = testing.Clock(app), testing.Faults(app)
    uid, entry_id = failed_webhook(app, faults)
    for _ in range(2):
        clock.advance(minutes=1)
        assert janitor.failed_inbox().counts["claimed"] == 1
    for _ in range(3):
        clock.advance(hours=1)
        assert janitor.failed_inbox().counts == {"given_up": 1}
    entry = state(app).payments.inbox.get(entry_id)
    assert entry is not None and (entry.outcome, entry.attempts) == ("error", 3)
    faults.clear()
    # Still there for the operator, who replays it by hand.
    assert state(app).payments.notifications.replay(entry_id).outcome == "applied"
    assert get_order(app, uid).state is OrderState.PAID


# -- open_orders -------------------------------------------------------------------


def test_an_order_whose_webhook_was_lost_is_reconciled(
    app: Flask,
    janitor: Janitor,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
    heard: Heard,
) -> None:
    nicepay_faults.webhooks("drop")
    uid = new_order(app)
    testing.pay(uid, app=app)
    abandoned = new_order(app)  # the buyer closed the window: stays ready
    assert get_order(app, uid).state is OrderState.READY
    nicepay_clock.advance(minutes=4)
    assert janitor.open_orders().counts["orders"] == 0  # in the grace still

    nicepay_clock.advance(minutes=2)
    report = janitor.open_orders()

    assert report.counts["claimed"] == 2 and report.counts["applied"] == 1
    assert report.counts["lookups"] == 1 and report.ok
    assert get_order(app, uid).state is OrderState.PAID
    assert janitor.open_orders().counts["orders"] == 0  # rechecked later only
    nicepay_clock.advance(minutes=16)
    again = janitor.open_orders()
    assert again.counts["orders"] == 1 and again.counts["unchanged"] == 0
    assert get_order(app, abandoned).state is OrderState.READY
    assert events(app, uid) == ["pay"] and heard.sent == [("payment_paid", uid)]


# -- vbanks ------------------------------------------------------------------------


def test_a_virtual_account_past_its_deadline_is_expired(
    app: Flask, janitor: Janitor, nicepay_clock: testing.Clock, heard: Heard
) -> None:
    uid, _ = vbank_order(app)
    paid_late, _ = vbank_order(app)
    assert janitor.vbanks().counts == {}
    nicepay_clock.advance(days=31)  # the sandbox's accounts stay open 30 days
    testing.deposit(paid_late, late=True, deliver=False, app=app)  # webhook unheard

    assert janitor.open_orders().counts["orders"] == 0  # left to the sweep
    report = janitor.vbanks()

    assert report.counts == {"claimed": 2, "held": 0, "expired": 1} and report.ok
    assert get_order(app, uid).state is OrderState.EXPIRED
    assert get_order(app, paid_late).state is OrderState.PAID
    assert janitor.vbanks().counts == {}
    assert events(app, uid) == ["issue_vbank", "expire"]
    assert heard.count() == {("vbank_expired", uid): 1, ("payment_paid", paid_late): 1}


# -- refunds -----------------------------------------------------------------------


def test_a_refund_whose_answer_was_lost_is_settled_from_cancel_history(
    app: Flask,
    janitor: Janitor,
    sandbox: Sandbox,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
    heard: Heard,
) -> None:
    uid, _ = paid_order(app)
    nicepay_faults.webhooks("drop")
    # The refund's first lookup goes through; every one after it fails ...
    sandbox.before_next_request(
        lambda: nicepay_faults.api("503", path="/payments/imp_*", times=50),
        path="/payments/imp_*",
    )
    # ... and PortOne cancels without a word: nothing can be settled now.
    nicepay_faults.api("timeout", path="/payments/cancel")
    with pytest.raises(NoResponseError):
        state(app).payments.refunds.refund(uid, 5_000)
    nicepay_faults.clear()
    [row] = state(app).payments.orders.refunds_of(uid)
    assert row.status == "unknown"
    nicepay_clock.advance(minutes=9)
    assert janitor.refunds().counts == {}

    nicepay_clock.advance(minutes=2)
    report = janitor.refunds()

    assert report.counts == {"claimed": 1, "held": 0, "succeeded": 1} and report.ok
    [row] = state(app).payments.orders.refunds_of(uid)
    assert row.status == "succeeded"
    assert get_order(app, uid).state is OrderState.PARTIALLY_CANCELLED
    assert janitor.refunds().counts == {}
    assert events(app, uid) == ["pay", "cancel_partially"]
    assert heard.count()[("payment_cancelled", uid)] == 1


def test_a_refund_whose_process_died_before_the_cancel_is_failed(
    app: Flask, janitor: Janitor, sandbox: Sandbox, nicepay_clock: testing.Clock
) -> None:
    uid, _ = paid_order(app)

    def killed() -> None:
        raise KeyboardInterrupt  # the process stops before PortOne hears of it

    sandbox.before_next_request(killed, path="/payments/cancel")
    with pytest.raises(KeyboardInterrupt):
        state(app).payments.refunds.refund(uid, 5_000)
    [row] = state(app).payments.orders.refunds_of(uid)
    assert row.status == "pending"  # holds up every later refund of the order
    nicepay_clock.advance(minutes=11)

    assert janitor.refunds().counts == {"claimed": 1, "held": 0, "failed": 1}
    state(app).payments.refunds.refund(uid, 5_000)  # no longer held up
    assert get_order(app, uid).state is OrderState.PARTIALLY_CANCELLED


# -- subscriptions -----------------------------------------------------------------


def test_due_subscription_work_is_done(
    app: Flask, janitor: Janitor, nicepay_clock: testing.Clock
) -> None:
    subscriptions = state(app).payments.subscriptions
    state(app).payments.billing.issue_key(
        "cust-1", Card("4242-4242-4242-4242", "2030-12", "900101", "12")
    )
    sub = subscriptions.start(
        "cust-1", Plan(name="월간", amount=9_900, interval=Monthly())
    )
    subscriptions.cancel(sub.subscription_uid, at_period_end=True)
    nicepay_clock.advance(days=32)

    report = janitor.subscriptions()

    assert report.counts == {"ended": 1, "failed": 0} and report.ok
    ended = subscriptions.get(sub.subscription_uid)
    assert ended is not None and ended.status is SubscriptionState.CANCELLED
    assert janitor.subscriptions().counts == {"failed": 0}


# -- all of them -------------------------------------------------------------------


def test_run_runs_every_pass_and_a_second_run_changes_nothing(
    app: Flask, janitor: Janitor, nicepay_clock: testing.Clock
) -> None:
    uid, payment = paid_unheard(app)
    state(app).payments.inbox.record("webhook", hint=Hint(payment["imp_uid"], uid))
    nicepay_clock.advance(minutes=6)
    first = janitor.run()
    assert tuple(first.passes) == PASSES
    assert first.ok and first.passes["stale_inbox"].counts["applied"] == 1
    history = events(app, uid)

    second = janitor.run()

    assert second.ok and events(app, uid) == history == ["pay"]
    assert all("claimed" not in p.counts for p in second.passes.values())


def test_an_unknown_pass_is_refused(janitor: Janitor) -> None:
    with pytest.raises(ValueError, match="No janitor pass sweep"):
        janitor.run(["sweep"])
