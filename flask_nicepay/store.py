"""Orders in the database, changed only by compare-and-swap.

Every change of an order goes through :meth:`Store.apply`: it reads the row, asks
the caller what to do, and, only if there is something to do, opens one short write
transaction that checks each step against the state machine and writes with
``UPDATE … WHERE id = :id AND version = :version``. If another thread, process or
host changed the row since it was read, nothing is written and the whole decision
is taken again on the fresh row; a decision that is already true becomes a no-op.
The version, not a lock held since the read, is what makes the write safe. So
however many deliveries of the same truth arrive, exactly one of them writes the
transition and its history row, and only that one returns it (and so only that one
sends its signal).

No network call ever happens inside these transactions: callers fetch from PortOne
first and hand the snapshot in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import typing as t
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from . import db
from . import fused
from . import migrations
from . import tables
from .db import write_transaction
from .fused import Fuse
from .inbound import can_be_id
from .machine import OrderState
from .machine import fire
from .order_values import Applied as Applied
from .order_values import Change as Change
from .order_values import ConcurrencyError as ConcurrencyError
from .order_values import Decide as Decide
from .order_values import Finish as Finish
from .order_values import Hook as Hook
from .order_values import Order as Order
from .order_values import Plan as Plan
from .order_values import Transition as Transition
from .order_values import UnknownOrderError as UnknownOrderError

#: How many times a decision is retaken after losing a race before giving up.
MAX_CAS_ATTEMPTS = 20

# The hot path's statements, built once: building one per call costs more than
# running it. The SET clause of an UPDATE comes from the parameters it is run with.
_READ = sa.select(tables.orders).where(
    tables.orders.c.merchant_uid == sa.bindparam("_merchant_uid")
)
_SWAP = (
    sa.update(tables.orders)
    .where(tables.orders.c.id == sa.bindparam("_id"))
    .where(tables.orders.c.version == sa.bindparam("_version"))
)
_HISTORY = sa.insert(tables.history)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _LostRace(Exception):
    """Another writer changed the row between our read and our write."""


class Store:
    """Reads and compare-and-swap writes of the plugin's tables.

    :param engine: from :func:`flask_nicepay.db.make_engine`.
    :param on_transition: called inside the write transaction with the connection
        and each :class:`Transition`; a store sharing the database updates its own
        order there. If it raises, nothing is written.
    :param clock: the current time; replaceable in tests.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        on_transition: Hook | None = None,
        clock: t.Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.on_transition = on_transition
        self.clock = clock

    def create_all(self) -> None:
        """Create the plugin's tables, or upgrade them to the newest revision,
        safe when many processes start at once (see
        :func:`flask_nicepay.migrations.upgrade`)."""
        migrations.upgrade(self.engine)

    # -- reads --------------------------------------------------------------

    def get(self, merchant_uid: str) -> Order | None:
        """The order with this ``merchant_uid``, or ``None`` (also for a value no
        order can have, see :func:`~flask_nicepay.inbound.can_be_id`)."""
        with self.engine.connect() as conn:
            return _read(conn, merchant_uid)

    def get_many(self, merchant_uids: t.Iterable[str]) -> dict[str, Order]:
        """Orders by ``merchant_uid``; unknown ones are left out."""
        wanted = [uid for uid in merchant_uids if can_be_id("merchant_uid", uid)]
        if not wanted:
            return {}
        query = sa.select(tables.orders).where(tables.orders.c.merchant_uid.in_(wanted))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings()
            return {row["merchant_uid"]: Order.from_row(row) for row in rows}

    def iter_orders(
        self,
        *,
        states: t.Collection[OrderState] | None = None,
        updated_since: dt.datetime | None = None,
        batch_size: int = 100,
        after: int = 0,
    ) -> t.Iterator[list[Order]]:
        """Orders in batches of ``batch_size``, by id, read one batch at a time.

        :param states: only orders in these states.
        :param updated_since: only orders changed at or after this time.
        :param after: only orders with a larger id.
        """
        query = sa.select(tables.orders).order_by(tables.orders.c.id)
        if states is not None:
            query = query.where(tables.orders.c.state.in_([s.value for s in states]))
        if updated_since is not None:
            query = query.where(tables.orders.c.updated_at >= updated_since)
        last_id = after
        while True:
            page = query.where(tables.orders.c.id > last_id).limit(batch_size)
            with self.engine.connect() as conn:
                batch = [Order.from_row(r) for r in conn.execute(page).mappings()]
            if not batch:
                return
            yield batch
            last_id = batch[-1].id

    def history(self, merchant_uid: str) -> list[RowMapping]:
        """The order's transitions, oldest first."""
        if not can_be_id("merchant_uid", merchant_uid):
            return []
        query = (
            sa.select(tables.history)
            .where(tables.history.c.merchant_uid == merchant_uid)
            .order_by(tables.history.c.id)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).mappings())

    # -- writes -------------------------------------------------------------

    def create_order(self, **fields: t.Any) -> Order:
        """Insert a new order in state ``ready``.

        :param fields: column values; ``merchant_uid``, ``amount``, ``currency``,
            ``name`` and ``origin`` are required.
        :raises sqlalchemy.exc.IntegrityError: the ``merchant_uid`` exists.
        """
        with write_transaction(self.engine) as conn:
            return self.insert_order(conn, **fields)

    def insert_order(self, conn: Connection, **fields: t.Any) -> Order:
        """Insert a new order in state ``ready`` in the transaction open on
        ``conn``, so it commits (or not) with the caller's other writes.

        :param fields: as for :meth:`create_order`.
        :raises sqlalchemy.exc.IntegrityError: the ``merchant_uid`` exists.
        """
        now = self.clock()
        values = {
            "state": OrderState.READY.value,
            "version": 1,
            "paid_amount": Decimal(0),
            "cancelled_amount": Decimal(0),
            "late_payment": False,
            "prepared": False,
            "created_at": now,
            "updated_at": now,
            **fields,
        }
        insert = sa.insert(tables.orders).values(values)
        if conn.dialect.insert_returning:
            return Order.from_row(
                conn.execute(insert.returning(*tables.orders.c)).mappings().one()
            )
        conn.execute(insert)
        order = _read(conn, values["merchant_uid"])
        assert order is not None
        return order

    def apply(
        self,
        merchant_uid: str,
        decide: Decide,
        *,
        source: str,
        inbox_id: int | None = None,
        finish: Finish | None = None,
        fuse: Fuse | None = None,
        connection: Connection | None = None,
        known: Order | None = None,
    ) -> Applied:
        """Decide and write a change to one order, atomically and exactly once.

        :param decide: given the connection and the order as just read, returns a
            :class:`Plan`, or ``None`` when nothing is to be done. It may read
            through the connection (only the order's own row is guarded by its
            version), must not write or do network I/O, and may be called several
            times (once per lost race).
        :param source: what caused the change, recorded in the history.
        :param inbox_id: the inbox row that caused it, if any.
        :param finish: called with the connection and the result, inside the same
            transaction, just before it commits, whether or not anything changed.
        :param fuse: what ``finish`` would write, as a ``Companion``: then the
            change goes as one statement where it can (:mod:`~flask_nicepay.fused`).
        :param connection: a connection with no transaction open to work on.
        :param known: the order as read a moment ago, to decide on first instead
            of reading it again. If it is stale, the swap fails on its version and
            the order is read; only a plan of nothing trusts it as it is.
        :raises UnknownOrderError: no such order.
        :raises InvalidTransitionError: the plan asks for an illegal move.
        :raises ConcurrencyError: the order kept changing under us.
        """
        with db.connection(connection or self.engine) as conn:
            for order, plan in _decisions(conn, merchant_uid, decide, known):
                with contextlib.suppress(_LostRace):
                    return self._apply_plan(
                        conn, order, plan, source, inbox_id, finish, fuse
                    )
        raise ConcurrencyError(f"Order {merchant_uid} kept changing; gave up.")

    def _fuses(self, conn: Connection, plan: Plan) -> bool:
        """Whether the change can go as one statement: nothing else shares it."""
        return self.on_transition is None and plan.also is None and fused.fusable(conn)

    def _apply_plan(
        self,
        conn: Connection,
        order: Order,
        plan: Plan | None,
        source: str,
        inbox_id: int | None,
        finish: Finish | None,
        fuse: Fuse | None,
    ) -> Applied:
        """Write ``plan`` by compare-and-swap on the version ``order`` was read at.

        Nothing to do costs no transaction: ``finish`` then writes on its own.
        """
        if plan is None:
            applied = Applied(order)
            if finish is not None:
                finish(conn, applied)
            return applied
        if fuse is not None and self._fuses(conn, plan):
            change = self._change(conn, order, plan, source)
            if change is not None:
                companion = fuse(change.applied)
                if not fused.write(conn, order, change, inbox_id, companion):
                    raise _LostRace
                return change.applied
        with db.write_transaction(conn):
            applied = self._write(conn, order, plan, source, inbox_id)
            if finish is not None:
                finish(conn, applied)
            return applied

    def _write(
        self,
        conn: Connection,
        order: Order,
        plan: Plan,
        source: str,
        inbox_id: int | None,
    ) -> Applied:
        change = self._change(conn, order, plan, source)
        if change is None:
            return Applied(order)
        _swap(conn, order, change.values)
        if plan.also is not None:
            plan.also(conn, order)
        for transition in change.applied.transitions:
            _record(conn, transition, inbox_id, change.now)
            if self.on_transition is not None:
                self.on_transition(conn, transition)
        return change.applied

    def _change(
        self, conn: Connection, order: Order, plan: Plan, source: str
    ) -> Change | None:
        """The values ``plan`` writes and what writing them does, or ``None`` when
        it writes nothing.

        :raises InvalidTransitionError: the plan asks for an illegal move.
        """
        changes = plan.changes(order)
        state, steps = order.state, []
        for event in plan.events:
            dest = fire(event, state)
            steps.append((event, state, dest))
            state = dest
        if not steps and not changes and plan.also is None:
            return None
        now = self.clock()
        values = {**changes, "state": state.value, "updated_at": now}
        values["version"] = order.version + 1
        after = _as_written(order, values, conn.dialect)
        transitions = tuple(
            Transition(
                event=event,
                from_state=before,
                to_state=dest,
                source=source,
                order=after,
                imp_uid=plan.imp_uid or after.imp_uid,
                detail=plan.detail,
                data=plan.data.get(event, {}),
            )
            for event, before, dest in steps
        )
        return Change(values, Applied(after, transitions, changed=True), now)


