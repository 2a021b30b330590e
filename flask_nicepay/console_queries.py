"""What the operator console reads: each page is one query, whatever the table holds.

The order list pages by id (newest first, ``before`` the last id shown), so a page
costs one indexed ``SELECT … LIMIT`` and no ``COUNT``: the time and the number of
statements stay the same with 100 orders or 100,000. A search is an equality on
``merchant_uid``, ``imp_uid``, ``buyer_email`` or ``buyer_name``, each indexed
(``tables.py``), so it never scans the table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping
from werkzeug.datastructures import MultiDict

from . import tables
from .inbound import is_storable
from .machine import OrderState
from .store import Order

#: Where an order came from (``nicepay_orders.origin``).
ORIGINS = ("checkout", "onetime", "again", "schedule", "vbank", "adopted")
#: Orders on one page of the list.
PAGE_SIZE = 50
#: The console shows dates, and reads date filters, in Korean time.
KST = dt.timezone(dt.timedelta(hours=9), "KST")


class BadForm(Exception):
    """A form or query the console cannot read; answered 400."""


@dataclasses.dataclass(frozen=True, slots=True)
class OrderFilter:
    """The order list's filters, as read from the query string."""

    states: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    pay_method: str | None = None
    origin: str | None = None
    q: str | None = None
    before: int | None = None

    @classmethod
    def read(cls, args: MultiDict[str, str]) -> OrderFilter:
        """Read and check the filters.

        :raises BadForm: a filter names no state, origin, date or page.
        """
        states = tuple(s for s in args.getlist("state") if s)
        known = {s.value for s in OrderState}
        if set(states) - known:
            raise BadForm(f"state must be one of {', '.join(sorted(known))}")
        origin = args.get("origin") or None
        if origin is not None and origin not in ORIGINS:
            raise BadForm(f"origin must be one of {', '.join(ORIGINS)}")
        return cls(
            states=states,
            since=_date(args.get("from")),
            until=_date(args.get("to")),
            pay_method=_short(args.get("pay_method"), 20),
            origin=origin,
            q=_short((args.get("q") or "").strip(), 128),
            before=page_number(args.get("before")),
        )

    def args(self, **changes: t.Any) -> dict[str, t.Any]:
        """These filters as query arguments (for the next page's link)."""
        values = dataclasses.replace(self, **changes)
        out: dict[str, t.Any] = {
            "state": list(values.states),
            "from": values.since.isoformat() if values.since else None,
            "to": values.until.isoformat() if values.until else None,
            "pay_method": values.pay_method,
            "origin": values.origin,
            "q": values.q,
            "before": values.before,
        }
        return {k: v for k, v in out.items() if v not in (None, [], "")}


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadForm(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _short(text: str | None, length: int) -> str | None:
    if not text:
        return None
    if len(text) > length:
        raise BadForm(f"at most {length} characters")
    # No column holds such text, and PostgreSQL refuses to compare with a NUL.
    if not is_storable(text):
        raise BadForm("no NUL or lone surrogates")
    return text


def page_number(text: str | None) -> int | None:
    """A page's ``before``: the id the page starts below.

    :raises BadForm: it is no id.
    """
    if not text:
        return None
    if not text.isdigit() or len(text) > 18:
        raise BadForm("before must be an id")
    return int(text)


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), KST)


def list_orders(
    engine: Engine, wanted: OrderFilter, *, limit: int = PAGE_SIZE
) -> tuple[list[Order], int | None]:
    """One page of orders, newest first, and the ``before`` of the next page."""
    column = tables.orders.c
    query = sa.select(tables.orders).order_by(column.id.desc()).limit(limit + 1)
    if wanted.states:
        query = query.where(column.state.in_(wanted.states))
    if wanted.since is not None:
        query = query.where(column.created_at >= _start_of(wanted.since))
    if wanted.until is not None:
        end = _start_of(wanted.until + dt.timedelta(days=1))
        query = query.where(column.created_at < end)
    if wanted.pay_method is not None:
        query = query.where(column.pay_method == wanted.pay_method)
    if wanted.origin is not None:
        query = query.where(column.origin == wanted.origin)
    if wanted.q is not None:
        query = query.where(_search(wanted.q))
    if wanted.before is not None:
        query = query.where(column.id < wanted.before)
    with engine.connect() as conn:
        found = [Order.from_row(row) for row in conn.execute(query).mappings()]
    more = len(found) > limit
    return found[:limit], found[limit - 1].id if more else None


def _search(text: str) -> sa.ColumnElement[bool]:
    column = tables.orders.c
    return sa.or_(
        column.merchant_uid == text,
        column.imp_uid == text,
        column.buyer_email == text,
        column.buyer_name == text,
    )


def awaiting_deposit(engine: Engine, *, limit: int = 200) -> list[Order]:
    """Virtual accounts issued and not paid, the nearest deadline first."""
    column = tables.orders.c
    query = (
        sa.select(tables.orders)
        .where(column.state == OrderState.VBANK_ISSUED.value)
        .order_by(column.vbank_due.asc().nulls_last(), column.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [Order.from_row(row) for row in conn.execute(query).mappings()]


def newest_first(
    engine: Engine,
    table: sa.Table,
    column: sa.Column[t.Any],
    values: t.Iterable[str],
    *,
    where: t.Iterable[sa.ColumnElement[bool]] = (),
    before: int | None = None,
    limit: int = PAGE_SIZE,
    shown: t.Sequence[sa.Column[t.Any]] | None = None,
) -> tuple[list[RowMapping], int | None]:
    """One page of ``table``'s rows whose ``column`` is one of ``values``, newest
    (highest id) first, and the ``before`` of the next page.

    Each value is its own ``… WHERE column = :value ORDER BY id DESC LIMIT`` on an
    index that starts ``(column, …, id)``, and the branches are merged: a page
    reads at most ``limit + 1`` index entries per value, however many rows the
    table holds and however rare the values asked for are.

    :param shown: the columns to read (default: all).
    """
    conditions = [*where] + ([] if before is None else [table.c.id < before])
    branches = [
        sa.select(*(shown or table.c))
        .where(column == value, *conditions)
        .order_by(table.c.id.desc())
        .limit(limit + 1)
        .subquery()
        for value in values
    ]
    merged = sa.union_all(*(sa.select(branch) for branch in branches)).subquery()
    query = sa.select(merged).order_by(merged.c.id.desc()).limit(limit + 1)
    with engine.connect() as conn:
        found = list(conn.execute(query).mappings())
    more = len(found) > limit
    return found[:limit], int(found[limit - 1]["id"]) if more else None


#: What the notification list shows of each notification (not its body).
_LISTED = [c for c in tables.inbox.c if c.name != "body"]


def notifications_page(
    engine: Engine, outcomes: t.Sequence[str], kind: str | None, before: int | None
) -> tuple[list[RowMapping], int | None]:
    """One page of notifications with these outcomes (of one kind, if given),
    newest first, read on ``ix_nicepay_inbox_outcome_id`` or, for one kind,
    ``ix_nicepay_inbox_outcome_kind_id``."""
    inbox = tables.inbox.c
    where = [] if kind is None else [inbox.kind == kind]
    return newest_first(
        engine,
        tables.inbox,
        inbox.outcome,
        outcomes,
        where=where,
        before=before,
        shown=_LISTED,
    )
