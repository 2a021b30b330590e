"""Verification: does a payment PortOne reports match what the store asked for?

Checked before an order can become paid: the amount, the currency, the PG provider
and the ``merchant_uid``. Any difference means the order is never marked paid; what
happens to the money then is :attr:`Policy.on_mismatch`'s call.
"""

from __future__ import annotations

import dataclasses
import enum
import typing as t

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
    """

    pg_providers: frozenset[str] = frozenset({"nice"})
    on_mismatch: OnMismatch = OnMismatch.CANCEL


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
    :param policy: which PG providers are acceptable.
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
    return Verdict(tuple(reasons))
