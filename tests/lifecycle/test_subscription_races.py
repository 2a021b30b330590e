"""A renewal's result delivered by several processes at once, and the due work run
by several processes at once, on a SQLite file and on PostgreSQL: the next period
is scheduled once, and ``subscription_renewed`` is sent once."""

from __future__ import annotations

import typing as t

import pytest
from sqlalchemy.engine import Engine

from flask_nicepay import Monthly
from flask_nicepay import Plan
from flask_nicepay.payments import Payments
from flask_nicepay.portone import Card
from flask_nicepay.portone import PortOneClient
from flask_nicepay.sandbox import Sandbox

from . import subscription_worker
from .test_races import PROCESSES
from .test_races import db_url
from .test_races import in_processes
from .test_races import served_sandbox as served_sandbox

PLAN = Plan(name="월간", amount=12_000, interval=Monthly())
CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")


def renewal_ran(
    db_engine: Engine, sandbox: Sandbox, url: str
) -> tuple[Payments, str, t.Any, dict[str, t.Any]]:
    """A subscription whose second period PortOne has just charged, with nobody
    told yet: the subscription's uid, the charge's order and PortOne's payment."""
    client = PortOneClient("race_key", "race_secret", base_url=url)
    payments = Payments(client=client, engine=db_engine, sender=object())
    payments.billing.issue_key("sub-race", CARD)
    sub = payments.subscriptions.start("sub-race", PLAN)
    order = payments.orders.get(t.cast(str, sub.pending_merchant_uid))
    assert order is not None and order.scheduled_at is not None
    [executed] = sandbox.set_clock(order.scheduled_at.timestamp() + 60)
    payment = sandbox.payment(executed["imp_uid"])
    assert payment is not None and payment["status"] == "paid"
    return payments, sub.subscription_uid, order, payment


def assert_renewed_once(payments: Payments, uid: str, heard: int) -> None:
    sub = payments.subscriptions.get(uid)
    assert sub is not None and sub.period == 2
    periods = [(c.period, c.state) for c in payments.subscriptions.charges(uid)]
    assert periods == [(1, "paid"), (2, "paid"), (3, "ready")]
    assert heard == 1


@pytest.mark.slow
def test_processes_hearing_one_renewal(
    db_engine: Engine, served_sandbox: tuple[Sandbox, str]
) -> None:
    sandbox, url = served_sandbox
    payments, uid, order, payment = renewal_ran(db_engine, sandbox, url)
    args = (db_url(db_engine), url, payment["imp_uid"], order.merchant_uid)
    reports = in_processes(subscription_worker.deliver, args, PROCESSES)
    assert_renewed_once(payments, uid, sum(len(r["heard"]) for r in reports))


def unfollowed_renewal(
    db_engine: Engine, sandbox: Sandbox, url: str
) -> tuple[Payments, str, t.Any]:
    """A renewal paid, its order written, and its subscription not moved on (the
    process that wrote it died)."""
    payments, uid, order, payment = renewal_ran(db_engine, sandbox, url)
    follow = payments.subscriptions.follow
    payments.subscriptions.follow = lambda event, order: None  # type: ignore[method-assign]
    payments.reconciler.sync(imp_uid=payment["imp_uid"])
    payments.subscriptions.follow = follow  # type: ignore[method-assign]
    settled = payments.orders.get(order.merchant_uid)
    assert settled is not None and settled.state == "paid"
    return payments, uid, settled


@pytest.mark.slow
def test_processes_following_one_result_at_once(
    db_engine: Engine, served_sandbox: tuple[Sandbox, str]
) -> None:
    sandbox, url = served_sandbox
    payments, uid, order = unfollowed_renewal(db_engine, sandbox, url)
    args = (db_url(db_engine), url, order.merchant_uid)
    reports = in_processes(subscription_worker.follow, args, PROCESSES)
    assert_renewed_once(payments, uid, sum(len(r["heard"]) for r in reports))


@pytest.mark.slow
def test_processes_finishing_a_renewal_nobody_followed(
    db_engine: Engine, served_sandbox: tuple[Sandbox, str]
) -> None:
    """The process that wrote the renewal's payment died before moving the
    subscription; four janitors at once finish it once."""
    sandbox, url = served_sandbox
    payments, uid, settled = unfollowed_renewal(db_engine, sandbox, url)
    reports = in_processes(
        subscription_worker.run_due, (db_url(db_engine), url), PROCESSES
    )
    assert_renewed_once(payments, uid, sum(len(r["heard"]) for r in reports))
    assert sorted(d for r in reports for d in r["done"].values()) == ["followed"]
    # The same result followed again, here, changes nothing.
    for _ in range(3):
        payments.subscriptions.follow("pay", settled)
    assert_renewed_once(payments, uid, 1)
