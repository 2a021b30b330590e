"""Subscriptions and the charges that pay their periods, as rows.

Every write names the version it read (compare-and-swap), like an order's: when
a renewal's webhook, the browser and a reconcile deliver the same result at once,
one writer moves the subscription and the others find it moved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from . import tables
from .db import connection
from .db import write_transaction
from .inbound import can_be_id
from .subscription_machine import SubscriptionState
from .subscription_plan import EveryDays
from .subscription_plan import Interval
from .subscription_plan import Monthly
from .subscription_plan import Plan
from .subscription_plan import boundary

_SUBS = tables.subscriptions


class SubscriptionError(Exception):
    """Something a subscription call cannot do; nothing was charged or changed."""


class SubscriptionNotFoundError(SubscriptionError, LookupError):
    """No subscription has this ``subscription_uid``."""


class SubscriptionUidInUseError(SubscriptionError, ValueError):
    """A subscription with this ``subscription_uid`` exists already."""


class NoBillingKeyError(SubscriptionError):
    """The ``customer_uid`` names no active billing key issued here."""


class SubscriptionStateError(SubscriptionError):
    """The subscription's state does not allow this call."""


class PlanChangeError(SubscriptionError, ValueError):
    """The new plan differs in more than its price and name: another interval or
    currency would change when the periods begin, or what the key is charged in."""


_CHARGES = tables.subscription_charges


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """A subscription as last written. Times are aware, in UTC."""

    id: int
    subscription_uid: str
    customer_uid: str
    status: SubscriptionState
    version: int
    name: str
    amount: Decimal
    currency: str
    tax_free: Decimal | None
    vat_amount: Decimal | None
    interval_unit: str
    interval_count: int
    interval_day: int | None
    anchor_at: dt.datetime
    anchor_period: int
    #: The last period paid (0 before the first).
    period: int
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    #: The order of the charge expected next, if any.
    pending_merchant_uid: str | None
    cancel_at_period_end: bool
    fail_reason: str | None
    claimed_until: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    ended_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> Subscription:
        values = dict(row)
        values["status"] = SubscriptionState(values["status"])
        return cls(**values)

    @property
    def interval(self) -> Interval:
        """The plan's :class:`~flask_nicepay.subscription_plan.Interval`."""
        if self.interval_unit == "day":
            return EveryDays(self.interval_count)
        return Monthly(self.interval_day, self.interval_count)

    @property
    def plan(self) -> Plan:
        """The plan this subscription charges from its next period on; a period
        already begun costs what its first charge did
        (:meth:`~flask_nicepay.subscriptions.Subscriptions.charges`)."""
        return Plan(
            name=self.name,
            amount=self.amount,
            interval=self.interval,
            currency=self.currency,
            tax_free=self.tax_free,
            vat_amount=self.vat_amount,
        )

    def starts(self, period: int) -> dt.datetime:
        """When ``period`` begins (period 1 begins at the first charge)."""
        return boundary(self.anchor_at, self.interval, period - 1 - self.anchor_period)


@dataclasses.dataclass(frozen=True, slots=True)
class Charge:
    """Which subscription and period an order pays, and on which try."""

    merchant_uid: str
    subscription_id: int
    period: int
    attempt: int


def plan_columns(plan: Plan) -> dict[str, t.Any]:
    """The subscription columns that hold ``plan``."""
    interval = plan.interval
    if isinstance(interval, Monthly):
        unit, count, day = "month", interval.months, interval.day
    else:
        unit, count, day = "day", interval.days, None
    return {
        "name": plan.name,
        "amount": Decimal(plan.amount),
        "currency": plan.currency,
        "tax_free": None if plan.tax_free is None else Decimal(plan.tax_free),
        "vat_amount": None if plan.vat_amount is None else Decimal(plan.vat_amount),
        "interval_unit": unit,
        "interval_count": count,
        "interval_day": day,
    }


def insert(conn: Connection, values: dict[str, t.Any]) -> Subscription:
    """Insert a subscription in the transaction open on ``conn``."""
    conn.execute(sa.insert(_SUBS).values(version=1, **values))
    found = read(conn, values["subscription_uid"])
    assert found is not None
    return found


