"""PortOne's schedules next to the orders expecting them: every kind of gap, made
at the sandbox, found by ``compare_schedules`` and closed by ``repair_schedules``.

Each test runs on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

import pytest
from flask import Flask

from flask_nicepay import Monthly
from flask_nicepay import OrderState
from flask_nicepay import Plan
from flask_nicepay.billing import Billing
from flask_nicepay.portone import Card
from flask_nicepay.portone import NoResponseError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import ScheduleRequest
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.schedule_book import DEFAULT_GRACE
from flask_nicepay.schedule_book import NEVER_CHARGED
from flask_nicepay.schedule_book import Action
from flask_nicepay.schedule_book import GapKind
from flask_nicepay.schedule_book import ScheduleGap
from flask_nicepay.store import Order

from .webshop import get_order
from .webshop import money_rows
from .webshop import on_both_databases
from .webshop import state

CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
POOR_CARD = Card("4000-0000-0000-0341", "2030-12", "900101", "12")
DAY = dt.timedelta(days=1)
PLAN = Plan(name="월간 구독", amount=9_900, interval=Monthly())

pytestmark = on_both_databases


def billing(app: Flask) -> Billing:
    """The app's billing, with no grace: the tests make their gaps at once."""
    found = state(app).payments.billing
    found.book.grace = dt.timedelta(0)
    return found


def portone(app: Flask) -> PortOneClient:
    return state(app).payments.client


def scheduled(
    app: Flask, *days: float, customer_uid: str = "cust-s", card: Card = CARD
) -> list[Order]:
    """Issue a key and schedule one payment of 9,900 won per day count, from now."""
    now = dt.datetime.now(dt.UTC)
    with app.app_context():
        billing(app).issue_key(customer_uid, card)
        return billing(app).schedule(
            customer_uid, [(now + d * DAY, 9_900, f"{d}일 뒤") for d in days]
        )


def compare(app: Flask) -> list[ScheduleGap]:
    with app.app_context():
        return billing(app).compare_schedules()


def kinds(gaps: list[ScheduleGap]) -> list[tuple[GapKind, Action]]:
    return [(g.kind, g.action) for g in gaps]


def repair(app: Flask, gaps: list[ScheduleGap], **options: t.Any) -> t.Any:
    with app.app_context():
        return billing(app).repair_schedules(gaps, **options)


def at_portone(app: Flask, merchant_uid: str) -> t.Any:
    return portone(app).get_schedule(merchant_uid)


def test_schedules_that_agree_leave_no_gap(app: Flask, sandbox: Sandbox) -> None:
    scheduled(app, 3, 40, 89)
    assert compare(app) == []
    now = dt.datetime.now(dt.UTC)
    with app.app_context(), pytest.raises(ValueError, match="since > until"):
        billing(app).compare_schedules(since=now, until=now - DAY)


def test_fresh_orders_and_revokes_wait_out_the_grace(
    app: Flask, sandbox: Sandbox
) -> None:
    """The call that schedules a new order, or closes a revoked one, may still be
    on its way: neither is a gap yet."""
    book = state(app).payments.billing.book
    assert book.grace == DEFAULT_GRACE
    revoked, _ = scheduled(app, 5, 6)
    portone(app).unschedule(merchant_uids=[revoked.merchant_uid])
    sandbox.inject_fault("disconnect", path="/subscribe/payments/schedule")
    with app.app_context(), pytest.raises(NoResponseError):
        billing(app).schedule("cust-s", [(revoked.scheduled_at, 1_000, "새 주문")])
    book.grace = DEFAULT_GRACE
    with app.app_context():
        assert book.compare() == []
        assert book.recheck(revoked.merchant_uid) is None
    book.grace = dt.timedelta(0)
    with app.app_context():
        found = {(g.kind, g.action) for g in book.compare()}
    assert found == {
        (GapKind.MISSING, Action.REARM),
        (GapKind.MISSING, Action.SCHEDULE),
    }


def test_revoked_at_portone_is_rearmed_under_the_same_merchant_uid(
    app: Flask, sandbox: Sandbox
) -> None:
    order, kept = scheduled(app, 5, 6)
    portone(app).unschedule(merchant_uids=[order.merchant_uid])

    [gap] = compare(app)
    assert (gap.kind, gap.action) == (GapKind.MISSING, Action.REARM)
    assert gap.merchant_uid == order.merchant_uid and gap.order == order
    [done] = repair(app, [gap])
    assert done.fixed and done.actions == (Action.REARM,)
    again = at_portone(app, order.merchant_uid)
    assert again.schedule_status == "scheduled"
    assert again.schedule_at == order.scheduled_at.replace(microsecond=0)
    assert compare(app) == []

    sandbox.advance_clock(7 * 86400)  # and it runs, paying the same order
    sandbox.deliver_webhooks()
    assert get_order(app, order.merchant_uid).state is OrderState.PAID
    assert get_order(app, kept.merchant_uid).state is OrderState.PAID


