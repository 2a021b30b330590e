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

This module does not need pytest. Under pytest, the plugin
:mod:`pytest_flask_nicepay` (installed with the package) hands the same
helpers to tests as fixtures: ``nicepay_sandbox``, ``nicepay_buyer``,
``nicepay_race``, ``nicepay_faults`` and ``nicepay_clock``.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from flask import Flask
from flask import current_app

from .buyer import Buyer
from .extension import NicePay
from .races import EVERY_DOOR
from .races import RaceResult
from .races import race
from .store import Order

__all__ = [
    "EVERY_DOOR",
    "Buyer",
    "Clock",
    "Faults",
    "RaceResult",
    "deliver_webhooks",
    "deposit",
    "pay",
    "race",
    "sandbox_of",
]

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


class Clock:
    """The sandbox's clock, which the plugin's own follows in embedded-sandbox mode.

    Moving it lets deadlines pass: :meth:`~flask_nicepay.NicePay.expire_vbanks`
    then finds the overdue virtual accounts, subscriptions fall due, PortOne's
    schedules run.

    :param app: the store's app.
    """

    #: How far the plugin's clock may stand from the sandbox's and still follow it.
    TOLERANCE = dt.timedelta(minutes=1)

    def __init__(self, app: Flask) -> None:
        self.app = app

    def now(self) -> dt.datetime:
        """The sandbox's time, an aware datetime in UTC."""
        return sandbox_of(self.app).moment()

    def advance(
        self,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> list[dict[str, t.Any]]:
        """Move time forward, and run PortOne's schedules that fell due.

        :returns: the schedules executed, as PortOne's API reports them.
        :raises ValueError: a step back; time only moves forward.
        :raises RuntimeError: the app's plugin keeps a clock of its own
            (``NicePay(clock=...)``), which the sandbox cannot move.
        """
        step = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < dt.timedelta(0):
            raise ValueError("The clock only moves forward.")
        ran = sandbox_of(self.app).advance_clock(step.total_seconds())
        self._check_followed()
        return ran

    def _check_followed(self) -> None:
        plugin = NicePay.state(self.app).payments.clock()
        if abs(plugin - self.now()) > self.TOLERANCE:
            raise RuntimeError(
                "The app's NicePay was given a clock of its own (NicePay(clock=...)), "
                "so moving the sandbox's clock does not move it: leave clock unset "
                "in tests, or move that clock too."
            )


class Faults:
    """A bad day at PortOne: failing API requests, lost or doubled webhooks.

    :param app: the store's app.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app

    def api(
        self,
        kind: str,
        *,
        path: str = "*",
        method: str = "*",
        times: int = 1,
        delay: float | None = None,
    ) -> None:
        """Make the next matching requests to PortOne's API fail.

        :param kind: ``500``, ``503``, ``slow``, ``timeout``, ``disconnect`` or
            ``connect_error``.
        :param path: glob on the request path, such as ``/payments/*``.
        :param method: HTTP method or ``*``.
        :param times: how many requests it hits.
        :param delay: seconds for ``slow`` (required) and ``timeout`` (60).
        """
        sandbox_of(self.app).inject_fault(
            kind, path=path, method=method, times=times, delay=delay
        )

    def webhooks(
        self, kind: str, *, times: int = 1, delay: float | None = None, copies: int = 2
    ) -> None:
        """Disturb the next webhooks.

        :param kind: ``drop``, ``duplicate``, ``delay`` or ``reorder``.
        :param times: deliveries affected (``reorder``: held, then released
            newest first).
        :param delay: sandbox seconds a ``delay`` holds each one (default 60).
        :param copies: deliveries a ``duplicate`` makes.
        """
        sandbox_of(self.app).inject_webhook_fault(
            kind, times=times, delay=delay, copies=copies
        )

    def active(self) -> dict[str, list[dict[str, t.Any]]]:
        """The API and webhook faults still waiting to hit."""
        return sandbox_of(self.app).active_faults()

    def clear(self) -> None:
        """Remove every fault; held ``reorder`` webhooks are released."""
        sandbox_of(self.app).clear_faults()
