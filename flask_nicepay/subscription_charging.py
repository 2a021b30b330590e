"""How a subscription makes its charges and follows what becomes of them.

Each charge is an order, written in the same transaction as the link that says
which period it pays and the subscription's pointer to it
(``pending_merchant_uid``). When that order is paid or fails, the one process
that wrote the order's transition calls :meth:`Charging.follow`, which moves the
subscription with a compare-and-swap naming the order it expected: a result
delivered twice, late or out of order finds the pointer moved on and does
nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

from sqlalchemy.engine import Connection

from . import signals
from . import subscription_table as table
from .billing import Billing
from .db import write_transaction
from .parts import Part
from .parts import Parts
from .portone import PaymentDeclinedError
from .portone import PortOneError
from .store import Order
from .subscription_machine import SubscriptionState
from .subscription_machine import fire
from .subscription_table import Charge
from .subscription_table import Subscription
from .subscription_table import SubscriptionNotFoundError

logger = logging.getLogger("flask_nicepay")

S = SubscriptionState

#: After a declined renewal, the delays before each retry: the first retry a day
#: after the decline, the second three days after the first retry's decline.
RETRY_AFTER: tuple[dt.timedelta, ...] = (dt.timedelta(days=1), dt.timedelta(days=3))
#: PortOne schedules only in the future: a charge due now is scheduled this late.
LEAD = dt.timedelta(minutes=1)

#: The columns a charge's order takes from its price: a subscription's plan, or
#: the order of an earlier try at the same period.
PRICE = ("name", "amount", "currency", "tax_free", "vat_amount")

#: The order events a subscription follows: paid, or not paid.
_FOLLOWED = frozenset({"pay", "fail", "flag_mismatch"})


class _Moved(Exception):
    """The subscription changed between the read and the write."""


class Charging(Part):
    """Makes a subscription's charges and follows their orders.

    :param parts: the PortOne client, the order store and the clock.
    :param billing: charges, schedules and unschedules the orders.
    :param sender: the sender of the subscription signals (the Flask application).
    :param retry_after: the retry policy (see :data:`RETRY_AFTER`).
    """

    def __init__(
        self,
        parts: Parts,
        billing: Billing,
        *,
        sender: t.Any = None,
        retry_after: t.Sequence[dt.timedelta] = RETRY_AFTER,
    ) -> None:
        super().__init__(parts)
        self.billing = billing
        self.sender = sender
        self.retry_after = tuple(retry_after)

    def get(self, subscription_uid: str) -> Subscription | None:
        """The subscription as last written, or ``None``."""
        return table.read(self.store.engine, subscription_uid)

    def _require(self, subscription_uid: str) -> Subscription:
        found = self.get(subscription_uid)
        if found is None:
            raise SubscriptionNotFoundError(subscription_uid)
        return found

    # -- charges ---------------------------------------------------------------

    def _add_charge(
        self,
        conn: Connection,
        sub: Subscription,
        charge: tuple[int, int],
        *,
        at: dt.datetime | None,
        customer_uid: str | None = None,
        price: Subscription | Order | None = None,
    ) -> Order:
        """Write the order of a charge (scheduled ``at``, or made now) and link it
        to the ``(period, attempt)`` it pays, in the transaction on ``conn``.

        :param price: what the charge costs: the order it repeats (a retry, a
            charge moved or replaced), since a period costs what it cost when it
            began; the plan of ``sub`` by default.
        """
        merchant_uid = self.billing.make_merchant_uid()
        order = self.store.insert_order(
            conn,
            merchant_uid=merchant_uid,
            **{name: getattr(price or sub, name) for name in PRICE},
            origin="again" if at is None else "schedule",
            pay_method="card",
            customer_uid=customer_uid or sub.customer_uid,
            scheduled_at=None if at is None else max(at, self.clock() + LEAD),
        )
        link = Charge(merchant_uid, sub.id, *charge)
        table.add_charge(conn, link, self.clock())
        return order

    def _launch(self, order: Order) -> None:
        """Make the charge an order stands for: now, or scheduled at PortOne.

        A decline arrives through the order's transition. A scheduled charge
        PortOne did not answer for stays ``ready`` for :meth:`run_due`; a charge
        made now raises the error.
        """
        try:
            if order.scheduled_at is None:
                self.billing.charge_order(order)
            else:
                customer_uid = t.cast(str, order.customer_uid)
                self.billing.schedule_orders(customer_uid, [order])
        except PaymentDeclinedError:
            pass  # the order failed, and its transition moved the subscription
        except PortOneError:
            if order.scheduled_at is None:
                raise
            logger.warning(
                "Scheduling %s for a subscription failed; run_due tries again.",
                order.merchant_uid,
                exc_info=True,
            )

    def _write(
        self, sub: Subscription, make: t.Callable[[Connection], dict[str, t.Any]]
    ) -> bool:
        """Swap ``sub`` to the values ``make(conn)`` returns, with whatever it
        wrote on ``conn``, all or nothing; whether the swap won."""
        try:
            with write_transaction(self.store.engine) as conn:
                if not table.swap(conn, sub, self.clock(), **make(conn)):
                    raise _Moved
        except _Moved:
            return False
        return True

    def _emit(self, signal: t.Any, sub: Subscription, **data: t.Any) -> None:
        about = f"subscription {sub.subscription_uid}"
        signals.emit(signal, self.sender, about, subscription=sub, **data)

    # -- following the orders --------------------------------------------------

    def follow(self, event: str, order: Order) -> None:
        """Move the subscription an order pays, after the order's transition.

        Called once per transition, by the process that wrote it. Never raises:
        the order's change is committed whatever happens here, and ``run_due``
        finishes what failed.
        """
        if event not in _FOLLOWED or order.origin not in ("again", "schedule"):
            return
        try:
            self._follow(event == "pay", order)
        except Exception:
            logger.exception(
                "Moving the subscription charged by %s failed; run_due retries it.",
                order.merchant_uid,
            )

    def _follow(self, paid: bool, order: Order) -> None:
        charge = table.charge_of(self.store.engine, order.merchant_uid)
        if charge is None:
            return
        for _ in range(8):
            sub = table.read_id(self.store.engine, charge.subscription_id)
            if sub is None or sub.pending_merchant_uid != order.merchant_uid:
                if paid and sub is not None:
                    logger.warning(
                        "Subscription %s was charged by %s, which it no longer "
                        "expected (changed or cancelled at the same time).",
                        sub.subscription_uid,
                        order.merchant_uid,
                    )
                return
            step = self._paid if paid else self._declined
            if step(sub, charge, order):
                return
        raise RuntimeError(f"Subscription {charge.subscription_id} kept moving.")

    def _paid(self, sub: Subscription, charge: Charge, order: Order) -> bool:
        """The period ``charge`` pays is paid: schedule the next, unless the
        subscription ends with it."""
        period, nxt = charge.period, None
        ended = sub.status is S.CANCELLED
        status = sub.status if ended else fire("pay_period", sub.status)

        def make(conn: Connection) -> dict[str, t.Any]:
            nonlocal nxt
            if not (ended or sub.cancel_at_period_end):
                at = sub.starts(period + 1)
                nxt = self._add_charge(conn, sub, (period + 1, 0), at=at)
            return {
                "status": status.value,
                "period": period,
                "period_start": sub.starts(period),
                "period_end": sub.starts(period + 1),
                "pending_merchant_uid": nxt.merchant_uid if nxt else None,
                "fail_reason": None,
            }

        if not self._write(sub, make):
            return False
        after = self._require(sub.subscription_uid)
        if sub.period == 0 and sub.status is not S.TRIALING:
            self._emit(signals.subscription_started, after)
        self._emit(signals.subscription_renewed, after, order=order, period=period)
        if nxt is not None:
            self._launch(nxt)
        return True

    def _declined(self, sub: Subscription, charge: Charge, order: Order) -> bool:
        """The charge was declined: retry on the policy, or give up."""
        retry_at, nxt = None, None
        status: SubscriptionState
        if sub.status in (S.INCOMPLETE, S.PAST_DUE, S.CANCELLED):
            status = sub.status  # a first charge or a resume: the store retries
        elif charge.attempt < len(self.retry_after):
            status = fire("miss", sub.status)
            retry_at = self.clock() + self.retry_after[charge.attempt]
        else:
            status = fire("lapse", sub.status)

        def make(conn: Connection) -> dict[str, t.Any]:
            nonlocal nxt
            if retry_at is not None:
                again = (charge.period, charge.attempt + 1)
                nxt = self._add_charge(conn, sub, again, at=retry_at, price=order)
            return {
                "status": status.value,
                "pending_merchant_uid": nxt.merchant_uid if nxt else None,
                "fail_reason": order.fail_reason or order.mismatch_reason,
            }

        if not self._write(sub, make):
            return False
        after = self._require(sub.subscription_uid)
        retry = nxt.scheduled_at if nxt else None
        self._emit(
            signals.subscription_payment_failed, after, order=order, retry_at=retry
        )
        if status is S.PAST_DUE and sub.status is not S.PAST_DUE:
            self._emit(signals.subscription_past_due, after)
        if nxt is not None:
            self._launch(nxt)
        return True
