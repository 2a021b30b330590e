"""An extra payment its automatic cancel did not pay back, paid back by an operator.

The order is paid by another payment, so refund() and cancel() act on that one:
refund_extra() (``flask nicepay cancel ORDER --payment IMP_UID``) takes the extra
payment's own ledger row, PortOne's balance as checksum, and for a deposit into a
virtual account the buyer's account.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

import pytest
from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import RefundError
from flask_nicepay import testing
from flask_nicepay.ledger import RefundInProgressError
from flask_nicepay.ledger_auto import reopen_automatic
from flask_nicepay.portone import PortOneError
from flask_nicepay.portone import RefundAccount
from flask_nicepay.portone import ServerError
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.store import UnknownOrderError

from .conftest import AppFactory
from .consoleshop import Operator
from .consoleshop import actions
from .consoleshop import console_app
from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import state

pytestmark = on_both_databases

ACCOUNT = RefundAccount("홍길동", "088", "110123456789")


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


def nicepay_of(app: Flask) -> NicePay:
    return t.cast(NicePay, app.extensions["nicepay"].extension)


def auto_row(app: Flask, uid: str) -> t.Any:
    [row] = [
        r for r in state(app).payments.orders.refunds_of(uid) if r.source == "auto"
    ]
    return row


def status_at_portone(sandbox: Sandbox, imp_uid: str) -> str:
    return str(t.cast(dict[str, t.Any], sandbox.payment(imp_uid))["status"])


def card_then_deposit(app: Flask) -> tuple[str, str, str]:
    """An order paid by card whose buyer deposits into its account as well."""
    uid = new_order(app, 30_000)
    testing.pay(uid, pay_method="vbank", app=app)
    card = testing.pay(uid, app=app)
    deposit = testing.deposit(uid, app=app)
    assert auto_row(app, uid).status == "failed"  # left to a refund by hand
    return uid, str(card["imp_uid"]), str(deposit["imp_uid"])


def test_a_deposit_is_paid_back_to_the_account_the_buyer_names(
    app: Flask, sandbox: Sandbox
) -> None:
    uid, card, deposit = card_then_deposit(app)
    nicepay = nicepay_of(app)
    with app.app_context(), pytest.raises(RefundError, match="bank account"):
        nicepay.refund_extra(uid, deposit)
    assert sandbox.cancel_checksums(deposit) == []  # nothing sent without one

    with app.app_context():
        result = nicepay.refund_extra(uid, deposit, refund_account=ACCOUNT)

    assert result.amount == Decimal(30_000)
    assert sandbox.cancel_checksums(deposit) == [Decimal(30_000)]
    assert status_at_portone(sandbox, deposit) == "cancelled"
    assert status_at_portone(sandbox, card) == "paid"
    row = auto_row(app, uid)
    assert (row.status, row.attempts, row.amount) == ("succeeded", 2, 30_000)
    order = get_order(app, uid)
    assert (order.state, order.imp_uid) == (OrderState.PAID, card)
    assert order.paid_amount == 30_000 and order.balance == 30_000
    with app.app_context(), pytest.raises(RefundError, match="succeeded already"):
        nicepay.refund_extra(uid, deposit, refund_account=ACCOUNT)
    assert sandbox.cancel_checksums(deposit) == [Decimal(30_000)]


def test_the_order_s_own_payment_and_unknown_ones_are_refused(
    app: Flask, sandbox: Sandbox
) -> None:
    uid, card, deposit = card_then_deposit(app)
    nicepay = nicepay_of(app)
    with app.app_context():
        with pytest.raises(RefundError, match="no extra payment"):
            nicepay.refund_extra(uid, card)
        with pytest.raises(RefundError, match="no extra payment"):
            nicepay.refund_extra(uid, "imp_000000000000")
        with pytest.raises(UnknownOrderError):
            nicepay.refund_extra("no-such-order", deposit, refund_account=ACCOUNT)
    assert sandbox.cancel_checksums(card) == sandbox.cancel_checksums(deposit) == []


def test_a_refused_send_is_recorded_and_may_be_sent_again(
    app: Flask, sandbox: Sandbox, nicepay_faults: testing.Faults
) -> None:
    uid, _, deposit = card_then_deposit(app)
    nicepay = nicepay_of(app)
    nicepay_faults.api("500", path="/payments/cancel", times=1)
    with app.app_context(), pytest.raises(ServerError):
        nicepay.refund_extra(uid, deposit, refund_account=ACCOUNT)
    row = auto_row(app, uid)
    assert (row.status, row.attempts) == ("failed", 2) and "500" in (row.error or "")
    assert status_at_portone(sandbox, deposit) == "paid"

    with app.app_context():
        nicepay.refund_extra(uid, deposit, refund_account=ACCOUNT)
    assert auto_row(app, uid).status == "succeeded"
    assert status_at_portone(sandbox, deposit) == "cancelled"


def test_a_cancel_in_flight_is_not_sent_twice(app: Flask, sandbox: Sandbox) -> None:
    """The janitor (or a second operator) takes the row while this call looks the
    payment up: the compare-and-swap stops this one, and one cancel goes out."""
    uid, _, deposit = card_then_deposit(app)
    engine = state(app).payments.store.engine
    row = auto_row(app, uid)
    taken: list[bool] = []

    def janitor_first() -> None:
        now = dt.datetime.now(dt.UTC)
        taken.append(reopen_automatic(engine, row.id, amount=row.amount, now=now))

    sandbox.before_next_request(janitor_first, path=f"/payments/{deposit}")
    with app.app_context(), pytest.raises(RefundInProgressError):
        nicepay_of(app).refund_extra(uid, deposit, refund_account=ACCOUNT)
    assert taken == [True]
    assert sandbox.cancel_checksums(deposit) == []
    with app.app_context(), pytest.raises(RefundInProgressError, match="in flight"):
        nicepay_of(app).refund_extra(uid, deposit, refund_account=ACCOUNT)


def test_a_balance_changed_after_the_lookup_is_refused_by_the_checksum(
    app: Flask, sandbox: Sandbox
) -> None:
    """A console cancel between the lookup and the send: PortOne refuses the
    checksum, so nothing is paid back twice; the row says it failed."""
    uid, _, deposit = card_then_deposit(app)
    sandbox.before_next_request(
        lambda: sandbox.console_cancel(deposit, 10_000), path="/payments/cancel"
    )
    with app.app_context(), pytest.raises(PortOneError):
        nicepay_of(app).refund_extra(uid, deposit, refund_account=ACCOUNT)
    payment = t.cast(dict[str, t.Any], sandbox.payment(deposit))
    assert payment["cancel_amount"] == 10_000  # the console's part alone
    assert sandbox.cancel_checksums(deposit) == [None]  # the refused one not kept
    assert auto_row(app, uid).status == "failed"

    with app.app_context():  # asked again, it pays back what is left
        result = nicepay_of(app).refund_extra(uid, deposit, refund_account=ACCOUNT)
    assert result.amount == Decimal(20_000)
    assert status_at_portone(sandbox, deposit) == "cancelled"


def late_card_payment(app: Flask) -> tuple[str, str]:
    """A card payment that arrives for an order the store closed meanwhile."""
    uid = new_order(app, 20_000)
    with app.app_context():
        nicepay_of(app).cancel(uid, reason="품절")
    assert get_order(app, uid).state is OrderState.CANCELLED
    late = testing.pay(uid, app=app)
    return uid, str(late["imp_uid"])


def test_an_automatic_cancel_of_an_extra_payment_settles_its_row(
    app: Flask, sandbox: Sandbox
) -> None:
    """The payment is not the order's, so nothing of the order changes: its
    cancel_history is still what settles the row."""
    uid, late = late_card_payment(app)
    assert status_at_portone(sandbox, late) == "cancelled"
    assert sandbox.cancel_checksums(late) == [Decimal(20_000)]
    row = auto_row(app, uid)
    assert (row.status, row.attempts, row.amount) == ("succeeded", 1, 20_000)
    assert get_order(app, uid).state is OrderState.CANCELLED


def test_a_payment_the_policy_held_is_paid_back(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_ON_MISMATCH": "hold"})
    sandbox = testing.sandbox_of(app)
    uid, late = late_card_payment(app)
    assert auto_row(app, uid).status == "held"
    assert status_at_portone(sandbox, late) == "paid"

    with app.app_context():
        nicepay_of(app).refund_extra(uid, late, reason="주문 취소 후 결제")

    assert sandbox.cancel_checksums(late) == [Decimal(20_000)]
    assert status_at_portone(sandbox, late) == "cancelled"
    row = auto_row(app, uid)
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert get_order(app, uid).state is OrderState.CANCELLED


def test_the_cli_pays_back_an_extra_payment(app: Flask, sandbox: Sandbox) -> None:
    uid, _, deposit = card_then_deposit(app)
    runner = app.test_cli_runner()
    both = runner.invoke(
        args=["nicepay", "cancel", uid, "--payment", deposit, "--amount", "100"]
    )
    assert both.exit_code == 2 and "leave out --amount" in both.output
    bare = runner.invoke(args=["nicepay", "cancel", uid, "--payment", deposit])
    assert bare.exit_code == 1 and "bank account" in bare.output
    account = ["--refund-holder", "홍길동", "--refund-bank", "088"]
    done = runner.invoke(
        args=[
            "nicepay",
            "cancel",
            uid,
            "--payment",
            deposit,
            *account,
            "--refund-account",
            "110123456789",
        ]
    )
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"{uid}: paid"
    assert status_at_portone(sandbox, deposit) == "cancelled"
    shown = runner.invoke(args=["nicepay", "show", uid]).output
    assert "succeeded (auto, ×2)" in shown and "110123456789" not in shown


def test_the_console_pays_back_an_extra_payment(make_app: AppFactory) -> None:
    app = console_app(make_app)
    sandbox = testing.sandbox_of(app)
    uid, card, deposit = card_then_deposit(app)
    operator = Operator(app)
    story = operator.page(f"/orders/{uid}")
    assert f'data-testid="extra-{deposit}"' in story.source
    assert f'data-testid="extra-{card}"' not in story.source  # the order's own

    bare = operator.post(f"/orders/{uid}/extra", {"imp_uid": deposit})
    assert bare.status_code == 409 and "bank account" in bare.get_data(as_text=True)
    half = operator.post(
        f"/orders/{uid}/extra", {"imp_uid": deposit, "refund_holder": "홍길동"}
    )
    assert half.status_code == 400
    done = operator.post(
        f"/orders/{uid}/extra",
        {
            "imp_uid": deposit,
            "refund_holder": "홍길동",
            "refund_bank": "088",
            "refund_account": "110123456789",
        },
    )
    assert done.status_code == 303, done.get_data(as_text=True)
    assert status_at_portone(sandbox, deposit) == "cancelled"
    assert status_at_portone(sandbox, card) == "paid"
    story = operator.page(f"/orders/{uid}")
    assert f'data-testid="extra-{deposit}"' not in story.source  # nothing left to do
    assert "110123456789" not in story.source
    logged = [a for a in actions(app) if a["action"] == "refund_extra"]
    assert [a["outcome"] for a in logged] == ["refused", "succeeded"]
    assert all("110123456789" not in str(a) for a in logged)


def fixed_mode_deposit(app: Flask) -> tuple[Sandbox, str, str]:
    """A card-paid order with stated parts on a fixed-amount MID, and a deposit
    into its virtual account on top: its sandbox, merchant_uid and the deposit."""
    sandbox = t.cast(Sandbox, state(app).sandbox)
    sandbox.set_tax_mode("fixed")
    uid = new_order(app, 33_000, tax_free=3_000, vat_amount=2_727)
    testing.pay(uid, pay_method="vbank", app=app)
    testing.pay(uid, app=app)
    return sandbox, uid, str(testing.deposit(uid, app=app)["imp_uid"])


def test_the_cli_pays_back_an_extra_payment_with_its_tax_parts(
    make_app: AppFactory,
) -> None:
    app = make_app({"NICEPAY_TAX_MODE": "fixed"})
    sandbox, uid, deposit = fixed_mode_deposit(app)
    runner = app.test_cli_runner()
    command = ["nicepay", "cancel", uid, "--payment", deposit]
    account = ["--refund-holder", "홍길동", "--refund-bank", "088"]
    account += ["--refund-account", "110123456789"]
    half = runner.invoke(args=[*command, *account, "--tax-free", "3000"])
    assert half.exit_code == 1 and "both parts" in half.output
    over = ["--tax-free", "3000", "--vat-amount", "30001"]
    refused = runner.invoke(args=[*command, *account, *over])
    assert refused.exit_code == 1 and "taxable part" in refused.output
    assert sandbox.cancel_tax_parts(deposit) == []
    parts = ["--tax-free", "3000", "--vat-amount", "2727"]
    done = runner.invoke(args=[*command, *account, *parts])
    assert done.exit_code == 0, done.output
    assert sandbox.cancel_tax_parts(deposit) == [(3_000, 2_727)]


def test_the_console_pays_back_an_extra_payment_with_its_tax_parts(
    make_app: AppFactory,
) -> None:
    app = console_app(make_app, NICEPAY_TAX_MODE="fixed")
    sandbox, uid, deposit = fixed_mode_deposit(app)
    operator = Operator(app)
    form = {
        "imp_uid": deposit,
        "refund_holder": "홍길동",
        "refund_bank": "088",
        "refund_account": "110123456789",
    }
    assert 'data-testid="extra-tax-free"' in operator.page(f"/orders/{uid}").source
    half = operator.post(f"/orders/{uid}/extra", {**form, "tax_free": "3000"})
    assert half.status_code == 409 and "both parts" in half.get_data(as_text=True)
    assert sandbox.cancel_tax_parts(deposit) == []

    parts = {"tax_free": "3000", "vat_amount": "2727"}
    done = operator.post(f"/orders/{uid}/extra", {**form, **parts})

    assert done.status_code == 303, done.get_data(as_text=True)
    assert sandbox.cancel_tax_parts(deposit) == [(3_000, 2_727)]
    [logged] = [
        a
        for a in actions(app)
        if a["action"] == "refund_extra" and a["outcome"] == "succeeded"
    ]
    assert "2727" in str(logged)
