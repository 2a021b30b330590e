"""flask_nicepay.testing where the rest of the suite does not reach: its refusals.

The other web tests pay, deposit and deliver through these helpers; here are the
cases a store meets when its test is set up wrong, and the decline of the docs.
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from flask_nicepay import OrderState
from flask_nicepay import testing
from flask_nicepay.checkout import KST
from flask_nicepay.sandbox import SandboxError

from .webshop import LiveFactory
from .webshop import get_order
from .webshop import new_order


def test_sandbox_of_a_live_app_says_how_to_test(make_live_app: LiveFactory) -> None:
    app = make_live_app()
    with pytest.raises(RuntimeError, match="NICEPAY_SANDBOX = True"):
        testing.sandbox_of(app)


def test_paying_an_unknown_order_names_it(app: Flask) -> None:
    with pytest.raises(LookupError, match="np-nobody"):
        testing.pay("np-nobody", app=app)


def test_a_declined_card_sends_no_webhook_and_leaves_the_order_ready(
    app: Flask,
) -> None:
    uid = new_order(app)
    with app.app_context():
        payment = testing.pay(uid, card_number="4000-0000-0000-9995")
        assert testing.deliver_webhooks() == []
    assert payment["status"] == "failed"
    assert get_order(app, uid).state is OrderState.READY


def test_the_helpers_take_the_order_itself_in_the_app_context(app: Flask) -> None:
    with app.app_context():
        order = get_order(app, new_order(app))
        testing.pay(order, pay_method="vbank")
        assert get_order(app, order.merchant_uid).state is OrderState.VBANK_ISSUED
        testing.deposit(order)
    assert get_order(app, order.merchant_uid).state is OrderState.PAID


def test_a_deposit_after_the_deadline_needs_late(app: Flask) -> None:
    uid = new_order(app)
    due = dt.datetime.now(KST) + dt.timedelta(days=1)
    testing.pay(uid, pay_method="vbank", vbank_due=due.strftime("%Y%m%d%H%M"), app=app)
    testing.sandbox_of(app).advance_clock(2 * 86400)  # the deadline passes
    with pytest.raises(SandboxError, match="입금"):
        testing.deposit(uid, app=app)
    assert get_order(app, uid).state is OrderState.VBANK_ISSUED
    testing.deposit(uid, late=True, app=app)
    assert get_order(app, uid).state is OrderState.PAID
