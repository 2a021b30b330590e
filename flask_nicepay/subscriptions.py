"""Subscriptions: a plan charged to a billing key, period after period.

Every charge is an order of the usual lifecycle (origin ``again`` for a charge made
now, ``schedule`` for one PortOne runs later), verified and recorded like any
other, and the subscription follows its orders
(:mod:`~flask_nicepay.subscription_charging`):

* **Start**: the first period is charged now (``incomplete`` until it is paid) or,
  with a trial, scheduled for the trial's end (``trialing``).
* **Renewals**: each paid period schedules the next with PortOne's schedule API,
  at the boundary :mod:`~flask_nicepay.subscription_plan` computes, exactly once
  however many times the result arrives.
* **Declines**: a declined renewal is tried again after each delay of
  :data:`~flask_nicepay.subscription_charging.RETRY_AFTER` (``retrying``); when
  the last try is declined too the subscription is ``past_due`` and nothing more
  is charged until it is resumed.
* **Change of plan**: a new price is charged from the first period that has not
  begun; the period under way, and the retries of its charge, keep the price it
  began with.
* **Change of card, cancel, resume**: see :class:`Subscriptions`.

What a crash or a lost answer leaves half done is finished by
:meth:`~flask_nicepay.subscription_janitor.DueWork.run_due`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
import typing as t

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from . import signals
from . import subscription_table as table
from .db import write_transaction
from .inbound import check_id
from .machine import OrderState
from .store import Order
from .subscription_charging import RETRY_AFTER as RETRY_AFTER
from .subscription_janitor import DueWork
from .subscription_machine import SubscriptionState
from .subscription_machine import fire
from .subscription_plan import Plan
from .subscription_plan import describe
from .subscription_table import NoBillingKeyError
from .subscription_table import PlanChangeError
from .subscription_table import Subscription
from .subscription_table import SubscriptionStateError
from .subscription_table import SubscriptionUidInUseError

S = SubscriptionState


class Subscriptions(DueWork):
    """Subscriptions of billing keys to plans.

    :param parts: the PortOne client, the order store and the clock.
    :param billing: charges, schedules and unschedules the orders.
    :param sender: the sender of the subscription signals (the Flask application).
    :param retry_after: the delays before each retry of a declined renewal.
    """

    # -- reading ---------------------------------------------------------------

    def find(
        self,
        *,
        status: str | None = None,
        customer_uid: str | None = None,
        limit: int | None = None,
    ) -> list[Subscription]:
        """Subscriptions, newest first; only those in ``status`` or charged to
        ``customer_uid`` when given."""
        statuses = None if status is None else [S(status).value]
        engine = self.store.engine
        return table.select(
            engine, statuses=statuses, customer_uid=customer_uid, limit=limit
        )

    def charges(self, subscription_uid: str) -> list[t.Any]:
        """Every charge of a subscription by period and try: rows with
        ``merchant_uid``, ``period``, ``attempt`` and the order's ``state``,
        ``amount``, ``customer_uid``, ``scheduled_at``, ``paid_at`` and
        ``fail_reason``."""
        return table.charges(self.store.engine, self._require(subscription_uid).id)

    # -- starting --------------------------------------------------------------

    def start(
        self,
        customer_uid: str,
        plan: Plan,
        *,
        subscription_uid: str | None = None,
        trial: dt.timedelta | None = None,
    ) -> Subscription:
        """Subscribe a billing key to a plan.

        Without ``trial`` the first period is charged now: the subscription
        returned is ``active`` when it was paid, ``incomplete`` (with its
        ``fail_reason``) when it was declined, and :meth:`resume` charges it
        again. With ``trial`` the first charge is scheduled for the trial's end.

        :param customer_uid: an active billing key issued here.
        :param subscription_uid: the store's id for it (generated when left out).
        :raises NoBillingKeyError: the key is not active here.
        :raises SubscriptionUidInUseError: the ``subscription_uid`` is taken.
        :raises ~flask_nicepay.inbound.InvalidIdError: the ``subscription_uid`` is
            a value no column can hold (NUL, a lone surrogate, over 40 characters).
        :raises ~flask_nicepay.portone.PortOneError: PortOne could not be asked
            to charge the first period; the subscription stays ``incomplete`` and
            :meth:`~flask_nicepay.subscription_janitor.DueWork.run_due` settles
            the charge.
        """
        if subscription_uid:
            check_id("subscription_uid", subscription_uid)
        key = self.billing.get_key(customer_uid)
        if key is None or key.status != "active":
            raise NoBillingKeyError(customer_uid)
        now = self.clock()
        uid = subscription_uid or f"sub-{now:%Y%m%d}-{secrets.token_hex(6)}"
        first = now + trial if trial else None
        values = _new_row(uid, customer_uid, plan, now, first)
        order = self._insert(values, first)
        if trial:
            self._emit(signals.subscription_started, self._require(uid))
        self._launch(order)
        return self._require(uid)

    def _insert(self, values: dict[str, t.Any], first: dt.datetime | None) -> Order:
        """Write the subscription with its first charge; return the charge."""
        uid = values["subscription_uid"]
        try:
            with write_transaction(self.store.engine) as conn:
                sub = table.insert(conn, values)
                order = self._add_charge(conn, sub, (1, 0), at=first)
                table.swap(
                    conn, sub, self.clock(), pending_merchant_uid=order.merchant_uid
                )
        except IntegrityError:
            if self.get(uid) is None:
                raise
            raise SubscriptionUidInUseError(uid) from None
        return order

    # -- cancelling and resuming ------------------------------------------------

    def cancel(
        self, subscription_uid: str, *, at_period_end: bool = True
    ) -> Subscription:
        """Stop charging: at the end of the period paid (or of the trial), or at once.

        The charge scheduled next is revoked at PortOne either way. A
        subscription with no period running (``incomplete``, ``retrying``,
        ``past_due``) ends at once. Nothing is refunded: a store that wants to
        give money back calls :meth:`~flask_nicepay.refunds.Refunds.refund`.
        ``subscription_cancelled`` is sent when it ends. Cancelling twice
        changes nothing.
        """
        for _ in range(8):
            sub = self._require(subscription_uid)
            if sub.status is S.CANCELLED:
                break
            now = self.clock()
            running = sub.status in (S.ACTIVE, S.TRIALING) and (
                sub.period_end is not None and sub.period_end > now
            )
            values: dict[str, t.Any] = {"cancel_at_period_end": True}
            ends = not (at_period_end and running)
            if ends:
                values |= {"status": fire("cancel", sub.status).value, "ended_at": now}
            if self._write(sub, _constant(values)):
                if ends:
                    self._emit(
                        signals.subscription_cancelled,
                        self._require(sub.subscription_uid),
                    )
                break
        return self._finish_dropping(subscription_uid)

    def _finish_dropping(self, subscription_uid: str) -> Subscription:
        for _ in range(8):
            sub = self._require(subscription_uid)
            if sub.pending_merchant_uid is None or self._drop_pending(sub) != "moved":
                break
        return self._require(subscription_uid)

    def resume(self, subscription_uid: str) -> Subscription:
        """Charge again after a stop that has not become final.

        * Cancelled for the end of the period, which has not come: the
          cancellation is withdrawn and the next charge scheduled again.
        * ``incomplete`` or ``past_due``: a new period is charged now, and the
          periods after it are counted from now.

        :raises SubscriptionStateError: anything else (``cancelled`` is final; a
            subscription with a charge under way waits for its result).
        """
        sub = self._require(subscription_uid)
        if sub.pending_merchant_uid is not None:
            raise SubscriptionStateError(f"{subscription_uid} has a charge under way.")
        if sub.cancel_at_period_end and sub.status in (S.ACTIVE, S.TRIALING):
            values: dict[str, t.Any] = {"cancel_at_period_end": False}
            at: dt.datetime | None = sub.starts(sub.period + 1)
        elif sub.status in (S.INCOMPLETE, S.PAST_DUE):
            values = {"anchor_at": self.clock(), "anchor_period": sub.period}
            at = None
        else:
            raise SubscriptionStateError(f"{subscription_uid} is {sub.status}.")
        nxt: list[Order] = []

        def make(conn: Connection) -> dict[str, t.Any]:
            nxt.append(self._add_charge(conn, sub, (sub.period + 1, 0), at=at))
            return {**values, "pending_merchant_uid": nxt[0].merchant_uid}

        if not self._write(sub, make):
            raise SubscriptionStateError(
                f"{subscription_uid} changed meanwhile; retry."
            )
        self._launch(nxt[0])
        return self._require(subscription_uid)

    # -- changing the card -----------------------------------------------------

    def change_card(self, subscription_uid: str, customer_uid: str) -> Subscription:
        """Charge another billing key from now on.

        The charge scheduled next is revoked at PortOne and scheduled again, at
        the same time, on the new key. To pay a ``past_due`` subscription with a
        new card, change the card, then :meth:`resume`.

        :raises NoBillingKeyError: the new key is not active here.
        :raises SubscriptionStateError: the subscription is ``cancelled``, or a
            charge is being made on the old card right now.
        """
        key = self.billing.get_key(customer_uid)
        if key is None or key.status != "active":
            raise NoBillingKeyError(customer_uid)
        for _ in range(8):
            sub = self._require(subscription_uid)
            if sub.status is S.CANCELLED:
                raise SubscriptionStateError(f"{subscription_uid} is cancelled.")
            if sub.customer_uid == customer_uid:
                return sub
            if self._move_to(sub, customer_uid):
                return self._require(subscription_uid)
        raise SubscriptionStateError(f"{subscription_uid} kept changing; retry.")

    def _move_to(self, sub: Subscription, customer_uid: str) -> bool:
        """Move ``sub`` and its next charge to another key; whether it was done."""
        pending = sub.pending_merchant_uid
        old = None if pending is None else self.store.get(pending)
        if old is not None and old.state is not OrderState.READY and not _closed(old):
            self.follow("pay" if old.paid_at else "fail", old)  # its result came first
            return False
        if old is not None and old.state is OrderState.READY:
            if old.scheduled_at is None:
                raise SubscriptionStateError(
                    f"{sub.subscription_uid} is being charged; retry after."
                )
            if not self._revoke(old):
                return False  # it ran first: its result moved the subscription
        charge = (
            None if pending is None else table.charge_of(self.store.engine, pending)
        )
        nxt: list[Order] = []

        def make(conn: Connection) -> dict[str, t.Any]:
            values: dict[str, t.Any] = {"customer_uid": customer_uid}
            if old is not None and charge is not None and old.scheduled_at is not None:
                key = (charge.period, charge.attempt)
                at = old.scheduled_at
                nxt.append(
                    self._add_charge(
                        conn, sub, key, at=at, customer_uid=customer_uid, price=old
                    )
                )
                values["pending_merchant_uid"] = nxt[0].merchant_uid
            return values

        if not self._write(sub, make):
            return False
        if nxt:
            self._launch(nxt[0])
        return True

    # -- changing the plan -----------------------------------------------------

    def change_plan(self, subscription_uid: str, plan: Plan) -> Subscription:
        """Charge ``plan``'s price (and name and tax parts) from the next period on.

        The period under way keeps the price it began with: it is not charged
        again, and a declined renewal's retries charge what that renewal did.
        The charge scheduled for a period that has not begun (the next renewal,
        or the first charge after a trial) is revoked at PortOne and scheduled
        again, at the same time, at the new price. When PortOne has already run
        it, it belongs to the period under way, and the one after it is charged
        at the new price. ``incomplete``, ``past_due`` and cancelled-at-period-end
        subscriptions charge the new price when they are resumed.

        :param plan: the new plan; its ``interval`` and ``currency`` must be the
            subscription's.
        :raises PlanChangeError: the plan has another interval or currency.
        :raises SubscriptionStateError: the subscription is ``cancelled``, or kept
            changing meanwhile.
        """
        columns = table.plan_columns(plan)
        for _ in range(8):
            sub = self._require(subscription_uid)
            if sub.status is S.CANCELLED:
                raise SubscriptionStateError(f"{subscription_uid} is cancelled.")
            if sub.interval != plan.interval or sub.currency != plan.currency:
                raise PlanChangeError(
                    f"{subscription_uid} is charged {sub.currency} "
                    f"{describe(sub.interval)}; a new plan changes only the price, "
                    "name and tax parts (start a new subscription for another "
                    "interval)."
                )
            if self._reprice(sub, columns):
                return self._require(subscription_uid)
        raise SubscriptionStateError(f"{subscription_uid} kept changing; retry.")

    def _reprice(self, sub: Subscription, columns: dict[str, t.Any]) -> bool:
        """Write the new plan's ``columns`` and re-price the charge of a period
        that has not begun; whether it was done."""
        ahead = self._ahead(sub)
        if ahead is not None:
            old = ahead[0]
            if old.state is not OrderState.READY and not _closed(old):
                self.follow("pay" if old.paid_at else "fail", old)
                return False  # its result came first: it paid the period under way
            if old.state is OrderState.READY and not self._revoke(old):
                return False  # PortOne ran it first
        priced = dataclasses.replace(sub, **columns)
        nxt: list[Order] = []

        def make(conn: Connection) -> dict[str, t.Any]:
            if ahead is None:
                return columns
            old, key = ahead
            at = old.scheduled_at
            nxt.append(self._add_charge(conn, sub, key, at=at, price=priced))
            return {**columns, "pending_merchant_uid": nxt[0].merchant_uid}

        if not self._write(sub, make):
            return False
        if nxt:
            self._launch(nxt[0])
        return True

    def _ahead(self, sub: Subscription) -> tuple[Order, tuple[int, int]] | None:
        """The charge expected next, with its ``(period, attempt)``, when it is
        the scheduled first try at a period that has not begun."""
        pending = sub.pending_merchant_uid
        if pending is None or sub.cancel_at_period_end:
            return None  # the due work revokes what a cancelled one still expects
        order = self.store.get(pending)
        charge = table.charge_of(self.store.engine, pending)
        if order is None or order.scheduled_at is None or charge is None:
            return None
        if charge.attempt != 0 or sub.starts(charge.period) <= self.clock():
            return None
        return order, (charge.period, 0)


def _closed(order: Order) -> bool:
    """Closed without being paid: revoked, or voided."""
    return order.state is OrderState.CANCELLED and not order.paid_at


def _constant(values: dict[str, t.Any]) -> t.Callable[[Connection], dict[str, t.Any]]:
    """A write of fixed ``values``."""
    return lambda conn: values


def _new_row(
    uid: str,
    customer_uid: str,
    plan: Plan,
    now: dt.datetime,
    first: dt.datetime | None,
) -> dict[str, t.Any]:
    """A new subscription's columns; ``first`` is the end of its trial, if any."""
    return {
        "subscription_uid": uid,
        "customer_uid": customer_uid,
        "status": (S.TRIALING if first else S.INCOMPLETE).value,
        **table.plan_columns(plan),
        "anchor_at": first or now,
        "anchor_period": 0,
        "period": 0,
        "period_start": now if first else None,
        "period_end": first,
        "cancel_at_period_end": False,
        "created_at": now,
        "updated_at": now,
    }
