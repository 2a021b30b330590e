"""Scheduled payments as PortOne has them, next to the orders that expect them.

An order expects a schedule when it was made by
:meth:`Billing.schedule <flask_nicepay.billing.Billing.schedule>` (origin
``schedule``), is still ``ready`` and has ``scheduled_at``. PortOne's side is what
its schedule search and lookup answer. Where the two disagree there is a
:class:`ScheduleGap` of one of four kinds (:class:`GapKind`), each with one
repair (:class:`Action`). A subscription's charge past its time is only reported:
the subscription's due work charges it then, and closing it here would race that.

A repair reads both sides again before it acts and acts only on what it then
finds, so repairing the same gaps twice, or in two processes at once, ends in the
same place: PortOne refuses what another repair already did, and the order's
compare-and-swap refuses a second transition.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import typing as t

import sqlalchemy as sa

from . import tables
from .machine import OrderState
from .order_values import Order
from .parts import Part
from .parts import Parts
from .portone import Buyer
from .portone import NotFoundError
from .portone import PortOneError
from .portone import Schedule
from .portone import ScheduleRequest
from .sync import Reconciler

#: How far back :meth:`ScheduleBook.compare` looks by default.
DEFAULT_SINCE: t.Final = dt.timedelta(days=7)
#: How far ahead :meth:`ScheduleBook.compare` looks by default.
DEFAULT_UNTIL: t.Final = dt.timedelta(days=90)
#: How long a schedule PortOne lacks, or revoked, is left alone: the call that
#: schedules or unschedules it may still be on its way (the order is written
#: before PortOne is asked to schedule, and closed after it answers a revoke).
DEFAULT_GRACE: t.Final = dt.timedelta(minutes=2)
#: Steps one gap's repair may take (a revoked schedule re-armed at the old amount,
#: then replaced) before it gives up until the next run.
MAX_STEPS: t.Final = 3
NEVER_CHARGED: t.Final = "scheduled payment never made at PortOne"


class GapKind(enum.Enum):
    """How PortOne's schedules and the orders differ."""

    #: Expected here; PortOne has no schedule, or revoked it.
    MISSING = "missing"
    #: PortOne ran the schedule; the order is still ``ready`` here.
    EXECUTED = "executed"
    #: Pending at PortOne; no order here expects it.
    UNKNOWN = "unknown"
    #: Pending at both; amount, currency, time or billing key differ.
    DIFFERENT = "different"


class Action(enum.Enum):
    """What the repair of a gap does."""

    #: Ask PortOne for a new schedule, with the order's ``merchant_uid``.
    SCHEDULE = "schedule"
    #: PortOne's reschedule call on its revoked schedule.
    REARM = "rearm"
    #: Look the order up by ``merchant_uid``; close it if PortOne never charged it.
    LOOK_UP = "look up"
    #: Sync the order with the payment the schedule made.
    SYNC = "sync"
    #: Revoke PortOne's schedule (``unknown`` gaps, only when asked to).
    REVOKE = "revoke"
    #: Revoke PortOne's schedule and schedule the order's instead.
    REPLACE = "replace"
    #: Nothing done here: the order's time has passed while PortOne's is pending,
    #: or a subscription's charge is past its time (its due work settles it).
    REPORT = "report"


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleGap:
    """One difference between PortOne's schedules and the orders."""

    kind: GapKind
    merchant_uid: str
    #: What its repair would do now.
    action: Action
    #: The order with that ``merchant_uid``, if there is one.
    order: Order | None
    #: PortOne's schedule, if it has one.
    schedule: Schedule | None
    #: For ``different``: the fields that differ (``amount``, ``schedule_at``, …).
    differences: tuple[str, ...] = ()

    @property
    def when(self) -> dt.datetime | None:
        """The order's time, else PortOne's."""
        if self.order is not None and self.order.scheduled_at is not None:
            return self.order.scheduled_at
        return self.schedule.schedule_at if self.schedule else None


@dataclasses.dataclass(frozen=True, slots=True)
class ScheduleRepair:
    """What repairing one gap did."""

    gap: ScheduleGap
    #: The actions taken, in order; empty when there was nothing left to do.
    actions: tuple[Action, ...]
    #: The gap as it stands after the repair, ``None`` when it is closed.
    remaining: ScheduleGap | None
    #: The last refusal from PortOne, when a gap remains.
    error: str | None = None

    @property
    def fixed(self) -> bool:
        """No gap remains."""
        return self.remaining is None


def expects_schedule(order: Order | None) -> bool:
    """Whether an order waits for a scheduled payment at PortOne.

    :param order: the order, or ``None``.
    """
    return (
        order is not None
        and order.origin == "schedule"
        and order.state is OrderState.READY
        and order.scheduled_at is not None
    )


