"""Helpers for a store's own tests: play the buyer and the bank on the sandbox.

The store's test app runs on the embedded sandbox (no keys, or
``NICEPAY_SANDBOX = True``) with ``NICEPAY_SANDBOX_AUTO_DELIVER = False``, so each
test decides when PortOne's webhooks arrive::

    from flask_nicepay import testing

    def test_paid_order_ships(app, client):
        with app.app_context():
            order = nicepay.create_order(amount=19_000, name="티셔츠")
            testing.pay(order)                 # approve in the window + webhooks
            assert nicepay.get_order(order.merchant_uid).state == "paid"

With pytest, ``pytest_plugins = ["flask_nicepay.testing"]`` in ``conftest.py`` adds
the fixture ``nicepay_sandbox`` (the app's sandbox; needs an ``app`` fixture).
"""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import current_app

from .extension import NicePay
from .store import Order

if t.TYPE_CHECKING:
    from .sandbox import Sandbox
    from .sandbox import WebhookDelivery


def sandbox_of(app: Flask | None = None) -> Sandbox:
    """The app's embedded sandbox.

    :raises RuntimeError: the app is not in embedded-sandbox mode.
    """
    box = NicePay.state(app or current_app).sandbox
    if box is None:
        raise RuntimeError(
            "The app does not run on the embedded sandbox: leave the PortOne keys "
            "unset or set NICEPAY_SANDBOX = True in the test config."
        )
    return box


def pay(
    order: Order | str,
    *,
    outcome: str = "approve",
    pay_method: str = "card",
    deliver: bool = True,
    app: Flask | None = None,
    **window: t.Any,
) -> dict[str, t.Any]:
    """Play the buyer: pay ``order`` in the sandbox's window, as the page would.

    :param outcome: ``approve``, ``decline`` or ``close``.
    :param pay_method: ``card``, ``trans``, ``vbank``, ``phone`` or ``kakaopay``.
    :param deliver: deliver PortOne's webhooks right away.
    :param window: more ``Sandbox.checkout`` arguments (``card_number``,
        ``card_quota``, ``channel``, ...).
    :returns: the payment as PortOne's API reports it.
    """
    target = app or current_app
    found = _order(order, target)
    payment = sandbox_of(target).checkout(
        merchant_uid=found.merchant_uid,
        amount=found.amount,
        pay_method=pay_method,
        outcome=outcome,
        currency=found.currency,
        name=found.name,
        tax_free=found.tax_free,
        vat_amount=found.vat_amount,
        **window,
    )
    if deliver:
        deliver_webhooks(target)
    return payment


def deposit(
    order: Order | str,
    *,
    late: bool = False,
    deliver: bool = True,
    app: Flask | None = None,
) -> dict[str, t.Any]:
    """Play the bank: deposit into the order's virtual account.

    :param late: deposit even after the deadline.
    """
    target = app or current_app
    found = _order(order, target)
    payment = sandbox_of(target).deposit(merchant_uid=found.merchant_uid, force=late)
    if deliver:
        deliver_webhooks(target)
    return payment


def deliver_webhooks(app: Flask | None = None) -> list[WebhookDelivery]:
    """Deliver every webhook the sandbox has waiting into the app."""
    return sandbox_of(app).deliver_webhooks()


def _order(order: Order | str, app: Flask) -> Order:
    if isinstance(order, Order):
        return order
    found = NicePay.state(app).payments.orders.get(order)
    if found is None:
        raise LookupError(f"No order {order!r}.")
    return found


@pytest.fixture
def nicepay_sandbox(app: Flask) -> Sandbox:
    """The test app's embedded PortOne sandbox."""
    return sandbox_of(app)
