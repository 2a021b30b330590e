"""Subscriptions against the sandbox: start, renew, decline, retry, cancel, resume.

Time moves with the sandbox clock, which the plugin's clock follows in
embedded-sandbox mode; PortOne runs each schedule when the clock passes it and
delivers its webhook, late, twice, out of order or not at all as a fault says.
"""

from __future__ import annotations

import collections
import datetime as dt
import typing as t

import pytest
from flask import Flask

from flask_nicepay import EveryDays
from flask_nicepay import Monthly
from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import Plan
from flask_nicepay import SubscriptionState
from flask_nicepay import signals
from flask_nicepay.portone import Card
from flask_nicepay.portone import NotFoundError
from flask_nicepay.portone import PortOneError
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.subscription_plan import KST
from flask_nicepay.subscription_table import NoBillingKeyError
from flask_nicepay.subscription_table import SubscriptionNotFoundError
from flask_nicepay.subscription_table import SubscriptionUidInUseError
from flask_nicepay.subscriptions import SubscriptionStateError

from .webshop import get_order
from .webshop import on_both_databases

GOOD_CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
# Issues a key; every payment on it is declined for want of balance.
EMPTY_CARD = Card("4000-0000-0000-0341", "2030-12", "900101", "12")
MONTHLY = Plan(name="월간 구독", amount=9_900, interval=Monthly())

SIGNALS = (
    signals.subscription_started,
    signals.subscription_renewed,
    signals.subscription_payment_failed,
    signals.subscription_past_due,
    signals.subscription_cancelled,
)


