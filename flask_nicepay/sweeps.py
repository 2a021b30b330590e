"""The reconciler's rounds over many orders: reconcile, and the virtual-account sweep.

Both ask PortOne about orders in batches of up to 100 per call and hand each
snapshot to the one road of :mod:`flask_nicepay.sync`, so a round changes nothing a
webhook would not. :class:`~flask_nicepay.sync.Reconciler` takes these methods from
:class:`ManyOrders`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import tables
from . import truth
from .inbox import Outcome
from .machine import OPEN_STATES
from .machine import OrderState
from .portone import Payment
from .portone import PortOneClient
from .portone import PortOneError
from .store import Order
from .store import Plan
from .store import Store
from .store import Transition

if t.TYPE_CHECKING:
    from .sync import SyncResult


@dataclasses.dataclass
class ReconcileReport:
    """Counts from one :meth:`Reconciler.reconcile
    <flask_nicepay.sync.Reconciler.reconcile>` run."""

    orders: int = 0
    api_calls: int = 0
    applied: int = 0
    unchanged: int = 0
    not_at_portone: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    #: The id of the last order looked at: where a run in parts goes on from.
    last_id: int | None = None


class _Road(t.Protocol):
    """What the rounds need of the reconciler: the one road, and its parts."""

    @property
    def client(self) -> PortOneClient: ...

    @property
    def store(self) -> Store: ...

    def clock(self) -> dt.datetime: ...

    def apply(
        self, payment: Payment, *, source: str, known: Order | None = None
    ) -> SyncResult: ...

    def announce(self, transitions: t.Iterable[Transition]) -> None: ...


class ManyOrders:
    """The rounds over many orders, as methods of the reconciler."""

    def reconcile(
        self: _Road,
        *,
        since: dt.datetime | None = None,
        states: t.Collection[OrderState] | None = None,
        batch_size: int = 100,
        progress: t.Callable[[int], None] | None = None,
        after: int = 0,
        batches: int | None = None,
    ) -> ReconcileReport:
        """Bring orders in line with PortOne, up to 100 per API call.

        :param since: every order changed at or after this time, in any state.
            Without it, every order in an open state (see
            :data:`~flask_nicepay.machine.OPEN_STATES`).
        :param states: override which states are re-checked.
        :param batch_size: ids per multi-lookup (at most 100).
        :param progress: called with the number of orders done after each batch.
        :param after: only orders with a larger id (a run in parts goes on from
            the last report's ``last_id``).
        :param batches: stop after this many batches (default: go through).
        """
        if states is None and since is None:
            states = OPEN_STATES
        report = ReconcileReport()
        found = self.store.iter_orders(
            states=states, updated_since=since, batch_size=batch_size, after=after
        )
        for number, batch in enumerate(found, start=1):
            _reconcile_batch(self, batch, report)
            report.last_id = batch[-1].id
            if progress is not None:
                progress(len(batch))
            if number == batches:
                break
        return report

    def to_reconcile(self: _Road, *, since: dt.datetime | None = None) -> int:
        """How many orders :meth:`reconcile` with ``since`` would go through."""
        column = tables.orders.c
        if since is not None:
            wanted = column.updated_at >= since
        else:
            wanted = column.state.in_([state.value for state in OPEN_STATES])
        query = sa.select(sa.func.count()).select_from(tables.orders).where(wanted)
        with self.store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def expire_vbanks(self: _Road, *, batch_size: int = 100) -> list[Order]:
        """Expire virtual accounts past their deadline that PortOne shows unpaid.

        PortOne V1 sends nothing when a deadline passes, so this re-checks each
        overdue account on the API first: one paid at the last minute is marked
        paid, never expired.
        """
        expired: list[Order] = []
        for batch in self.store.iter_orders(
            states=[OrderState.VBANK_ISSUED], batch_size=batch_size
        ):
            expired.extend(ManyOrders.expire_overdue(self, batch))
        return expired

    def expire_overdue(self: _Road, batch: t.Sequence[Order]) -> list[Order]:
        """Expire those of these orders (at most 100) that are virtual accounts
        past their deadline and unpaid at PortOne, asking it in one lookup.

        :raises PortOneError: the lookup failed; nothing was expired.
        """
        now = self.clock()
        overdue = {o.imp_uid: o for o in batch if truth.vbank_overdue(o, now)}
        overdue.pop(None, None)
        if not overdue:
            return []
        expired: list[Order] = []
        lookup = self.client.get_payments(imp_uids=[u for u in overdue if u])
        for payment in lookup.items:
            result = self.apply(payment, source="sweep")
            if (
                result.order is not None
                and result.order.state is OrderState.VBANK_ISSUED
            ):
                expired.extend(_expire(self, result.order, payment, now))
        return expired

    def reconcile_batch(
        self: _Road, batch: t.Sequence[Order], report: ReconcileReport | None = None
    ) -> ReconcileReport:
        """Bring these orders (at most 100) in line with PortOne in one lookup.

        :param report: add the counts to this report instead of a new one.
        """
        report = report if report is not None else ReconcileReport()
        _reconcile_batch(self, list(batch), report)
        return report


def _reconcile_batch(road: _Road, batch: list[Order], report: ReconcileReport) -> None:
    report.orders += len(batch)
    by_imp: dict[str, Order] = {}
    by_merchant: dict[str, Order] = {}
    for order in batch:
        imp_uid = _followed_attempt(order)
        if imp_uid is None:
            by_merchant[order.merchant_uid] = order
        else:
            by_imp[imp_uid] = order
    try:
        report.api_calls += 1
        lookup = road.client.get_payments(
            imp_uids=list(by_imp), merchant_uids=list(by_merchant)
        )
    except PortOneError as exc:
        report.errors.append(f"lookup of {len(batch)} orders failed: {exc}")
        return
    report.not_at_portone += len(lookup.missing)
    for payment in lookup.items:
        known = by_imp.get(payment.imp_uid) or by_merchant.get(payment.merchant_uid)
        try:
            result = road.apply(payment, source="reconcile", known=known)
        except (PortOneError, LookupError, RuntimeError) as exc:
            report.errors.append(f"{payment.merchant_uid}: {exc}")
            continue
        if result.outcome is Outcome.NOOP:
            report.unchanged += 1
        else:
            report.applied += 1


def _expire(
    road: _Road, order: Order, payment: Payment, now: dt.datetime
) -> list[Order]:
    def decide(conn: Connection, current: Order) -> Plan | None:
        if not truth.vbank_overdue(current, now) or current.imp_uid != payment.imp_uid:
            return None
        return Plan(events=("expire",), updates={"expired_at": now})

    applied = road.store.apply(order.merchant_uid, decide, source="sweep")
    road.announce(applied.transitions)
    return [applied.order] if applied.transitions else []


def _followed_attempt(order: Order) -> str | None:
    """The attempt to look up, or None to ask for the order's latest attempt.

    A ready or failed order may have been paid by a newer attempt, which only a
    lookup by merchant_uid finds; any other order follows its known attempt.
    """
    if order.state in (OrderState.READY, OrderState.FAILED):
        return None
    return order.imp_uid
