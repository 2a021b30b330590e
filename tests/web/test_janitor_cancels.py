"""Automatic cancels PortOne refused, sent again by the janitor's refunds pass.

A payment that fails verification is cancelled at once (``NICEPAY_ON_MISMATCH``'s
default). When PortOne refuses that cancel, the buyer's money stays taken for an
order that will never be filled, so the janitor sends it again: a refund grace
after the refusal, then on the backoff, up to ``NICEPAY_JANITOR_MAX_ATTEMPTS``
sends, each with the balance PortOne shows just before as its checksum. Made by
the real flows on SQLite and PostgreSQL: a key-in payment of the wrong amount, the
sandbox's faults, the clock fixture.
"""

from __future__ import annotations

import dataclasses
import typing as t
from decimal import Decimal

import pytest
from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import signals
from flask_nicepay import testing
from flask_nicepay.janitor import Janitor
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.verify import OnMismatch

from .conftest import AppFactory
from .consoleshop import Operator
from .consoleshop import console_app
from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import state
from .webshop import tampered_payment

pytestmark = on_both_databases

#: The second send waits a refund grace (600 s); the third an hour more.
CONFIG = {"NICEPAY_JANITOR_MAX_ATTEMPTS": 3, "NICEPAY_JANITOR_BACKOFF": [60, 3600]}


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return console_app(make_app, **CONFIG)


@pytest.fixture
def janitor(app: Flask) -> Janitor:
    return state(app).payments.janitor


def refused_cancel(app: Flask, faults: testing.Faults, times: int = 1) -> str:
    """A mismatched payment whose automatic cancel PortOne refused; its imp_uid."""
    uid = new_order(app, 50_000)
    imp_uid = tampered_payment(app, uid, 1_000)
    faults.api("500", path="/payments/cancel", times=times)
    state(app).payments.reconciler.sync(imp_uid=imp_uid)
    [row] = state(app).payments.orders.refunds_of(uid)
    assert (row.source, row.status, row.attempts) == ("auto", "failed", 1)
    return imp_uid


def auto_row(app: Flask, sandbox: Sandbox, imp_uid: str) -> t.Any:
    uid = t.cast(dict[str, t.Any], sandbox.payment(imp_uid))["merchant_uid"]
    [row] = [
        r for r in state(app).payments.orders.refunds_of(uid) if r.source == "auto"
    ]
    return row


def portone_status(sandbox: Sandbox, imp_uid: str) -> str:
    return str(t.cast(dict[str, t.Any], sandbox.payment(imp_uid))["status"])


def test_a_refused_automatic_cancel_is_sent_again_once(
    app: Flask,
    janitor: Janitor,
    sandbox: Sandbox,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
) -> None:
    imp_uid = refused_cancel(app, nicepay_faults)
    assert portone_status(sandbox, imp_uid) == "paid"
    nicepay_clock.advance(minutes=9)
    assert janitor.refunds().counts == {}  # PortOne may still be busy with it

    nicepay_clock.advance(minutes=2)
    report = janitor.refunds()

    assert report.counts == {"sent_again_succeeded": 1} and report.ok
    assert portone_status(sandbox, imp_uid) == "cancelled"
    assert sandbox.cancel_checksums(imp_uid) == [Decimal(1_000)]
    row = auto_row(app, sandbox, imp_uid)
    assert (row.status, row.attempts, row.amount) == ("succeeded", 2, Decimal(1_000))
    order = get_order(app, row.merchant_uid)
    assert order.state is OrderState.MISMATCH and order.paid_amount == 0
    nicepay_clock.advance(hours=3)
    assert janitor.refunds().counts == {}