def _swap(conn: Connection, order: Order, values: dict[str, t.Any]) -> None:
    """The compare-and-swap: write ``values`` if the row is still at our version.

    The row as written is built from ``order`` and ``values`` (:func:`_as_written`)
    rather than read back: nothing but this write changes the row at the new
    version, and reading it back (``RETURNING`` every column) cost more than the
    write itself.

    :raises _LostRace: another writer changed the row first.
    """
    params = {**values, "_id": order.id, "_version": order.version}
    if conn.execute(_SWAP, params).rowcount != 1:
        raise _LostRace


def _as_written(order: Order, values: dict[str, t.Any], dialect: sa.Dialect) -> Order:
    """``order`` with ``values`` as the database hands them back when read.

    Each value goes through its column type both ways (a time comes back in UTC,
    an amount as the Decimal its hundredths make), so the order is the one a read
    would give.
    """
    written: dict[str, t.Any] = {}
    for name, value in values.items():
        kind = tables.orders.c[name].type
        if isinstance(kind, sa.TypeDecorator):
            value = kind.process_result_value(
                kind.process_bind_param(value, dialect), dialect
            )
        written[name] = value
    if "state" in written:
        written["state"] = OrderState(written["state"])
    return dataclasses.replace(order, **written)


def _decisions(
    conn: Connection, merchant_uid: str, decide: Decide, known: Order | None
) -> t.Iterator[tuple[Order, Plan | None]]:
    """The order and what to do to it, once per attempt of the swap.

    Each attempt reads the order afresh, outside any write transaction, but the
    first, which decides on ``known`` when it is given.
    """
    for _ in range(MAX_CAS_ATTEMPTS):
        with db.autocommit(conn):
            order = known or _read(conn, merchant_uid)
            if order is None:
                raise UnknownOrderError(merchant_uid)
            plan = decide(conn, order)
        known = None
        yield order, plan


def _read(conn: Connection, merchant_uid: str) -> Order | None:
    # Every read of an order by its id comes here: a value no order can have is
    # no order, never a statement some database refuses (NUL on PostgreSQL).
    if not can_be_id("merchant_uid", merchant_uid):
        return None
    row = conn.execute(_READ, {"_merchant_uid": merchant_uid}).mappings().first()
    return None if row is None else Order.from_row(row)


def _record(
    conn: Connection, transition: Transition, inbox_id: int | None, now: dt.datetime
) -> None:
    conn.execute(_HISTORY, fused.history_row(transition, inbox_id, now))