class Heard:
    """Every subscription signal the app sent, by name, with its data."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.sent: dict[str, list[dict[str, t.Any]]] = collections.defaultdict(list)

    def receiver(self, name: str) -> t.Callable[..., None]:
        def heard(sender: t.Any, **data: t.Any) -> None:
            assert sender is self.app
            self.sent[name].append(data)

        return heard

    def count(self, signal: t.Any) -> int:
        return len(self.sent[signal.name])


@pytest.fixture
def heard(app: Flask) -> t.Iterator[Heard]:
    listener = Heard(app)
    receivers = [(s, listener.receiver(s.name)) for s in SIGNALS]
    for signal, receiver in receivers:
        signal.connect(receiver, sender=app)
    yield listener
    for signal, receiver in receivers:
        signal.disconnect(receiver, sender=app)


def subscribe(
    app: Flask, nicepay: NicePay, customer_uid: str, card: Card = GOOD_CARD, **kw: t.Any
) -> t.Any:
    with app.app_context():
        nicepay.billing.issue_key(customer_uid, card)
        return nicepay.subscriptions.start(customer_uid, kw.pop("plan", MONTHLY), **kw)


def current(app: Flask, nicepay: NicePay, uid: str) -> t.Any:
    with app.app_context():
        found = nicepay.subscriptions.get(uid)
    assert found is not None
    return found


def charges(app: Flask, nicepay: NicePay, uid: str) -> list[t.Any]:
    with app.app_context():
        return nicepay.subscriptions.charges(uid)


def run_due(app: Flask, nicepay: NicePay) -> t.Any:
    with app.app_context():
        return nicepay.subscriptions.run_due()


def pass_next_charge(app: Flask, nicepay: NicePay, sandbox: Sandbox, uid: str) -> None:
    """Move the clock past the charge the subscription expects; let PortOne run it
    and send its webhook; run the due work an hour later."""
    sub = current(app, nicepay, uid)
    when = get_order(app, sub.pending_merchant_uid).scheduled_at
    sandbox.set_clock(when.timestamp() + 60)
    sandbox.deliver_webhooks()
    sandbox.advance_clock(3600)
    sandbox.deliver_webhooks()
    run_due(app, nicepay)


def paid_periods(app: Flask, nicepay: NicePay, uid: str) -> list[int]:
    return [c.period for c in charges(app, nicepay, uid) if c.state == "paid"]


# -- starting ----------------------------------------------------------------


@on_both_databases
def test_start_charges_the_first_period_and_schedules_the_next(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    sub = subscribe(app, nicepay, "cust-start")
    assert sub.status is SubscriptionState.ACTIVE and sub.period == 1
    [first, second] = charges(app, nicepay, sub.subscription_uid)
    assert (first.period, first.state, first.amount) == (1, "paid", 9_900)
    assert (second.period, second.state) == (2, "ready")
    assert second.merchant_uid == sub.pending_merchant_uid
    assert second.scheduled_at == sub.period_end
    # A month later, same time of day in Korea.
    start = sub.period_start.astimezone(KST)
    end = sub.period_end.astimezone(KST)
    assert (end.time(), end.day) == (start.time(), min(start.day, end.day))
    with app.app_context():
        scheduled = nicepay.client.get_schedule(second.merchant_uid)
    assert scheduled.schedule_status == "scheduled"
    assert heard.count(signals.subscription_started) == 1
    assert [d["period"] for d in heard.sent["subscription-renewed"]] == [1]


def test_a_declined_first_charge_leaves_it_incomplete_until_resumed(
    app: Flask, nicepay: NicePay, heard: Heard
) -> None:
    sub = subscribe(app, nicepay, "cust-empty", EMPTY_CARD)
    assert sub.status is SubscriptionState.INCOMPLETE and sub.period == 0
    assert sub.fail_reason and "잔액부족" in sub.fail_reason
    assert sub.pending_merchant_uid is None
    assert heard.count(signals.subscription_started) == 0
    assert heard.count(signals.subscription_payment_failed) == 1
    with app.app_context():
        nicepay.billing.issue_key("cust-good", GOOD_CARD)
        nicepay.subscriptions.change_card(sub.subscription_uid, "cust-good")
        resumed = nicepay.subscriptions.resume(sub.subscription_uid)
    assert resumed.status is SubscriptionState.ACTIVE and resumed.period == 1
    assert resumed.customer_uid == "cust-good"
    assert heard.count(signals.subscription_started) == 1


def test_start_refuses_what_it_cannot_charge(app: Flask, nicepay: NicePay) -> None:
    subscribe(app, nicepay, "cust-taken", subscription_uid="plan-1")
    with app.app_context():
        with pytest.raises(NoBillingKeyError):
            nicepay.subscriptions.start("nobody", MONTHLY)
        with pytest.raises(SubscriptionUidInUseError):
            nicepay.subscriptions.start(
                "cust-taken", MONTHLY, subscription_uid="plan-1"
            )
        with pytest.raises(SubscriptionNotFoundError):
            nicepay.subscriptions.cancel("no-such-plan")
        nicepay.billing.delete_key("cust-taken")
        with pytest.raises(NoBillingKeyError):
            nicepay.subscriptions.start("cust-taken", MONTHLY)
    assert len(charges(app, nicepay, "plan-1")) == 2


def test_a_trial_charges_nothing_until_it_ends(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    sub = subscribe(app, nicepay, "cust-trial", trial=dt.timedelta(days=14))
    assert sub.status is SubscriptionState.TRIALING and sub.period == 0
    assert heard.count(signals.subscription_started) == 1
    [first] = charges(app, nicepay, sub.subscription_uid)
    assert first.scheduled_at == sub.period_end
    pass_next_charge(app, nicepay, sandbox, sub.subscription_uid)
    after = current(app, nicepay, sub.subscription_uid)
    assert after.status is SubscriptionState.ACTIVE and after.period == 1
    assert after.period_start == first.scheduled_at
    assert heard.count(signals.subscription_started) == 1
    assert heard.count(signals.subscription_renewed) == 1


# -- a year of renewals ------------------------------------------------------

#: What happens to each month's webhook: on time, twice, late, out of order with
#: the next month's, or lost (then the due work looks the payment up).
FAULTS = ["duplicate", "delay", None, "reorder", "drop", "duplicate", None, "drop"]


@on_both_databases
def test_a_year_of_monthly_renewals_charges_each_month_once(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    sub = subscribe(app, nicepay, "cust-year")
    uid = sub.subscription_uid
    for month in range(40):
        if len(paid_periods(app, nicepay, uid)) >= 12:
            break
        fault = FAULTS[month % len(FAULTS)]
        if fault == "delay":
            sandbox.inject_webhook_fault("delay", delay=2 * 86400)
        elif fault == "reorder":
            sandbox.inject_webhook_fault("reorder", times=2)
        elif fault is not None:
            sandbox.inject_webhook_fault(fault)
        pass_next_charge(app, nicepay, sandbox, uid)
    sandbox.clear_faults()
    sandbox.deliver_webhooks()
    run_due(app, nicepay)
    assert paid_periods(app, nicepay, uid) == list(range(1, 13))
    after = current(app, nicepay, uid)
    assert after.period == 12 and after.status is SubscriptionState.ACTIVE
    assert heard.count(signals.subscription_renewed) == 12
    assert [d["period"] for d in heard.sent["subscription-renewed"]] == list(
        range(1, 13)
    )
    # PortOne charged the key twelve times, no more.
    with app.app_context():
        paid_at_portone = [
            p
            for p in nicepay.client.billing_keys.payments("cust-year").items
            if p.status == "paid"
        ]
    assert len(paid_at_portone) == 12
    # Twelve months on the same day of the month, at the same time.
    starts = [current(app, nicepay, uid).anchor_at.astimezone(KST)]
    days = {c.scheduled_at.astimezone(KST).day for c in charges(app, nicepay, uid)[1:]}
    assert days <= {starts[0].day, 28, 29, 30}


# -- declines ----------------------------------------------------------------


@on_both_databases
def test_a_declined_renewal_retries_then_becomes_past_due(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    sub = subscribe(app, nicepay, "cust-runs-dry")
    uid = sub.subscription_uid
    with app.app_context():  # the same key now holds a card with no balance
        nicepay.billing.issue_key("cust-runs-dry", EMPTY_CARD)
    pass_next_charge(app, nicepay, sandbox, uid)
    retrying = current(app, nicepay, uid)
    assert retrying.status is SubscriptionState.RETRYING
    first_retry = get_order(app, retrying.pending_merchant_uid)
    failed = [c for c in charges(app, nicepay, uid) if c.state == "failed"]
    assert len(failed) == 1
    gap = first_retry.scheduled_at - failed[0].scheduled_at
    assert dt.timedelta(days=1) <= gap <= dt.timedelta(days=1, hours=2)
    pass_next_charge(app, nicepay, sandbox, uid)
    second_retry = get_order(app, current(app, nicepay, uid).pending_merchant_uid)
    assert second_retry.scheduled_at - first_retry.scheduled_at >= dt.timedelta(days=3)
    pass_next_charge(app, nicepay, sandbox, uid)
    past_due = current(app, nicepay, uid)
    assert past_due.status is SubscriptionState.PAST_DUE
    assert past_due.pending_merchant_uid is None and past_due.period == 1
    assert [c.attempt for c in charges(app, nicepay, uid) if c.period == 2] == [0, 1, 2]
    retries = [
        d["retry_at"] is not None for d in heard.sent["subscription-payment-failed"]
    ]
    assert retries == [True, True, False]
    assert heard.count(signals.subscription_past_due) == 1
    # Nothing more is charged, however long we wait.
    sandbox.advance_clock(90 * 86400)
    sandbox.deliver_webhooks()
    run_due(app, nicepay)
    assert len(charges(app, nicepay, uid)) == 4
    # A new card, then resume: a new period charged now, counted from now.
    with app.app_context():
        nicepay.billing.issue_key("cust-new-card", GOOD_CARD)
        nicepay.subscriptions.change_card(uid, "cust-new-card")
        resumed = nicepay.subscriptions.resume(uid)
    assert resumed.status is SubscriptionState.ACTIVE and resumed.period == 2
    assert resumed.period_start == resumed.anchor_at


# -- change card, cancel, resume ---------------------------------------------


@on_both_databases
def test_change_card_moves_the_scheduled_charge(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    sub = subscribe(app, nicepay, "cust-old")
    old = get_order(app, sub.pending_merchant_uid)
    with app.app_context():
        nicepay.billing.issue_key("cust-new", GOOD_CARD)
        moved = nicepay.subscriptions.change_card(sub.subscription_uid, "cust-new")
        revoked = nicepay.client.get_schedule(old.merchant_uid)
        now_on = nicepay.client.get_schedule(moved.pending_merchant_uid)
    assert moved.customer_uid == "cust-new"
    assert get_order(app, old.merchant_uid).state is OrderState.CANCELLED
    assert revoked.schedule_status == "revoked"
    assert now_on.customer_uid == "cust-new" and now_on.schedule_status == "scheduled"
    assert get_order(app, moved.pending_merchant_uid).scheduled_at == old.scheduled_at
    pass_next_charge(app, nicepay, sandbox, sub.subscription_uid)
    second = [c for c in charges(app, nicepay, sub.subscription_uid) if c.period == 2]
    states = [(c.state, c.customer_uid) for c in second]
    assert states == [("cancelled", "cust-old"), ("paid", "cust-new")]
    with app.app_context(), pytest.raises(NoBillingKeyError):
        nicepay.subscriptions.change_card(sub.subscription_uid, "cust-nobody")


@on_both_databases
def test_cancel_at_period_end_then_resume_then_cancel_at_once(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    sub = subscribe(app, nicepay, "cust-leaving")
    uid, pending = sub.subscription_uid, sub.pending_merchant_uid
    with app.app_context():
        leaving = nicepay.subscriptions.cancel(uid)
        assert nicepay.client.get_schedule(pending).schedule_status == "revoked"
    assert leaving.status is SubscriptionState.ACTIVE and leaving.cancel_at_period_end
    assert leaving.pending_merchant_uid is None
    assert heard.count(signals.subscription_cancelled) == 0
    with app.app_context():
        staying = nicepay.subscriptions.resume(uid)
    assert not staying.cancel_at_period_end and staying.pending_merchant_uid
    with app.app_context():
        gone = nicepay.subscriptions.cancel(uid, at_period_end=False)
        again = nicepay.subscriptions.cancel(uid)
        with pytest.raises(SubscriptionStateError):
            nicepay.subscriptions.resume(uid)
    assert (
        gone.status is SubscriptionState.CANCELLED and gone.pending_merchant_uid is None
    )
    assert again == gone
    assert heard.count(signals.subscription_cancelled) == 1
    sandbox.advance_clock(100 * 86400)
    sandbox.deliver_webhooks()
    run_due(app, nicepay)
    assert paid_periods(app, nicepay, uid) == [1]


def test_a_subscription_cancelled_for_the_period_end_ends_then(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    sub = subscribe(
        app,
        nicepay,
        "cust-ends",
        plan=Plan(name="주간", amount=3_000, interval=EveryDays(7)),
    )
    with app.app_context():
        nicepay.subscriptions.cancel(sub.subscription_uid)
    sandbox.advance_clock(6 * 86400)
    run_due(app, nicepay)
    assert (
        current(app, nicepay, sub.subscription_uid).status is SubscriptionState.ACTIVE
    )
    sandbox.advance_clock(86400 + 60)
    run_due(app, nicepay)
    run_due(app, nicepay)
    ended = current(app, nicepay, sub.subscription_uid)
    assert ended.status is SubscriptionState.CANCELLED and ended.ended_at
    assert heard.count(signals.subscription_cancelled) == 1
    assert paid_periods(app, nicepay, sub.subscription_uid) == [1]


# -- the due work ------------------------------------------------------------


@on_both_databases
def test_a_schedule_portone_never_got_is_made_again(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """The next period's scheduling call never reached PortOne: once it is due,
    the renewal is charged then, once, with the same merchant_uid."""
    sandbox.inject_fault("disconnect", path="/subscribe/payments/schedule")
    sub = subscribe(app, nicepay, "cust-lost")
    pending = get_order(app, sub.pending_merchant_uid)
    assert pending.state is OrderState.READY  # kept: PortOne may have it
    with app.app_context(), pytest.raises(NotFoundError):
        nicepay.client.get_schedule(pending.merchant_uid)
    sandbox.set_clock(pending.scheduled_at.timestamp() + 60)
    assert run_due(app, nicepay).done == {}  # not late yet: PortOne may be slow
    sandbox.advance_clock(3600)
    report = run_due(app, nicepay)
    assert report.done == {sub.subscription_uid: "charged now"}
    assert paid_periods(app, nicepay, sub.subscription_uid) == [1, 2]
    assert current(app, nicepay, sub.subscription_uid).period == 2


@on_both_databases
def test_a_lost_renewal_webhook_is_looked_up(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    sub = subscribe(app, nicepay, "cust-quiet")
    pending = get_order(app, sub.pending_merchant_uid)
    sandbox.inject_webhook_fault("drop")
    sandbox.set_clock(pending.scheduled_at.timestamp() + 60)
    sandbox.deliver_webhooks()
    assert get_order(app, pending.merchant_uid).state is OrderState.READY
    sandbox.advance_clock(3600)
    assert run_due(app, nicepay).done == {sub.subscription_uid: "looked up"}
    assert paid_periods(app, nicepay, sub.subscription_uid) == [1, 2]
    assert heard.count(signals.subscription_renewed) == 2
    assert run_due(app, nicepay).done == {}


def test_a_cancel_cut_short_is_finished(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """PortOne could not be reached to revoke the next charge: the cancel is
    recorded, and the due work revokes the charge before it runs."""
    sub = subscribe(app, nicepay, "cust-cut")
    unschedule = "/subscribe/payments/unschedule"
    sandbox.inject_fault("connect_error", path=unschedule, times=10)
    with app.app_context(), pytest.raises(PortOneError):
        nicepay.subscriptions.cancel(sub.subscription_uid)
    sandbox.clear_faults()
    half = current(app, nicepay, sub.subscription_uid)
    assert half.cancel_at_period_end and half.pending_merchant_uid
    assert run_due(app, nicepay).done == {sub.subscription_uid: "revoked"}
    with app.app_context():
        revoked = nicepay.client.get_schedule(half.pending_merchant_uid)
    assert revoked.schedule_status == "revoked"
    sandbox.advance_clock(70 * 86400)
    sandbox.deliver_webhooks()
    run_due(app, nicepay)
    after = current(app, nicepay, sub.subscription_uid)
    assert after.status is SubscriptionState.CANCELLED
    assert paid_periods(app, nicepay, sub.subscription_uid) == [1]
