"""What every charge of a subscription costs: the plan's price, period after period.

Each test reads the money back from both sides: the orders the plugin wrote, and
the payments PortOne (the sandbox) took, through the PortOne client, with their
tax parts from the sandbox's own records. A renewal, a retry, a charge made now
in place of a lost schedule and a resume all cost the plan's price; a plan change
costs the new price from the next period, never in the period under way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t
from decimal import Decimal

import pytest
from flask import Flask

from flask_nicepay import EveryDays
from flask_nicepay import Monthly
from flask_nicepay import NicePay
from flask_nicepay import Plan
from flask_nicepay import SubscriptionState
from flask_nicepay.portone import NotFoundError
from flask_nicepay.portone import PortOneError
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.subscription_table import SubscriptionNotFoundError
from flask_nicepay.subscriptions import PlanChangeError
from flask_nicepay.subscriptions import SubscriptionStateError

from .test_subscriptions import EMPTY_CARD
from .test_subscriptions import GOOD_CARD
from .test_subscriptions import charges
from .test_subscriptions import current
from .test_subscriptions import pass_next_charge
from .test_subscriptions import run_due
from .test_subscriptions import subscribe
from .webshop import get_order
from .webshop import on_both_databases

#: A plan with both tax parts, the VAT not the 1/11 PortOne would assume.
TAXED = Plan(
    name="세금 구독",
    amount=11_000,
    interval=Monthly(),
    tax_free=1_000,
    vat_amount=900,
)
MONTHLY = Plan(name="월간 구독", amount=9_900, interval=Monthly())
DEARER = Plan(name="월간 구독 (인상)", amount=12_900, interval=Monthly(), vat_amount=0)


@dataclasses.dataclass(frozen=True)
class Taken:
    """One charge as both sides hold it."""

    period: int
    attempt: int
    state: str
    origin: str
    #: The order's amount, tax-free part and VAT.
    ordered: tuple[Decimal, Decimal | None, Decimal | None]
    #: Each payment PortOne made for the order: status, amount, tax-free, VAT.
    at_portone: list[tuple[str, Decimal, Decimal, Decimal | None]]


def taken(app: Flask, nicepay: NicePay, sandbox: Sandbox, uid: str) -> list[Taken]:
    """Every charge of a subscription, with what PortOne took for it."""
    found = []
    for row in charges(app, nicepay, uid):
        order = get_order(app, row.merchant_uid)
        payments = portone_payments(app, nicepay, row.merchant_uid)
        found.append(
            Taken(
                row.period,
                row.attempt,
                row.state,
                order.origin,
                (order.amount, order.tax_free, order.vat_amount),
                [_taken(sandbox, p.imp_uid, p.status, p.amount) for p in payments],
            )
        )
    return found


def portone_payments(app: Flask, nicepay: NicePay, merchant_uid: str) -> list[t.Any]:
    """Every payment PortOne made for an order (none: it answers 404)."""
    with app.app_context():
        try:
            return list(nicepay.client.payments.find_all(merchant_uid).items)
        except NotFoundError:
            return []


def _taken(
    sandbox: Sandbox, imp_uid: str, status: str, amount: Decimal
) -> tuple[str, Decimal, Decimal, Decimal | None]:
    # PortOne's payment JSON carries no tax parts: read the sandbox's record.
    record = sandbox.run(lambda led: led.payment(imp_uid))
    return (status, amount, record.tax_free, record.vat_amount)


def key_payments(app: Flask, nicepay: NicePay, customer_uid: str) -> list[t.Any]:
    """Every payment PortOne made with a billing key, as its API lists them."""
    with app.app_context():
        return list(nicepay.client.billing_keys.payments(customer_uid).items)


def price(plan: Plan) -> tuple[Decimal, Decimal | None, Decimal | None]:
    def d(value: Decimal | int | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    return (Decimal(plan.amount), d(plan.tax_free), d(plan.vat_amount))


def at_portone(
    plan: Plan, status: str = "paid"
) -> tuple[str, Decimal, Decimal, Decimal | None]:
    """A payment PortOne took at ``plan``'s price."""
    vat = None if plan.vat_amount is None else Decimal(plan.vat_amount)
    return (status, Decimal(plan.amount), Decimal(plan.tax_free or 0), vat)


# -- renewals ------------------------------------------------------------------