def test_a_lost_scheduling_answer_leaves_the_order_ready_for_repair(
    app: Flask, sandbox: Sandbox
) -> None:
    with app.app_context():
        billing(app).issue_key("cust-s", CARD)
    sandbox.inject_fault("disconnect", path="/subscribe/payments/schedule")
    when = dt.datetime.now(dt.UTC) + 10 * DAY
    with app.app_context(), pytest.raises(NoResponseError):
        billing(app).schedule("cust-s", [(when, 12_000, "다음 달")])
    [order] = billing(app).orders_of("cust-s")
    assert order["state"] == "ready"

    [gap] = compare(app)
    assert (gap.kind, gap.action, gap.schedule) == (
        GapKind.MISSING,
        Action.SCHEDULE,
        None,
    )
    [done] = repair(app, [gap])
    assert done.fixed and done.actions == (Action.SCHEDULE,)
    made = at_portone(app, order["merchant_uid"])
    assert (made.amount, made.customer_uid) == (12_000, "cust-s")
    assert made.schedule_status == "scheduled" and compare(app) == []


def test_an_answer_lost_after_scheduling_is_no_gap(
    app: Flask, sandbox: Sandbox
) -> None:
    with app.app_context():
        billing(app).issue_key("cust-s", CARD)
    sandbox.inject_fault("timeout", path="/subscribe/payments/schedule")
    when = dt.datetime.now(dt.UTC) + 10 * DAY
    with app.app_context(), pytest.raises(NoResponseError):
        billing(app).schedule("cust-s", [(when, 12_000, "다음 달")])
    assert compare(app) == []  # PortOne had it; the order still expects it


def test_runs_whose_webhooks_were_lost_are_synced(app: Flask, sandbox: Sandbox) -> None:
    [paid] = scheduled(app, 2)
    [failed] = scheduled(app, 3, customer_uid="cust-poor", card=POOR_CARD)
    sandbox.inject_webhook_fault("drop", times=2)
    assert len(sandbox.advance_clock(4 * 86400)) == 2
    sandbox.deliver_webhooks()
    assert get_order(app, paid.merchant_uid).state is OrderState.READY

    gaps = compare(app)
    assert kinds(gaps) == [(GapKind.EXECUTED, Action.SYNC)] * 2
    assert [g.merchant_uid for g in gaps] == [paid.merchant_uid, failed.merchant_uid]
    assert all(r.fixed and r.actions == (Action.SYNC,) for r in repair(app, gaps))
    assert get_order(app, paid.merchant_uid).state is OrderState.PAID
    assert get_order(app, failed.merchant_uid).state is OrderState.FAILED


def test_schedules_no_order_expects_are_revoked_only_when_asked(
    app: Flask, sandbox: Sandbox
) -> None:
    scheduled(app, 5)
    when = dt.datetime.now(dt.UTC) + 8 * DAY
    request = ScheduleRequest(merchant_uid="console-1", schedule_at=when, amount=5000)
    portone(app).schedule("cust-s", [request])

    [gap] = compare(app)
    assert (gap.kind, gap.action, gap.order) == (GapKind.UNKNOWN, Action.REVOKE, None)
    [left] = repair(app, [gap])
    assert not left.fixed and left.actions == ()
    assert at_portone(app, "console-1").schedule_status == "scheduled"
    [done] = repair(app, [gap], revoke_unknown=True)
    assert done.fixed and done.actions == (Action.REVOKE,)
    assert at_portone(app, "console-1").schedule_status == "revoked"
    assert compare(app) == []


