"""An order's change written as one statement, on PostgreSQL.

A change of an order is its compare-and-swap, a history row per transition, and the
write that keeps what caused it (a notification's outcome), committed together or
not at all. In a transaction that is five round trips: ``BEGIN``, three statements,
``COMMIT``. PostgreSQL runs data-modifying ``WITH`` clauses in one statement, which
commits by itself, so when nothing else shares the transaction (no
``on_transition`` hook, no extra step in the plan) the store sends this instead:

.. code-block:: sql

    WITH swapped AS (UPDATE nicepay_orders SET ...
                     WHERE id = :id AND version = :version RETURNING id, merchant_uid),
         history AS (INSERT INTO nicepay_history (...) SELECT ... FROM swapped),
         companion AS (UPDATE nicepay_inbox SET ...
                       WHERE id = :entry AND EXISTS (SELECT swapped.id FROM swapped))
    SELECT count(*) FROM swapped

The history rows and the companion write select from the swap's ``RETURNING``: a
swap that lost its race writes none of them, and the statement answers 0.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import tables
from .db import autocommit
from .order_values import Applied
from .order_values import Change
from .order_values import Order
from .order_values import Transition

#: What differs from one transition's history row to the next.
_PER_TRANSITION = ("from_state", "to_state", "event", "imp_uid", "detail")
#: What every history row of one change shares.
_SHARED = ("source", "inbox_id", "created_at")


@dataclasses.dataclass(frozen=True, slots=True)
class Companion:
    """A write that commits with an order's change or not at all.

    :param statement: an ``UPDATE`` built once (the same object every time, so
        that the fused statement is built once per shape, too).
    :param params: what to run it with. No name may start with ``o_`` or ``h_``
        (the change's own), nor be a column's name: SQLAlchemy adds a parameter
        named as a column to the ``SET`` clause of every ``UPDATE`` it runs with.
    """

    statement: sa.Update
    params: t.Mapping[str, t.Any]


#: Given what a change does, the write that goes with it (``None``: nothing).
Fuse = t.Callable[[Applied], Companion | None]


def fusable(conn: Connection) -> bool:
    """Whether ``conn``'s database runs a change as one statement."""
    return conn.dialect.name == "postgresql"


def write(
    conn: Connection,
    order: Order,
    change: Change,
    inbox_id: int | None,
    companion: Companion | None,
) -> bool:
    """Write ``change`` to ``order`` as one statement that commits by itself, with
    its history rows and ``companion``; whether the swap won (``False``: another
    writer changed the row first, and nothing was written).

    :param conn: a connection with no transaction open, on PostgreSQL.
    """
    history = [history_row(t, inbox_id, change.now) for t in change.applied.transitions]
    shape = statement(
        tuple(change.values),
        len(history),
        None if companion is None else companion.statement,
    )
    found = params(order.id, order.version, change.values, history, companion)
    with autocommit(conn):
        return int(conn.execute(shape, found).scalar_one()) == 1


def history_row(
    transition: Transition, inbox_id: int | None, now: dt.datetime
) -> dict[str, t.Any]:
    """A transition's row of ``nicepay_history``."""
    return {
        "order_id": transition.order.id,
        "merchant_uid": transition.order.merchant_uid,
        "from_state": transition.from_state.value,
        "to_state": transition.to_state.value,
        "event": transition.event,
        "source": transition.source,
        "imp_uid": transition.imp_uid,
        "detail": transition.detail,
        "inbox_id": inbox_id,
        "created_at": now,
    }


def params(
    order_id: int,
    version: int,
    values: t.Mapping[str, t.Any],
    history: t.Sequence[t.Mapping[str, t.Any]],
    companion: Companion | None,
) -> dict[str, t.Any]:
    """The parameters of :func:`statement` for one change.

    :param order_id: the order's id.
    :param version: the version it was read at.
    :param values: the columns to set.
    :param history: one row per transition, each with every column of
        ``nicepay_history`` but ``order_id`` and ``merchant_uid``.
    """
    found: dict[str, t.Any] = {"o__id": order_id, "o__version": version}
    found.update({f"o_{name}": value for name, value in values.items()})
    for name in _SHARED:
        found[f"h_{name}"] = history[0][name] if history else None
    for number, row in enumerate(history):
        found.update({f"h{number}_{name}": row[name] for name in _PER_TRANSITION})
    if companion is not None:
        found.update(companion.params)
    return found


@functools.lru_cache(maxsize=64)
def statement(
    columns: tuple[str, ...], transitions: int, companion: sa.Update | None
) -> sa.Select[t.Any]:
    """The change as one statement: set ``columns`` by compare-and-swap, write
    ``transitions`` history rows and run ``companion``, all only if the swap wrote.

    Its one value is the number of orders swapped: 1, or 0 for a lost race.
    """
    orders = tables.orders
    swap = (
        sa.update(orders)
        .where(orders.c.id == sa.bindparam("o__id"))
        .where(orders.c.version == sa.bindparam("o__version"))
        .values({name: _bind(f"o_{name}", orders.c[name]) for name in columns})
        .returning(orders.c.id, orders.c.merchant_uid)
        .cte("swapped")
    )
    query = sa.select(sa.func.count()).select_from(swap)
    if transitions:
        query = query.add_cte(_history(swap, transitions))
    if companion is not None:
        wrote = sa.exists(sa.select(swap.c.id))
        query = query.add_cte(companion.where(wrote).cte("companion"))
    return query


def _history(swap: sa.CTE, transitions: int) -> sa.CTE:
    """``INSERT`` one history row per transition, each naming the swapped order."""
    history = tables.history
    shared = [_bind(f"h_{name}", history.c[name]) for name in _SHARED]
    rows = [
        sa.select(
            swap.c.id,
            swap.c.merchant_uid,
            *(_bind(f"h{n}_{name}", history.c[name]) for name in _PER_TRANSITION),
            *shared,
        )
        for n in range(transitions)
    ]
    names = ["order_id", "merchant_uid", *_PER_TRANSITION, *_SHARED]
    source = rows[0] if transitions == 1 else sa.union_all(*rows)
    return sa.insert(history).from_select(names, source).cte("history")


def _bind(name: str, column: sa.Column[t.Any]) -> sa.BindParameter[t.Any]:
    return sa.bindparam(name, type_=column.type)