def test_a_cancel_refused_again_waits_on_the_backoff_and_stops_at_the_bound(
    app: Flask,
    janitor: Janitor,
    sandbox: Sandbox,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
) -> None:
    imp_uid = refused_cancel(app, nicepay_faults, times=10)
    nicepay_clock.advance(minutes=11)
    assert janitor.refunds().counts == {"sent_again_failed": 1}
    assert auto_row(app, sandbox, imp_uid).attempts == 2

    nicepay_clock.advance(minutes=30)  # past the grace, not the hour's backoff
    assert janitor.refunds().counts == {}
    nicepay_clock.advance(minutes=31)
    assert janitor.refunds().counts == {"sent_again_failed": 1}

    nicepay_clock.advance(days=2)  # three sends in all: left to the operator
    assert janitor.refunds().counts == {}
    row = auto_row(app, sandbox, imp_uid)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "HTTP 500" in (row.error or "")
    assert portone_status(sandbox, imp_uid) == "paid"
    story = Operator(app).page(f"/orders/{row.merchant_uid}").text
    assert f"#{row.id} 1,000 (auto, ×3)" in story and "HTTP 500" in story
    shown = app.test_cli_runner().invoke(args=["nicepay", "show", row.merchant_uid])
    assert f"#{row.id} 1000 failed (auto, ×3) " in shown.output

    # The operator's cancel pays the money back before it closes the order.
    nicepay_faults.clear()
    nicepay: NicePay = app.extensions["nicepay"].extension
    with app.app_context():
        result = nicepay.cancel(row.merchant_uid, reason="금액 불일치")
    assert portone_status(sandbox, imp_uid) == "cancelled"
    assert result.order is not None and result.order.state is OrderState.CANCELLED
    refunds = state(app).payments.orders.refunds_of(row.merchant_uid)
    assert sorted((r.source, r.status) for r in refunds) == [
        ("api", "succeeded"),
        ("auto", "failed"),
    ]


def test_a_payment_cancelled_meanwhile_is_not_cancelled_again(
    app: Flask,
    janitor: Janitor,
    sandbox: Sandbox,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
) -> None:
    imp_uid = refused_cancel(app, nicepay_faults)
    sandbox.console_cancel(imp_uid, reason="환불")  # by hand, in PortOne's console
    nicepay_clock.advance(minutes=11)

    assert janitor.refunds().counts == {"nothing_held": 1}

    assert sandbox.cancel_checksums(imp_uid) == [None]  # the console's, alone
    row = auto_row(app, sandbox, imp_uid)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "holds nothing more" in (row.error or "")
    nicepay_clock.advance(days=2)
    assert janitor.refunds().counts == {}


def test_a_balance_changed_after_the_lookup_is_refused_by_the_checksum(
    app: Flask,
    janitor: Janitor,
    sandbox: Sandbox,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
) -> None:
    """A console cancel between the janitor's lookup and its send: PortOne sees
    the checksum is no longer the balance and refuses, so nothing is paid twice;
    and since someone cancelled part of it by hand, the rest is theirs to do."""
    imp_uid = refused_cancel(app, nicepay_faults)
    nicepay_clock.advance(minutes=11)
    sandbox.before_next_request(
        lambda: sandbox.console_cancel(imp_uid, 400), path="/payments/cancel"
    )

    assert janitor.refunds().counts == {"sent_again_failed": 1}

    assert sandbox.cancel_checksums(imp_uid) == [None]
    assert t.cast(dict[str, t.Any], sandbox.payment(imp_uid))["cancel_amount"] == 400
    row = auto_row(app, sandbox, imp_uid)  # the ledger says what was sent
    assert (row.status, row.amount, row.checksum) == ("failed", 1_000, 1_000)
    nicepay_clock.advance(hours=2)
    assert janitor.refunds().counts == {"left_to_operator": 1}
    assert sandbox.cancel_checksums(imp_uid) == [None]
    row = auto_row(app, sandbox, imp_uid)
    assert (row.status, row.attempts) == ("failed", 3)
    assert "cancelled elsewhere" in (row.error or "")

    nicepay: NicePay = app.extensions["nicepay"].extension
    with app.app_context():
        nicepay.cancel(row.merchant_uid)  # the operator pays back the rest
    assert sandbox.cancel_checksums(imp_uid) == [None, Decimal(600)]
    assert portone_status(sandbox, imp_uid) == "cancelled"