def test_amount_and_time_differing_at_portone_are_set_to_the_order(
    app: Flask, sandbox: Sandbox
) -> None:
    moved, repriced = scheduled(app, 5, 6)
    later = dt.datetime.now(dt.UTC) + 95 * DAY  # out of the range searched
    portone(app).reschedule(moved.merchant_uid, later)
    uid = repriced.merchant_uid
    portone(app).unschedule(merchant_uids=[uid])
    request = ScheduleRequest(
        merchant_uid=uid, schedule_at=repriced.scheduled_at, amount=99_000
    )
    portone(app).schedule("cust-s", [request])

    gaps = compare(app)
    assert kinds(gaps) == [(GapKind.DIFFERENT, Action.REPLACE)] * 2
    assert [g.differences for g in gaps] == [("schedule_at",), ("amount",)]
    assert all(r.fixed for r in repair(app, gaps))
    assert at_portone(app, uid).amount == Decimal(9_900)
    assert at_portone(app, moved.merchant_uid).schedule_at == (
        moved.scheduled_at.replace(microsecond=0)
    )
    assert compare(app) == []


def test_missing_past_their_time_are_looked_up_and_closed(
    behind: tuple[Flask, Sandbox],
) -> None:
    """The sandbox runs two days behind: a time a day ago is still ahead there."""
    app, _ = behind
    with app.app_context():
        billing(app).issue_key("cust-s", CARD)
        [revoked] = billing(app).schedule(
            "cust-s", [(dt.datetime.now(dt.UTC) - DAY, 9_900, "어제")]
        )
    portone(app).unschedule(merchant_uids=[revoked.merchant_uid])

    [gap] = compare(app)
    assert (gap.kind, gap.action) == (GapKind.MISSING, Action.LOOK_UP)
    [done] = repair(app, [gap])
    assert done.fixed and done.actions == (Action.LOOK_UP,)
    closed = get_order(app, revoked.merchant_uid)
    assert closed.state is OrderState.CANCELLED
    assert closed.cancel_reason == NEVER_CHARGED


def test_repairing_the_same_gaps_twice_changes_nothing_the_second_time(
    app: Flask, sandbox: Sandbox
) -> None:
    revoked, _, repriced = scheduled(app, 5, 1, 6)  # the second runs
    portone(app).unschedule(merchant_uids=[revoked.merchant_uid])
    portone(app).unschedule(merchant_uids=[repriced.merchant_uid])
    request = ScheduleRequest(
        merchant_uid=repriced.merchant_uid,
        schedule_at=repriced.scheduled_at,
        amount=1_000,
    )
    portone(app).schedule("cust-s", [request])
    console = ScheduleRequest(
        merchant_uid="console-2", schedule_at=revoked.scheduled_at, amount=5000
    )
    portone(app).schedule("cust-s", [console])
    sandbox.inject_webhook_fault("drop")
    sandbox.advance_clock(2 * 86400)
    sandbox.deliver_webhooks()
    gaps = compare(app)
    assert {g.kind for g in gaps} == set(GapKind)

    first = repair(app, gaps, revoke_unknown=True)
    assert all(r.fixed and r.actions for r in first)
    rows, schedules = money_rows(app), _schedules(app)
    second = repair(app, gaps, revoke_unknown=True)
    assert [(r.fixed, r.actions) for r in second] == [(True, ())] * len(gaps)
    assert money_rows(app) == rows and _schedules(app) == schedules
    assert compare(app) == []


def _schedules(app: Flask) -> list[t.Any]:
    now = dt.datetime.now(dt.UTC)
    return sorted(
        (s.merchant_uid, s.schedule_status, s.amount, s.schedule_at)
        for s in portone(app).iter_schedules(now - 7 * DAY, now + 90 * DAY)
    )


def test_a_subscriptions_charge_past_its_time_is_left_to_the_subscription(
    app: Flask, sandbox: Sandbox
) -> None:
    """Closing it would race the subscription's due work, which charges it now."""
    nicepay = state(app).extension
    [plain] = scheduled(app, 1)
    with app.app_context():
        sub = nicepay.subscriptions.start("cust-s", PLAN, trial=DAY)
    charge = sub.pending_merchant_uid
    portone(app).unschedule(merchant_uids=[plain.merchant_uid, charge])
    sandbox.advance_clock(2 * 86400)  # the plugin's clock is the sandbox's

    gaps = {g.merchant_uid: g for g in compare(app)}
    assert (gaps[charge].kind, gaps[charge].action) == (GapKind.MISSING, Action.REPORT)
    assert gaps[plain.merchant_uid].action is Action.LOOK_UP
    repairs = {r.gap.merchant_uid: r for r in repair(app, list(gaps.values()))}
    assert repairs[charge].actions == () and not repairs[charge].fixed
    assert get_order(app, charge).state is OrderState.READY
    assert get_order(app, plain.merchant_uid).state is OrderState.CANCELLED
    with app.app_context():
        nicepay.subscriptions.run_due()
    assert get_order(app, charge).state is OrderState.PAID
    assert compare(app) == []