def read(bind: Engine | Connection, subscription_uid: str) -> Subscription | None:
    """The subscription with this uid, or ``None`` (also for a value none can have)."""
    if not can_be_id("subscription_uid", subscription_uid):
        return None
    return _one(bind, _SUBS.c.subscription_uid == subscription_uid)


def read_id(bind: Engine | Connection, subscription_id: int) -> Subscription | None:
    """The subscription with this row id, or ``None``."""
    return _one(bind, _SUBS.c.id == subscription_id)


def _one(bind: Engine | Connection, where: t.Any) -> Subscription | None:
    with connection(bind) as conn:
        row = conn.execute(sa.select(_SUBS).where(where)).mappings().first()
    return None if row is None else Subscription.from_row(row)


def select(
    engine: Engine,
    *,
    statuses: t.Collection[str] | None = None,
    customer_uid: str | None = None,
    limit: int | None = None,
) -> list[Subscription]:
    """Subscriptions, newest first, filtered by status or billing key."""
    query = sa.select(_SUBS).order_by(_SUBS.c.id.desc())
    if statuses is not None:
        query = query.where(_SUBS.c.status.in_(list(statuses)))
    if customer_uid is not None:
        if not can_be_id("customer_uid", customer_uid):
            return []
        query = query.where(_SUBS.c.customer_uid == customer_uid)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [Subscription.from_row(row) for row in conn.execute(query).mappings()]


def swap(
    conn: Connection, sub: Subscription, now: dt.datetime, **values: t.Any
) -> bool:
    """Write ``values`` if the row is still at ``sub.version``; whether it was."""
    update = (
        sa.update(_SUBS)
        .where(_SUBS.c.id == sub.id, _SUBS.c.version == sub.version)
        .values(version=sub.version + 1, updated_at=now, **values)
    )
    return conn.execute(update).rowcount == 1


def claim(
    engine: Engine, sub: Subscription, now: dt.datetime, until: dt.datetime
) -> bool:
    """Take the subscription's due work until ``until``, unless another holds it."""
    free = sa.or_(_SUBS.c.claimed_until.is_(None), _SUBS.c.claimed_until <= now)
    update = (
        sa.update(_SUBS).where(_SUBS.c.id == sub.id, free).values(claimed_until=until)
    )
    with write_transaction(engine) as conn:
        return conn.execute(update).rowcount == 1


def release(engine: Engine, subscription_id: int) -> None:
    """Give up the claim on a subscription's due work."""
    update = sa.update(_SUBS).where(_SUBS.c.id == subscription_id)
    with write_transaction(engine) as conn:
        conn.execute(update.values(claimed_until=None))


def add_charge(conn: Connection, charge: Charge, now: dt.datetime) -> None:
    """Link an order to the period it pays."""
    conn.execute(
        sa.insert(_CHARGES).values(created_at=now, **dataclasses.asdict(charge))
    )


def charge_of(bind: Engine | Connection, merchant_uid: str) -> Charge | None:
    """The period an order pays, or ``None`` for an order of no subscription."""
    query = sa.select(_CHARGES).where(_CHARGES.c.merchant_uid == merchant_uid)
    with connection(bind) as conn:
        row = conn.execute(query).mappings().first()
    if row is None:
        return None
    return Charge(
        row["merchant_uid"], row["subscription_id"], row["period"], row["attempt"]
    )


def charges(engine: Engine, subscription_id: int) -> list[RowMapping]:
    """Every charge of a subscription with its order's state, oldest first."""
    orders = tables.orders
    query = (
        sa.select(
            _CHARGES.c.merchant_uid,
            _CHARGES.c.period,
            _CHARGES.c.attempt,
            orders.c.state,
            orders.c.amount,
            orders.c.customer_uid,
            orders.c.scheduled_at,
            orders.c.paid_at,
            orders.c.fail_reason,
        )
        .join(orders, orders.c.merchant_uid == _CHARGES.c.merchant_uid)
        .where(_CHARGES.c.subscription_id == subscription_id)
        .order_by(_CHARGES.c.period, _CHARGES.c.attempt, _CHARGES.c.created_at)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())
