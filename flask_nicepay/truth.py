"""What PortOne's truth implies for an order: a pure function from snapshot to plan.

Given an order as stored and a payment as PortOne's API reports it, :func:`plan`
says which events to fire and which fields to set. It does no I/O and may be called
again on a fresher order after a lost race; a snapshot that was already applied
yields ``None``, unless it brings the receipt address the order lacks (an order
applied before receipts were kept gets it from its next look-up). Late truth is
accepted: a failed order can still be paid, an expired virtual account can still
receive its deposit, and a payment that was paid and cancelled before we ever saw
it is recorded as both.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from .machine import MONEY_STATES
from .machine import OrderState
from .portone import Payment
from .portone import PaymentStatus
from .receipts import kept_receipt_url
from .store import Order
from .store import Plan
from .verify import Verdict

S = OrderState
# Orders that may switch to following a newer attempt of the same merchant_uid,
# and the snapshots that make them switch.
_ADOPT_ANY = frozenset({S.READY, S.FAILED})
_ADOPT_PAID = frozenset({S.VBANK_ISSUED, S.EXPIRED, S.MISMATCH})


def snapshot_key(payment: Payment) -> str:
    """What makes two snapshots of a payment the same truth."""
    return (
        f"{payment.imp_uid}:{payment.status.value}:{payment.cancel_amount}"
        f":{len(payment.cancel_history)}"
    )


def was_paid(payment: Payment) -> bool:
    """The payment was approved at some point (it may be cancelled since)."""
    return payment.status is PaymentStatus.PAID or (
        payment.status is PaymentStatus.CANCELLED and payment.paid_at is not None
    )


def follows(order: Order, payment: Payment) -> bool:
    """Whether the order tracks this attempt, or should switch to it."""
    if order.imp_uid in (None, payment.imp_uid):
        return order.state is not S.CANCELLED or order.imp_uid is not None
    if order.state in _ADOPT_ANY:
        return payment.status is not PaymentStatus.READY or _is_vbank(payment)
    return order.state in _ADOPT_PAID and was_paid(payment)


def is_extra(order: Order, payment: Payment) -> bool:
    """A payment holding money that this order can never take.

    A second payment for an order already paid by another attempt, or money paid
    into an order that was closed: it must not be lost, and must not pay the order.
    """
    holds_money = was_paid(payment) and payment.balance > 0
    return holds_money and not follows(order, payment)


def plan(order: Order, payment: Payment, verdict: Verdict) -> Plan | None:
    """The plan that brings ``order`` in line with ``payment``, or ``None``.

    :param order: the order as just read inside the write transaction.
    :param payment: the snapshot fetched from PortOne's API.
    :param verdict: :func:`flask_nicepay.verify.verify` of the two.
    """
    key = snapshot_key(payment)
    receipt = kept_receipt_url(payment.receipt_url)
    if not follows(order, payment):
        return None
    if order.snapshot_key == key:
        return _receipt_only(order, payment, receipt)
    base = {"snapshot_key": key, "imp_uid": payment.imp_uid, "receipt_url": receipt}
    if payment.pay_method:
        base["pay_method"] = payment.pay_method
    if was_paid(payment):
        return _paid(order, payment, verdict, base)
    if payment.status is PaymentStatus.READY:
        return _ready(order, payment, base)
    if payment.status is PaymentStatus.FAILED:
        return _failed(order, payment, base)
    return _voided(order, payment, base)


def _receipt_only(order: Order, payment: Payment, receipt: str | None) -> Plan | None:
    """A snapshot applied already, whose receipt the order lacks: it was applied
    before receipts were kept (or PortOne changed the address since)."""
    if order.receipt_url == receipt:
        return None
    return Plan(updates={"receipt_url": receipt}, imp_uid=payment.imp_uid)


def _ready(order: Order, payment: Payment, base: dict[str, t.Any]) -> Plan:
    if not _is_vbank(payment):
        return Plan(updates=base, imp_uid=payment.imp_uid)
    updates = {
        **base,
        "vbank_code": payment.vbank_code,
        "vbank_name": payment.vbank_name,
        "vbank_num": payment.vbank_num,
        "vbank_holder": payment.vbank_holder,
        "vbank_due": payment.vbank_date,
    }
    events = ("issue_vbank",) if order.state in _ADOPT_ANY else ()
    if order.state not in _ADOPT_ANY | {S.VBANK_ISSUED}:
        updates = base
    return Plan(events=events, updates=updates, imp_uid=payment.imp_uid)


def _failed(order: Order, payment: Payment, base: dict[str, t.Any]) -> Plan:
    if order.state not in (S.READY, S.VBANK_ISSUED):
        return Plan(updates=base, imp_uid=payment.imp_uid)
    updates = {
        **base,
        "fail_reason": payment.fail_reason,
        "failed_at": payment.failed_at,
    }
    return Plan(events=("fail",), updates=updates, imp_uid=payment.imp_uid)


def _voided(order: Order, payment: Payment, base: dict[str, t.Any]) -> Plan:
    """Cancelled without ever being paid: a voided virtual account, for instance."""
    if order.state in MONEY_STATES or order.state is S.CANCELLED:
        return Plan(updates=base, imp_uid=payment.imp_uid)
    updates = {
        **base,
        "cancelled_at": payment.cancelled_at,
        "cancel_reason": payment.cancel_reason,
    }
    data = {"void": {"amount": payment.cancel_amount, "partial": False}}
    return Plan(events=("void",), updates=updates, imp_uid=payment.imp_uid, data=data)


def _paid(
    order: Order, payment: Payment, verdict: Verdict, base: dict[str, t.Any]
) -> Plan:
    if not verdict.ok:
        return _mismatch(order, payment, verdict, base)
    events: list[str] = []
    updates = dict(base)
    data: dict[str, dict[str, t.Any]] = {}
    state = order.state
    if state in (S.READY, S.VBANK_ISSUED, S.FAILED, S.MISMATCH, S.EXPIRED):
        late = state is S.EXPIRED
        events.append("pay_late" if late else "pay")
        updates |= {"paid_amount": payment.amount, "paid_at": payment.paid_at}
        if late:
            updates["late_payment"] = True
        data[events[-1]] = {"amount": payment.amount, "late": late}
        state = S.PAID
    if state in MONEY_STATES and payment.cancel_amount > order.cancelled_amount:
        event = "cancel" if payment.balance == 0 else "cancel_partially"
        events.append(event)
        updates |= {
            "cancelled_amount": payment.cancel_amount,
            "cancelled_at": payment.cancelled_at,
            "cancel_reason": payment.cancel_reason,
        }
        refunded = payment.cancel_amount - order.cancelled_amount
        data[event] = {"amount": refunded, "partial": payment.balance > 0}
    return Plan(
        events=tuple(events), updates=updates, imp_uid=payment.imp_uid, data=data
    )


def _mismatch(
    order: Order, payment: Payment, verdict: Verdict, base: dict[str, t.Any]
) -> Plan:
    if order.state not in (S.READY, S.VBANK_ISSUED, S.FAILED, S.EXPIRED):
        return Plan(updates=base, imp_uid=payment.imp_uid)
    updates = {**base, "mismatch_reason": str(verdict)}
    data = {"flag_mismatch": {"reasons": verdict.reasons, "amount": payment.amount}}
    return Plan(
        events=("flag_mismatch",),
        updates=updates,
        imp_uid=payment.imp_uid,
        detail=str(verdict),
        data=data,
    )


def _is_vbank(payment: Payment) -> bool:
    return payment.pay_method == "vbank" and payment.vbank_num is not None


def vbank_overdue(order: Order, now: dt.datetime) -> bool:
    """A virtual account whose deadline has passed."""
    return (
        order.state is S.VBANK_ISSUED
        and order.vbank_due is not None
        and order.vbank_due <= now
    )