def differences(order: Order, schedule: Schedule) -> tuple[str, ...]:
    """The fields in which PortOne's schedule differs from the order.

    :param order: the order.
    :param schedule: PortOne's schedule with the same ``merchant_uid``.
    """
    found = []
    if schedule.amount != order.amount:
        found.append("amount")
    if (schedule.currency or "KRW") != order.currency:
        found.append("currency")
    if _seconds(schedule.schedule_at) != _seconds(order.scheduled_at):
        found.append("schedule_at")
    if schedule.customer_uid != order.customer_uid:
        found.append("customer_uid")
    return tuple(found)


def _seconds(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def classify(
    merchant_uid: str,
    order: Order | None,
    schedule: Schedule | None,
    now: dt.datetime,
    grace: dt.timedelta = dt.timedelta(0),
) -> ScheduleGap | None:
    """The gap between an order and PortOne's schedule for it, if any.

    :param merchant_uid: the order id both share.
    :param order: the order here, or ``None``.
    :param schedule: PortOne's schedule, or ``None``.
    :param now: the current time, which says whether the order's time has passed.
    :param grace: no ``missing`` gap for an order made, or a schedule revoked, less
        than this long ago.
    """
    status = schedule.schedule_status if schedule else None
    gap = functools.partial(ScheduleGap, merchant_uid=merchant_uid, order=order)
    if order is None or not expects_schedule(order):
        if status == "scheduled":
            return gap(kind=GapKind.UNKNOWN, action=Action.REVOKE, schedule=schedule)
        return None
    future = t.cast(dt.datetime, order.scheduled_at) > now
    if schedule is None or status == "revoked":
        since = order.created_at if schedule is None else schedule.revoked_at
        if since is not None and now - since < grace:
            return None  # its scheduling or closing may be on its way
        action = _missing_action(order, schedule, future)
        return gap(kind=GapKind.MISSING, action=action, schedule=schedule)
    if status == "executed":
        return gap(kind=GapKind.EXECUTED, action=Action.SYNC, schedule=schedule)
    found = differences(order, schedule)
    if not found:
        return None
    action = Action.REPLACE if future else Action.REPORT
    return gap(
        kind=GapKind.DIFFERENT, action=action, schedule=schedule, differences=found
    )


def _missing_action(order: Order, revoked: Schedule | None, future: bool) -> Action:
    """A new schedule, PortOne's reschedule of the revoked one when only its time
    would change, or (past the order's time) a look-up."""
    if not future:
        return Action.LOOK_UP
    if revoked is None:
        return Action.SCHEDULE
    same = set(differences(order, revoked)) <= {"schedule_at"}
    return Action.REARM if same else Action.SCHEDULE


def schedule_request(order: Order, notice_url: str | None) -> ScheduleRequest:
    """What PortOne is asked to schedule for an order.

    :param order: an order with ``scheduled_at``.
    :param notice_url: the webhook URL for the scheduled payment.
    """
    fields = ("name", "email", "tel", "addr", "postcode")
    buyer = Buyer(**{name: getattr(order, f"buyer_{name}") for name in fields})
    return ScheduleRequest(
        merchant_uid=order.merchant_uid,
        schedule_at=t.cast(dt.datetime, order.scheduled_at),
        amount=order.amount,
        name=order.name,
        currency=order.currency,
        tax_free=order.tax_free,
        vat_amount=order.vat_amount,
        buyer=buyer if buyer.as_params() else None,
        custom_data=order.custom_data,
        notice_url=notice_url,
    )


class ScheduleBook(Part):
    """Compares PortOne's schedules with the orders, and repairs the difference.

    :param parts: the PortOne client, the order store and the clock.
    :param reconciler: applies what PortOne says of a payment.
    :param channel_key: the channel schedules are charged through.
    :param notice_url: the webhook URL given to PortOne with each schedule.
    :param grace: see :data:`DEFAULT_GRACE`.
    """

    def __init__(
        self,
        parts: Parts,
        reconciler: Reconciler,
        *,
        channel_key: str | None = None,
        notice_url: t.Callable[[], str | None] = lambda: None,
        grace: dt.timedelta = DEFAULT_GRACE,
    ) -> None:
        super().__init__(parts)
        self.reconciler = reconciler
        self.channel_key = channel_key
        self.notice_url = notice_url
        #: No ``missing`` gap for an order made, or a schedule revoked, less than
        #: this long ago (:data:`DEFAULT_GRACE`).
        self.grace = grace

    def compare(
        self, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[ScheduleGap]:
        """Every gap between PortOne's schedules and the orders in a time range,
        in time order.

        :param since: start of the range; by default 7 days ago.
        :param until: end of the range; by default 90 days ahead.
        :raises ValueError: ``since`` is after ``until``.
        :raises PortOneError: PortOne could not be asked.
        """
        now = self.clock()
        since = now - DEFAULT_SINCE if since is None else since
        until = now + DEFAULT_UNTIL if until is None else until
        if since > until:
            raise ValueError("The range starts after it ends (since > until).")
        theirs = {s.merchant_uid: s for s in self.client.iter_schedules(since, until)}
        ours = self._expected(since, until)
        for merchant_uid in ours.keys() - theirs.keys():
            found = self._fetch(merchant_uid)  # moved outside the range, maybe
            if found is not None:
                theirs[found.merchant_uid] = found
        known = ours | self.store.get_many(theirs.keys() - ours.keys())
        gaps = [
            self._owned(classify(uid, known.get(uid), theirs.get(uid), now, self.grace))
            for uid in ours.keys() | theirs.keys()
        ]
        return sorted(filter(None, gaps), key=_time_order)

    def repair(
        self, gaps: t.Iterable[ScheduleGap], *, revoke_unknown: bool = False
    ) -> list[ScheduleRepair]:
        """Repair gaps, each after reading both sides again.

        :param gaps: as :meth:`compare` found them.
        :param revoke_unknown: revoke schedules no order expects; without it they
            are left as they are.
        """
        return [self._repair(gap, revoke_unknown) for gap in gaps]

    def _repair(self, gap: ScheduleGap, revoke_unknown: bool) -> ScheduleRepair:
        done: list[Action] = []
        error = None
        for _ in range(MAX_STEPS):
            current = self.recheck(gap.merchant_uid)
            if current is None or not _may_act(current, revoke_unknown):
                return ScheduleRepair(
                    gap, tuple(done), current, error if current else None
                )
            try:
                self._act(current)
            except PortOneError as exc:  # another repair may have won: look again
                error = str(exc)
            else:
                done.append(current.action)
        current = self.recheck(gap.merchant_uid)  # the last step's result
        return ScheduleRepair(gap, tuple(done), current, error if current else None)

    def recheck(self, merchant_uid: str) -> ScheduleGap | None:
        """The gap for one ``merchant_uid`` as both sides have it now.

        :param merchant_uid: the order id.
        """
        schedule = self._fetch(merchant_uid)
        order = self.store.get(merchant_uid)
        gap = classify(merchant_uid, order, schedule, self.clock(), self.grace)
        return self._owned(gap)

    def _owned(self, gap: ScheduleGap | None) -> ScheduleGap | None:
        """A subscription's charge past its time is left to the subscription."""
        if gap is None or gap.action is not Action.LOOK_UP:
            return gap
        uid = tables.subscription_charges.c.merchant_uid
        query = sa.select(uid).where(uid == gap.merchant_uid)
        with self.store.engine.connect() as conn:
            if conn.execute(query).first() is None:
                return gap
        return dataclasses.replace(gap, action=Action.REPORT)

    def _act(self, gap: ScheduleGap) -> None:
        order, schedule = gap.order, gap.schedule
        if gap.action is Action.SCHEDULE:
            self._schedule(t.cast(Order, order))
        elif gap.action is Action.REARM:
            assert order is not None and order.scheduled_at is not None
            self.client.rearm_schedule(order.merchant_uid, order.scheduled_at)
        elif gap.action is Action.LOOK_UP:
            self._look_up(gap.merchant_uid)
        elif gap.action is Action.SYNC:
            imp_uid = schedule.imp_uid if schedule else None
            self.reconciler.sync(imp_uid=imp_uid, merchant_uid=gap.merchant_uid)
        elif gap.action in (Action.REVOKE, Action.REPLACE):
            assert schedule is not None
            self.client.unschedule(
                customer_uid=schedule.customer_uid, merchant_uids=[gap.merchant_uid]
            )
            if gap.action is Action.REPLACE:
                self._schedule(t.cast(Order, order))

    def _schedule(self, order: Order) -> None:
        request = schedule_request(order, self.notice_url())
        customer_uid = t.cast(str, order.customer_uid)
        self.client.schedule(customer_uid, [request], channel_key=self.channel_key)

    def _look_up(self, merchant_uid: str) -> None:
        try:
            self.reconciler.sync(merchant_uid=merchant_uid)
        except NotFoundError:
            self.reconciler.close(merchant_uid, reason=NEVER_CHARGED)

    def _fetch(self, merchant_uid: str) -> Schedule | None:
        try:
            return self.client.get_schedule(merchant_uid)
        except NotFoundError:
            return None

    def _expected(self, since: dt.datetime, until: dt.datetime) -> dict[str, Order]:
        orders = tables.orders
        query = sa.select(orders).where(
            orders.c.origin == "schedule",
            orders.c.state == OrderState.READY.value,
            orders.c.scheduled_at.between(since, until),
        )
        with self.store.engine.connect() as conn:
            rows = conn.execute(query).mappings()
            found = (Order.from_row(row) for row in rows)
            return {order.merchant_uid: order for order in found}


def _may_act(gap: ScheduleGap, revoke_unknown: bool) -> bool:
    if gap.action is Action.REPORT:
        return False
    return gap.kind is not GapKind.UNKNOWN or revoke_unknown


def _time_order(gap: ScheduleGap) -> tuple[float, str]:
    when = gap.when
    return (when.timestamp() if when else 0.0, gap.merchant_uid)