@on_both_databases
def test_every_renewal_charges_the_plan_price_in_both_styles(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """Period 1 made now (``again``), periods 2 to 6 scheduled, period 7 made now
    (``again``) because its schedule never reached PortOne: each costs the plan,
    tax parts included, at PortOne as in the orders; so does period 8's
    schedule."""
    sub = subscribe(app, nicepay, "cust-taxed", plan=TAXED)
    uid = sub.subscription_uid
    for _ in range(4):
        pass_next_charge(app, nicepay, sandbox, uid)
    sandbox.inject_fault("disconnect", path="/subscribe/payments/schedule")
    pass_next_charge(app, nicepay, sandbox, uid)  # pays 6; schedules 7, lost
    lost = get_order(app, current(app, nicepay, uid).pending_merchant_uid)
    sandbox.set_clock(lost.scheduled_at.timestamp() + 2 * 3600)
    assert run_due(app, nicepay).done == {uid: "charged now"}

    found = taken(app, nicepay, sandbox, uid)
    states = [(c.period, c.state) for c in found]
    assert states == [(p, "paid") for p in range(1, 8)] + [(8, "ready")]
    for charge in found:
        assert charge.ordered == price(TAXED), charge
    for charge in found[:-1]:
        assert charge.at_portone == [at_portone(TAXED)], charge
    paid = key_payments(app, nicepay, "cust-taxed")
    assert [p.amount for p in paid] == [Decimal(11_000)] * 7
    paid_uids = {c.merchant_uid for c in charges(app, nicepay, uid)[:-1]}
    assert {p.merchant_uid for p in paid} == paid_uids
    # The charge scheduled next is at PortOne at the plan's price too.
    pending = current(app, nicepay, uid).pending_merchant_uid
    with app.app_context():
        schedule = nicepay.client.get_schedule(pending)
    assert (schedule.amount, schedule.schedule_status) == (11_000, "scheduled")


@on_both_databases
def test_every_retry_and_resume_charges_the_plan_price(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """Period 2 is declined, retried once (declined) and paid on the second
    retry; period 3 is declined three times, then resumed now on a good card:
    every try, declined or paid, asked PortOne for the plan's price."""
    sub = subscribe(app, nicepay, "cust-dry", plan=TAXED)
    uid = sub.subscription_uid
    with app.app_context():
        nicepay.billing.issue_key("cust-dry", EMPTY_CARD)
    pass_next_charge(app, nicepay, sandbox, uid)  # period 2, declined
    pass_next_charge(app, nicepay, sandbox, uid)  # first retry, declined
    with app.app_context():
        nicepay.billing.issue_key("cust-dry", GOOD_CARD)
    pass_next_charge(app, nicepay, sandbox, uid)  # second retry, paid
    assert current(app, nicepay, uid).period == 2
    with app.app_context():
        nicepay.billing.issue_key("cust-dry", EMPTY_CARD)
    for _ in range(3):
        pass_next_charge(app, nicepay, sandbox, uid)
    assert current(app, nicepay, uid).status is SubscriptionState.PAST_DUE
    with app.app_context():
        nicepay.billing.issue_key("cust-dry", GOOD_CARD)
        resumed = nicepay.subscriptions.resume(uid)
    assert resumed.status is SubscriptionState.ACTIVE and resumed.period == 3

    found = taken(app, nicepay, sandbox, uid)
    tries = [(c.period, c.attempt, c.state, c.origin) for c in found]
    assert tries == [
        (1, 0, "paid", "again"),
        (2, 0, "failed", "schedule"),
        (2, 1, "failed", "schedule"),
        (2, 2, "paid", "schedule"),
        (3, 0, "failed", "schedule"),
        (3, 0, "paid", "again"),
        (3, 1, "failed", "schedule"),
        (3, 2, "failed", "schedule"),
        (4, 0, "ready", "schedule"),
    ]
    for charge in found:
        assert charge.ordered == price(TAXED), charge
        want = [] if charge.state == "ready" else [at_portone(TAXED, charge.state)]
        assert charge.at_portone == want, charge
    took = key_payments(app, nicepay, "cust-dry")
    assert len(took) == 8
    assert {p.amount for p in took} == {Decimal(11_000)}


# -- a change of plan ------------------------------------------------------------


@on_both_databases
def test_a_plan_change_charges_the_new_price_from_the_next_period(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    sub = subscribe(app, nicepay, "cust-dearer")
    uid, old = sub.subscription_uid, get_order(app, sub.pending_merchant_uid)
    with app.app_context():
        changed = nicepay.subscriptions.change_plan(uid, DEARER)
        revoked = nicepay.client.get_schedule(old.merchant_uid)
        rescheduled = nicepay.client.get_schedule(changed.pending_merchant_uid)
    assert (changed.amount, changed.name, changed.period) == (12_900, DEARER.name, 1)
    assert changed.status is SubscriptionState.ACTIVE
    # Period 2 has not begun: its charge is at PortOne at the new price, at the
    # same moment; the old one is revoked there and closed here.
    assert revoked.schedule_status == "revoked" and revoked.amount == 9_900
    assert (rescheduled.amount, rescheduled.schedule_status) == (12_900, "scheduled")
    assert rescheduled.schedule_at == old.scheduled_at.replace(microsecond=0)
    assert get_order(app, old.merchant_uid).state.value == "cancelled"
    for _ in range(3):
        pass_next_charge(app, nicepay, sandbox, uid)

    found = taken(app, nicepay, sandbox, uid)
    assert [(c.period, c.state) for c in found] == [
        (1, "paid"),
        (2, "cancelled"),
        (2, "paid"),
        (3, "paid"),
        (4, "paid"),
        (5, "ready"),
    ]
    assert found[0].ordered == price(MONTHLY)  # the period under way kept its price
    assert found[0].at_portone == [at_portone(MONTHLY)]
    assert found[1].at_portone == []  # revoked before it ran
    for charge in found[2:]:
        assert charge.ordered == price(DEARER), charge
    assert [c.at_portone for c in found[2:5]] == [[at_portone(DEARER)]] * 3
    took = [p.amount for p in key_payments(app, nicepay, "cust-dearer")]
    assert sorted(took) == [9_900, 12_900, 12_900, 12_900]


@on_both_databases
def test_a_plan_change_keeps_the_price_of_the_period_under_way_and_its_retries(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """Period 2 began at 9,900 and was declined; the plan changes then. The
    retry scheduled before the change and the one scheduled after it both cost
    9,900; period 3 costs the new price."""
    sub = subscribe(app, nicepay, "cust-retry-dearer")
    uid = sub.subscription_uid
    with app.app_context():
        nicepay.billing.issue_key("cust-retry-dearer", EMPTY_CARD)
    pass_next_charge(app, nicepay, sandbox, uid)
    retrying = current(app, nicepay, uid)
    assert retrying.status is SubscriptionState.RETRYING
    with app.app_context():
        changed = nicepay.subscriptions.change_plan(uid, DEARER)
    assert changed.pending_merchant_uid == retrying.pending_merchant_uid
    assert changed.amount == 12_900
    pass_next_charge(app, nicepay, sandbox, uid)  # the first retry, declined
    with app.app_context():
        nicepay.billing.issue_key("cust-retry-dearer", GOOD_CARD)
    pass_next_charge(app, nicepay, sandbox, uid)  # the second retry, paid
    pass_next_charge(app, nicepay, sandbox, uid)  # period 3

    found = taken(app, nicepay, sandbox, uid)
    got = [(c.period, c.attempt, c.state, c.ordered[0]) for c in found]
    assert got == [
        (1, 0, "paid", 9_900),
        (2, 0, "failed", 9_900),
        (2, 1, "failed", 9_900),
        (2, 2, "paid", 9_900),
        (3, 0, "paid", 12_900),
        (4, 0, "ready", 12_900),
    ]
    assert [c.at_portone for c in found[:5]] == [
        [at_portone(MONTHLY)],
        [at_portone(MONTHLY, "failed")],
        [at_portone(MONTHLY, "failed")],
        [at_portone(MONTHLY)],
        [at_portone(DEARER)],
    ]


@on_both_databases
def test_a_plan_change_after_the_period_began_leaves_its_charge_alone(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """Period 2's schedule never reached PortOne, so when period 2 begins its
    charge is still to be made: a change then is for period 3, and period 2 is
    charged the price it began with."""
    sandbox.inject_fault("disconnect", path="/subscribe/payments/schedule")
    sub = subscribe(app, nicepay, "cust-late-change")
    uid, due = sub.subscription_uid, get_order(app, sub.pending_merchant_uid)
    sandbox.set_clock(due.scheduled_at.timestamp() + 60)  # period 2 has begun
    with app.app_context():
        changed = nicepay.subscriptions.change_plan(uid, DEARER)
    assert changed.pending_merchant_uid == due.merchant_uid
    assert get_order(app, due.merchant_uid).amount == 9_900
    sandbox.advance_clock(3600)
    assert run_due(app, nicepay).done == {uid: "charged now"}
    pass_next_charge(app, nicepay, sandbox, uid)

    found = taken(app, nicepay, sandbox, uid)
    got = [(c.period, c.state, c.ordered[0]) for c in found]
    assert got == [
        (1, "paid", 9_900),
        (2, "paid", 9_900),
        (3, "paid", 12_900),
        (4, "ready", 12_900),
    ]
    assert [c.at_portone for c in found[:3]] == [
        [at_portone(MONTHLY)],
        [at_portone(MONTHLY)],
        [at_portone(DEARER)],
    ]


@on_both_databases
def test_a_plan_change_in_a_trial_prices_the_first_charge(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    sub = subscribe(app, nicepay, "cust-trial-dearer", trial=dt.timedelta(days=14))
    uid, first = sub.subscription_uid, get_order(app, sub.pending_merchant_uid)
    with app.app_context():
        changed = nicepay.subscriptions.change_plan(uid, DEARER)
    assert changed.status is SubscriptionState.TRIALING
    moved = get_order(app, changed.pending_merchant_uid)
    assert moved.scheduled_at == first.scheduled_at and moved.amount == 12_900
    pass_next_charge(app, nicepay, sandbox, uid)
    found = taken(app, nicepay, sandbox, uid)
    assert [(c.period, c.state, c.ordered[0]) for c in found] == [
        (1, "cancelled", 9_900),
        (1, "paid", 12_900),
        (2, "ready", 12_900),
    ]
    assert found[1].at_portone == [at_portone(DEARER)]


@on_both_databases
def test_a_plan_change_waits_for_a_resume_when_nothing_is_scheduled(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """Cancelled for the end of the period, then changed, then resumed: the
    resumed schedule is at the new price, and nothing was charged meanwhile."""
    sub = subscribe(app, nicepay, "cust-pause-dearer")
    uid = sub.subscription_uid
    with app.app_context():
        nicepay.subscriptions.cancel(uid)
        changed = nicepay.subscriptions.change_plan(uid, DEARER)
        assert changed.pending_merchant_uid is None and changed.amount == 12_900
        resumed = nicepay.subscriptions.resume(uid)
    assert get_order(app, resumed.pending_merchant_uid).amount == 12_900
    pass_next_charge(app, nicepay, sandbox, uid)
    took = [p.amount for p in key_payments(app, nicepay, "cust-pause-dearer")]
    assert sorted(took) == [9_900, 12_900]


def test_a_plan_change_refuses_what_it_cannot_do(app: Flask, nicepay: NicePay) -> None:
    sub = subscribe(app, nicepay, "cust-refused")
    uid, pending = sub.subscription_uid, sub.pending_merchant_uid
    weekly = Plan(name="주간", amount=3_000, interval=EveryDays(7))
    usd = Plan(name="Monthly", amount=10, interval=Monthly(), currency="USD")
    on_the_first = Plan(name="월간", amount=9_900, interval=Monthly(day=1))
    with app.app_context():
        for plan in (weekly, usd, on_the_first):
            with pytest.raises(PlanChangeError):
                nicepay.subscriptions.change_plan(uid, plan)
        with pytest.raises(SubscriptionNotFoundError):
            nicepay.subscriptions.change_plan("no-such-plan", DEARER)
        unchanged = nicepay.subscriptions.get(uid)
        nicepay.subscriptions.cancel(uid, at_period_end=False)
        with pytest.raises(SubscriptionStateError):
            nicepay.subscriptions.change_plan(uid, DEARER)
    assert unchanged is not None
    assert (unchanged.amount, unchanged.pending_merchant_uid) == (9_900, pending)


@on_both_databases
def test_a_retry_moved_to_another_card_keeps_its_price(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """Period 2 was declined at 9,900 and the plan changed to 12,900: the
    customer's new card pays the retry at 9,900, as the old card was asked."""
    sub = subscribe(app, nicepay, "cust-move-old")
    uid = sub.subscription_uid
    with app.app_context():
        nicepay.billing.issue_key("cust-move-old", EMPTY_CARD)
    pass_next_charge(app, nicepay, sandbox, uid)
    with app.app_context():
        nicepay.subscriptions.change_plan(uid, DEARER)
        nicepay.billing.issue_key("cust-move-new", GOOD_CARD)
        moved = nicepay.subscriptions.change_card(uid, "cust-move-new")
        schedule = nicepay.client.get_schedule(moved.pending_merchant_uid)
    assert (schedule.customer_uid, schedule.amount) == ("cust-move-new", 9_900)
    pass_next_charge(app, nicepay, sandbox, uid)  # the retry, on the new card
    pass_next_charge(app, nicepay, sandbox, uid)  # period 3

    found = taken(app, nicepay, sandbox, uid)
    got = [(c.period, c.attempt, c.state, c.ordered[0]) for c in found]
    assert got == [
        (1, 0, "paid", 9_900),
        (2, 0, "failed", 9_900),
        (2, 1, "cancelled", 9_900),
        (2, 1, "paid", 9_900),
        (3, 0, "paid", 12_900),
        (4, 0, "ready", 12_900),
    ]
    took = [p.amount for p in key_payments(app, nicepay, "cust-move-new")]
    assert sorted(took) == [9_900, 12_900]


@on_both_databases
def test_a_renewal_portone_runs_during_a_plan_change_keeps_the_old_price(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """PortOne runs period 2's schedule just before the change revokes it: that
    payment is period 2's, at the old price, and period 3 is the first at the
    new one. Nothing is charged twice."""
    sub = subscribe(app, nicepay, "cust-race-change")
    uid, due = sub.subscription_uid, get_order(app, sub.pending_merchant_uid)

    def portone_runs_it() -> None:
        sandbox.set_clock(due.scheduled_at.timestamp() + 1)

    sandbox.before_next_request(portone_runs_it, path="/subscribe/payments/unschedule")
    with app.app_context():
        changed = nicepay.subscriptions.change_plan(uid, DEARER)
    assert (changed.period, changed.amount) == (2, 12_900)
    sandbox.deliver_webhooks()  # period 2's webhook, late: changes nothing
    pass_next_charge(app, nicepay, sandbox, uid)

    found = taken(app, nicepay, sandbox, uid)
    got = [(c.period, c.state, c.ordered[0]) for c in found]
    assert got == [
        (1, "paid", 9_900),
        (2, "paid", 9_900),
        (3, "cancelled", 9_900),
        (3, "paid", 12_900),
        (4, "ready", 12_900),
    ]
    assert [c.at_portone for c in found[:4]] == [
        [at_portone(MONTHLY)],
        [at_portone(MONTHLY)],
        [],
        [at_portone(DEARER)],
    ]
    took = [p.amount for p in key_payments(app, nicepay, "cust-race-change")]
    assert sorted(took) == [9_900, 9_900, 12_900]


@on_both_databases
def test_a_plan_change_schedules_nothing_for_a_subscription_being_cancelled(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    """The cancel could not reach PortOne, so the next charge is still expected:
    a plan change does not schedule it again, and the due work revokes it."""
    sub = subscribe(app, nicepay, "cust-leaving-dearer")
    uid, pending = sub.subscription_uid, sub.pending_merchant_uid
    sandbox.inject_fault(
        "connect_error", path="/subscribe/payments/unschedule", times=10
    )
    with app.app_context(), pytest.raises(PortOneError):
        nicepay.subscriptions.cancel(uid)
    sandbox.clear_faults()
    with app.app_context():
        changed = nicepay.subscriptions.change_plan(uid, DEARER)
    assert (changed.amount, changed.pending_merchant_uid) == (12_900, pending)
    assert run_due(app, nicepay).done == {uid: "revoked"}
    sandbox.advance_clock(70 * 86400)
    sandbox.deliver_webhooks()
    run_due(app, nicepay)
    assert current(app, nicepay, uid).status is SubscriptionState.CANCELLED
    took = [p.amount for p in key_payments(app, nicepay, "cust-leaving-dearer")]
    assert took == [9_900]
