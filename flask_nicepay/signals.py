"""Signals sent when an order changes, for store code to hang side effects on.

Each signal is sent once per real transition, after the transaction that wrote it
has committed, by the process that won the write: however many times PortOne's
webhook, the browser's return and a reconcile deliver the same truth, a receiver
that sends an e-mail or moves stock runs once.

The sender is the Flask application. Every signal of an order passes ``order`` (the
:class:`~flask_nicepay.store.Order` after the change) and ``transition`` (the
:class:`~flask_nicepay.store.Transition`); the billing-key signals pass ``key``.
Receivers should accept ``**extra``.

.. code-block:: python

    from flask_nicepay.signals import payment_paid

    @payment_paid.connect_via(app)
    def ship(sender, order, **extra):
        fulfil(order.merchant_uid)
"""

from __future__ import annotations

import logging
import typing as t

from blinker import Namespace

logger = logging.getLogger("flask_nicepay")

_signals = Namespace()

#: The payment was verified and the order is paid. Also passes ``amount`` and
#: ``late`` (``True`` when a virtual account was paid after its deadline).
payment_paid = _signals.signal("payment-paid")

#: A virtual account was issued; its bank, number, holder and deadline are on the
#: order (``vbank_name``, ``vbank_num``, ``vbank_holder``, ``vbank_due``).
vbank_issued = _signals.signal("vbank-issued")

#: The payment attempt failed; ``order.fail_reason`` says why.
payment_failed = _signals.signal("payment-failed")

#: Money went back to the buyer, or an unpaid order was closed. Also passes
#: ``amount`` (refunded by this change) and ``partial``.
payment_cancelled = _signals.signal("payment-cancelled")

#: A payment failed verification and the order was not marked paid. Also passes
#: ``reasons``, ``imp_uid`` and ``action`` (``"cancel"``, ``"hold"``, or
#: ``"refund_by_hand"`` for a deposit into a virtual account, which PortOne refunds
#: only to an account the buyer names).
payment_mismatch = _signals.signal("payment-mismatch")

#: A virtual account's deadline passed with no deposit.
vbank_expired = _signals.signal("vbank-expired")

#: A billing key was issued (or replaced) at PortOne for a customer. Passes ``key``
#: (the :class:`~flask_nicepay.billing.BillingKey`, masked card data only); no
#: ``order``.
billing_key_issued = _signals.signal("billing-key-issued")

#: A billing key that was in use was deleted. Passes ``key``; no ``order``.
billing_key_deleted = _signals.signal("billing-key-deleted")

# Subscriptions: each passes ``subscription`` (the
# :class:`~flask_nicepay.subscription_table.Subscription` after the change).

#: A subscription began: its trial started, or its first period was paid.
subscription_started = _signals.signal("subscription-started")

#: A period was paid, the first one included. Also passes ``order`` (the charge)
#: and ``period`` (its number, from 1).
subscription_renewed = _signals.signal("subscription-renewed")

#: A charge was declined. Also passes ``order`` and ``retry_at`` (when the next
#: try is scheduled, or ``None`` when none is).
subscription_payment_failed = _signals.signal("subscription-payment-failed")

#: Every retry of a period was declined; nothing more is charged until it is
#: resumed.
subscription_past_due = _signals.signal("subscription-past-due")

#: The subscription ended: cancelled at once, or at the end of the period it was
#: cancelled in. Nothing more is charged.
subscription_cancelled = _signals.signal("subscription-cancelled")

#: Which signal each state-machine event sends.
BY_EVENT = {
    "pay": payment_paid,
    "pay_late": payment_paid,
    "issue_vbank": vbank_issued,
    "fail": payment_failed,
    "cancel": payment_cancelled,
    "cancel_partially": payment_cancelled,
    "void": payment_cancelled,
    "flag_mismatch": payment_mismatch,
    "expire": vbank_expired,
}


def send(
    sender: t.Any, event: str, order: t.Any, transition: t.Any, **data: t.Any
) -> None:
    """Send the signal of a state-machine ``event`` to every receiver of ``sender``."""
    emit(
        BY_EVENT[event],
        sender,
        f"order {order.merchant_uid}",
        order=order,
        transition=transition,
        **data,
    )


def emit(signal: t.Any, sender: t.Any, about: str, **data: t.Any) -> None:
    """Send ``signal`` to every receiver of ``sender``, each on its own.

    What it reports is committed and a receiver cannot undo it: a receiver that
    raises is logged (``about`` says what for) and the others still run.
    """
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, **data)
        except Exception:
            logger.exception("A receiver of %s failed for %s", signal.name, about)
