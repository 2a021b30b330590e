"""Finishing what a crash or a lost answer left half done in subscriptions.

:meth:`DueWork.run_due` looks at every subscription with work due and does it:

* a subscription cancelled for the end of its period ends when the period does;
* a charge PortOne should have run by now (plus :data:`GRACE`) is looked up, and
  its result applied: a lost webhook delays a renewal, it never stops one;
* a charge that was paid or declined while the subscription was not moved on (the
  process died after the order's commit) moves it now;
* a charge PortOne has no schedule for (refused, revoked, never sent) is made
  now, once it is due;
* a charge still expected by a subscription being cancelled is revoked.

Each subscription is claimed (``claimed_until``) before its work, so many
processes can run this at once, and running it twice does nothing more.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import signals
from . import subscription_table as table
from . import tables
from .machine import OrderState
from .portone import APIError
from .portone import NotFoundError
from .portone import PaymentDeclinedError
from .portone import PortOneError
from .store import Order
from .subscription_charging import Charging
from .subscription_machine import BILLING_STATES
from .subscription_machine import SubscriptionState
from .subscription_machine import fire
from .subscription_table import Subscription

logger = logging.getLogger("flask_nicepay")

S = SubscriptionState

#: How late PortOne's result of a charge may be before it is looked up.
GRACE = dt.timedelta(minutes=30)
#: How long one process holds a subscription's due work.
CLAIM = dt.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True, slots=True)
class DueReport:
    """What one :meth:`~DueWork.run_due` pass did, by subscription uid."""

    #: What was done to each subscription that had work due (``ended``,
    #: ``looked up``, ``followed``, ``charged now``, ``replaced``,
    #: ``revoked``, ``closed``...).
    done: dict[str, str]
    #: Subscriptions whose work failed (PortOne unreachable, say), with why.
    failed: dict[str, str]


class DueWork(Charging):
    """The part of :class:`~flask_nicepay.subscriptions.Subscriptions` that
    finishes due work."""

    def run_due(
        self, *, batch_size: int = 100, max_batches: int | None = None
    ) -> DueReport:
        """Do every subscription's due work, ``batch_size`` at a time.

        :param max_batches: stop after this many batches (the rest is left for
            the next run); by default, run until no work is due.
        """
        done: dict[str, str] = {}
        failed: dict[str, str] = {}
        last_id, batches = 0, 0
        while batch := self._due(last_id, batch_size):
            for sub in batch:
                last_id = sub.id
                self._one_due(sub, done, failed)
            batches += 1
            if max_batches is not None and batches >= max_batches:
                break
        return DueReport(done, failed)

    def _due(self, after_id: int, limit: int) -> list[Subscription]:
        subs, orders = tables.subscriptions, tables.orders
        now = self.clock()
        waiting = sa.func.coalesce(
            orders.c.scheduled_at, orders.c.created_at, type_=tables.UTCDateTime()
        )
        query = (
            sa.select(subs)
            .outerjoin(orders, orders.c.merchant_uid == subs.c.pending_merchant_uid)
            .where(subs.c.id > after_id)
            .where(
                sa.or_(
                    sa.and_(
                        subs.c.cancel_at_period_end, subs.c.status != S.CANCELLED.value
                    ),
                    sa.and_(
                        subs.c.pending_merchant_uid.is_not(None),
                        sa.or_(
                            orders.c.state.is_(None),
                            orders.c.state != OrderState.READY.value,
                            subs.c.status == S.CANCELLED.value,
                            waiting <= now - GRACE,
                        ),
                    ),
                )
            )
            .order_by(subs.c.id)
            .limit(limit)
        )
        with self.store.engine.connect() as conn:
            return [Subscription.from_row(r) for r in conn.execute(query).mappings()]

    def _one_due(
        self, sub: Subscription, done: dict[str, str], failed: dict[str, str]
    ) -> None:
        now = self.clock()
        if not table.claim(self.store.engine, sub, now, now + CLAIM):
            return
        try:
            what = self._settle_due(sub.subscription_uid)
            if what != "nothing":
                done[sub.subscription_uid] = what
        except PortOneError as exc:
            failed[sub.subscription_uid] = str(exc)
        finally:
            table.release(self.store.engine, sub.id)

    def _settle_due(self, subscription_uid: str) -> str:
        sub = self._require(subscription_uid)
        if sub.pending_merchant_uid is not None:
            order = self.store.get(sub.pending_merchant_uid)
            if sub.cancel_at_period_end or sub.status is S.CANCELLED:
                return self._drop_pending(sub)
            return self._pending_due(sub, order)
        if sub.cancel_at_period_end and sub.status is not S.CANCELLED:
            return self._end_if_over(sub)
        return "nothing"

    def _end_if_over(self, sub: Subscription) -> str:
        now = self.clock()
        if sub.period_end is not None and sub.period_end > now:
            return "nothing"
        values = {"status": fire("cancel", sub.status).value, "ended_at": now}
        if not self._write(sub, lambda conn: values):
            return "moved"
        self._emit(signals.subscription_cancelled, self._require(sub.subscription_uid))
        return "ended"

    def _pending_due(self, sub: Subscription, order: Order | None) -> str:
        if order is None or (order.state is OrderState.CANCELLED and not order.paid_at):
            return self._replace(sub, order)
        if order.state is not OrderState.READY:
            self.follow(_EVENT.get(order.state, "pay"), order)
            return "followed"
        # Read again under the claim: another janitor may have moved the
        # subscription on to a charge that is not due yet since it was listed.
        waiting_since = order.scheduled_at or order.created_at
        if waiting_since > self.clock() - GRACE:
            return "nothing"
        return self._look_up(sub, order)

    def _look_up(self, sub: Subscription, order: Order) -> str:
        """A charge overdue: apply what PortOne knows of it, or make it again."""
        try:
            self.billing.reconciler.sync(
                merchant_uid=order.merchant_uid, source="sweep"
            )
            return "looked up"
        except NotFoundError:
            pass
        if order.scheduled_at is None:
            # A charge made now that PortOne never recorded: nothing was charged.
            self.billing.reconciler.close(order.merchant_uid, reason="never charged")
            self._write(sub, lambda conn: {"pending_merchant_uid": None})
            return "closed"
        if self._scheduled_at_portone(order.merchant_uid):
            return "waiting"
        # PortOne has neither a payment nor a schedule for it: charge it now.
        with contextlib.suppress(PaymentDeclinedError):  # its transition tells
            self.billing.charge_order(order)
        return "charged now"

    def _scheduled_at_portone(self, merchant_uid: str) -> bool:
        try:
            schedule = self.billing.client.get_schedule(merchant_uid)
        except NotFoundError:
            return False
        return schedule.schedule_status in ("scheduled", "executed")

    def _replace(self, sub: Subscription, order: Order | None) -> str:
        """The charge expected was closed unpaid, or lost: expect a new one at the
        same time (a charge that was to be made now is not made again)."""
        merchant_uid = t.cast(str, sub.pending_merchant_uid)
        charge = table.charge_of(self.store.engine, merchant_uid)
        key = (charge.period, charge.attempt) if charge else (sub.period + 1, 0)
        at = order.scheduled_at if order is not None else None
        if at is None and sub.status in BILLING_STATES:
            at = sub.starts(key[0])
        nxt: list[Order] = []

        def make(conn: Connection) -> dict[str, t.Any]:
            if at is not None:
                nxt.append(self._add_charge(conn, sub, key, at=at, price=order))
            return {"pending_merchant_uid": nxt[0].merchant_uid if nxt else None}

        if not self._write(sub, make):
            return "moved"
        if not nxt:
            return "closed"
        logger.warning(
            "Subscription %s expected %s, which was closed unpaid; %s replaces it.",
            sub.subscription_uid,
            merchant_uid,
            nxt[0].merchant_uid,
        )
        self._launch(nxt[0])
        return "replaced"

    def _drop_pending(self, sub: Subscription) -> str:
        """Revoke the charge a subscription being cancelled still expects."""
        merchant_uid = t.cast(str, sub.pending_merchant_uid)
        order = self.store.get(merchant_uid)
        if order is not None and order.state is OrderState.READY:
            if order.scheduled_at is None:
                return "charging"  # made now; its result arrives by itself
            if not self._revoke(order):
                return "ran"  # PortOne ran it first; its result moved the subscription
        dropped = self._write(sub, lambda conn: {"pending_merchant_uid": None})
        return "revoked" if dropped else "moved"

    def _revoke(self, order: Order) -> bool:
        """Revoke a scheduled charge at PortOne and close its order; ``False``
        when PortOne had nothing to revoke because it ran the charge."""
        customer_uid = t.cast(str, order.customer_uid)
        try:
            self.billing.unschedule(customer_uid, [order.merchant_uid])
            return True
        except APIError as exc:
            if exc.code != 1:
                raise
        reconciler = self.billing.reconciler
        try:
            result = reconciler.sync(merchant_uid=order.merchant_uid, source="sweep")
        except NotFoundError:  # never scheduled there at all
            result = None
        if (
            result is None
            or result.order is None
            or result.order.state is OrderState.READY
        ):
            reconciler.close(order.merchant_uid, reason="schedule revoked")
            return True
        return False


#: The order event a settled order's state stands for.
_EVENT = {
    OrderState.PAID: "pay",
    OrderState.PARTIALLY_CANCELLED: "pay",
    OrderState.FAILED: "fail",
    OrderState.MISMATCH: "flag_mismatch",
}