def test_nothing_is_sent_again_once_the_store_holds_such_payments(
    app: Flask,
    janitor: Janitor,
    sandbox: Sandbox,
    nicepay_clock: testing.Clock,
    nicepay_faults: testing.Faults,
) -> None:
    """Switched to ``NICEPAY_ON_MISMATCH = "hold"`` after the refusal: the money
    waits for the operator, as every held payment does."""
    imp_uid = refused_cancel(app, nicepay_faults)
    reconciler = state(app).payments.reconciler
    reconciler.policy = dataclasses.replace(
        reconciler.policy, on_mismatch=OnMismatch.HOLD
    )
    nicepay_clock.advance(minutes=11)

    assert janitor.refunds().counts == {}
    assert auto_row(app, sandbox, imp_uid).status == "failed"
    assert portone_status(sandbox, imp_uid) == "paid"


def test_an_automatic_cancel_whose_process_died_is_sent_after_all(
    app: Flask,
    janitor: Janitor,
    sandbox: Sandbox,
    nicepay_clock: testing.Clock,
) -> None:
    uid = new_order(app, 50_000)
    imp_uid = tampered_payment(app, uid, 1_000)

    def killed() -> None:
        raise KeyboardInterrupt  # the process stops before PortOne hears of it

    sandbox.before_next_request(killed, path="/payments/cancel")
    with pytest.raises(KeyboardInterrupt):
        state(app).payments.reconciler.sync(imp_uid=imp_uid)
    assert auto_row(app, sandbox, imp_uid).status == "pending"
    nicepay_clock.advance(minutes=11)
    # PortOne shows no such cancel: the row fails, and waits its grace ...
    assert janitor.refunds().counts == {"claimed": 1, "held": 0, "failed": 1}
    nicepay_clock.advance(minutes=11)

    assert janitor.refunds().counts == {"sent_again_succeeded": 1}  # ... then goes

    assert portone_status(sandbox, imp_uid) == "cancelled"
    assert sandbox.cancel_checksums(imp_uid) == [Decimal(1_000)]


def test_a_deposit_that_must_not_pay_is_left_to_a_refund_by_hand(
    app: Flask,
    janitor: Janitor,
    sandbox: Sandbox,
    nicepay_clock: testing.Clock,
) -> None:
    """A deposit into a virtual account for an order already paid by card is an
    extra payment. PortOne refunds a deposit only to an account the buyer names,
    so no cancel is sent, now or by the janitor: the row says why, at once."""
    uid = new_order(app, 30_000)
    testing.pay(uid, pay_method="vbank", app=app)  # an account is issued
    card = testing.pay(uid, app=app)  # the buyer pays by card instead
    assert get_order(app, uid).imp_uid == card["imp_uid"]
    actions: list[str] = []

    def flagged(sender: Flask, **extra: t.Any) -> None:
        actions.append(extra["action"])

    with signals.payment_mismatch.connected_to(flagged, app):
        deposit = testing.deposit(uid, app=app)  # and deposits into it too

    assert actions == ["refund_by_hand"]
    assert sandbox.cancel_checksums(deposit["imp_uid"]) == []  # nothing sent
    assert portone_status(sandbox, deposit["imp_uid"]) == "paid"
    row = auto_row(app, sandbox, deposit["imp_uid"])
    assert (row.status, row.attempts) == ("failed", 1)
    assert "refunded only to an account the buyer names" in (row.error or "")
    order = get_order(app, uid)
    assert order.state is OrderState.PAID and order.paid_amount == 30_000

    nicepay_clock.advance(minutes=11)
    assert janitor.refunds().counts == {"refund_by_hand": 1}
    nicepay_clock.advance(days=2)
    assert janitor.refunds().counts == {}  # looked up once, then let be
    assert sandbox.cancel_checksums(deposit["imp_uid"]) == []
    assert auto_row(app, sandbox, deposit["imp_uid"]).attempts == 3
