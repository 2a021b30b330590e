"""Verification: does a payment PortOne reports match what the store asked for?

Checked before an order can become paid: the amount, the currency, the PG provider
and the ``merchant_uid``; that it is the store's own live money (the MID, ``pg_id``,
a live one of the channel the order is paid through: :mod:`flask_nicepay.channels`);
that a window payment was made as its checkout offered (method, installments,
escrow: :mod:`flask_nicepay.offers`); that a billing-key charge came from the key
charged. Any difference means the order is never marked paid; what happens to the
money then is :attr:`Policy.on_mismatch`'s call.
"""

from __future__ import annotations

import dataclasses
import enum
import typing as t

from .channels import WINDOW_ORIGINS
from .channels import Channels
from .offers import Offer
from .portone import Payment

if t.TYPE_CHECKING:
    from .store import Order


class OnMismatch(enum.StrEnum):
    """What to do with a payment that failed verification."""

    #: Cancel it in full at PortOne (with ``checksum``), record why, send a signal.
    CANCEL = "cancel"
    #: Keep the money, flag the order for an operator, send a signal.
    HOLD = "hold"


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """The verification rules.

    :param pg_providers: PG providers a payment may come through.
    :param on_mismatch: cancel the payment (default) or hold it for review.
    :param channels: the store's live PG settings by purpose; a payment through
        a MID that is not a live one of its order's purpose is a mismatch. None
        checks no MID.
    """

    pg_providers: frozenset[str] = frozenset({"nice"})
    on_mismatch: OnMismatch = OnMismatch.CANCEL
    channels: Channels | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """The result of :func:`verify`: ``ok``, or the reasons it is not."""

    reasons: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reasons

    def __str__(self) -> str:
        return "verified" if self.ok else "; ".join(self.reasons)


def verify(order: Order, payment: Payment, policy: Policy) -> Verdict:
    """Compare a payment with the order it claims to pay.

    :param order: what the store asked for.
    :param payment: what PortOne's API says was paid.
    :param policy: which PG providers and MIDs are acceptable.
    """
    reasons = []
    if payment.merchant_uid != order.merchant_uid:
        reasons.append(
            f"merchant_uid is {payment.merchant_uid!r}, expected {order.merchant_uid!r}"
        )
    if payment.amount != order.amount:
        reasons.append(f"amount is {payment.amount}, expected {order.amount}")
    if payment.currency != order.currency:
        reasons.append(f"currency is {payment.currency}, expected {order.currency}")
    if payment.pg_provider not in policy.pg_providers:
        allowed = ", ".join(sorted(policy.pg_providers))
        reasons.append(f"pg_provider is {payment.pg_provider!r}, expected {allowed}")
    if policy.channels is not None:
        reasons.extend(_whose_money(order, payment, policy.channels))
    reasons.extend(_as_asked(order, payment))
    return Verdict(tuple(reasons))


def _whose_money(order: Order, payment: Payment, channels: Channels) -> list[str]:
    """Whether the payment went through a live MID of the channel it used."""
    channel = channels.through(payment.channel, order.currency)
    if not channel.mids or payment.pg_id in channel.mids:
        return []
    live = ", ".join(sorted(channel.mids))
    return [
        f"pg_id is {payment.pg_id!r}, not a live MID of the {channel.purpose} "
        f"channel ({live})"
    ]


def _as_asked(order: Order, payment: Payment) -> list[str]:
    """Whether the payment was made the way the order asked to be paid.

    A window payment is held to what the order's checkout links offered, since
    the buyer can change every parameter the browser sends; an order made for
    the API is never paid in a window. An API payment (``channel`` ``api``) can
    only be made with the store's REST secret, by the store's server, with the
    parameters it chose (a key-in of a checkout order included), so only what
    PortOne could still get wrong is checked: a card, not escrowed, from the key
    the order charged.
    """
    reasons = []
    if payment.sandbox:  # PortOne's own word that no money moved
        reasons.append("paid through a test-mode channel (sandbox is true)")
    if payment.channel != "api":
        if order.origin not in WINDOW_ORIGINS:
            reasons.append(
                f"paid in the payment window ({payment.channel}), but the order is "
                f"paid through the API ({order.origin})"
            )
            return reasons
        method = payment.pay_method
        if method == "point" and payment.emb_pg_provider:  # an easy-pay brand
            method = payment.emb_pg_provider
        offer = Offer.loads(order.terms, order.currency)
        return reasons + offer.refusals(method, payment.card_quota, payment.escrow)
    if order.origin == "adopted":  # made from this very payment
        return reasons
    reasons += _API_OFFER.refusals(
        payment.pay_method, payment.card_quota, payment.escrow
    )
    if order.customer_uid is not None and payment.customer_uid != order.customer_uid:
        reasons.append(
            f"customer_uid is {payment.customer_uid!r}, expected {order.customer_uid!r}"
        )
    return reasons


#: What the store's server pays through the API: a card, no escrow, installments
#: as it chose them.
_API_OFFER = Offer(frozenset({"card"}), None, frozenset({False}))
