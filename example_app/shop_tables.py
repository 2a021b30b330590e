"""The shop's own tables, beside the plugin's in the same database.

They are the shop's, not the plugin's: they are created at start-up here, not by
the plugin's migrations. A real store keeps tables like these in its own Alembic
or Flask-Migrate history.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from flask_nicepay.tables import Money
from flask_nicepay.tables import UTCDateTime

metadata = sa.MetaData()

shop_orders = sa.Table(
    "shop_orders",
    metadata,
    sa.Column("merchant_uid", sa.String(40), primary_key=True),
    sa.Column("product", sa.String(32), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("buyer_email", sa.String(128)),
    # The shop's own view of the order, kept in step with the payment.
    sa.Column("status", sa.String(32), nullable=False),
)

#: How many of each product are left to sell. Goes down when an order is made,
#: back up when its reservation is released.
shop_stock = sa.Table(
    "shop_stock",
    metadata,
    sa.Column("product", sa.String(32), primary_key=True),
    sa.Column("available", sa.Integer, nullable=False),
)

#: One row per order: what it holds of the stock, and whether it still does.
#: ``state`` is ``held`` (ordered, not paid), ``sold`` (paid) or ``released``
#: (back in stock); every change is a compare-and-swap on it.
shop_reservations = sa.Table(
    "shop_reservations",
    metadata,
    sa.Column("merchant_uid", sa.String(40), primary_key=True),
    sa.Column("product", sa.String(32), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
)

#: One receipt per paid order, whatever number of times its payment is reported.
shop_receipts = sa.Table(
    "shop_receipts",
    metadata,
    sa.Column("receipt_no", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("merchant_uid", sa.String(40), nullable=False, unique=True),
    sa.Column("amount", Money, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("pay_method", sa.String(32)),
    sa.Column("paid_at", UTCDateTime),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
)


def insert_new(
    conn: Connection, table: sa.Table, rows: t.Sequence[t.Mapping[str, t.Any]]
) -> int:
    """Insert the rows whose key is not taken yet; how many went in.

    Concurrent callers with the same key insert it once: PostgreSQL and SQLite
    skip a taken key (``ON CONFLICT DO NOTHING``), others fall back to a
    savepoint per row.
    """
    if not rows:
        return 0
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        insert = postgresql.insert if name == "postgresql" else sqlite.insert
        statement = insert(table).values(list(rows)).on_conflict_do_nothing()
        keys = table.primary_key.columns
        return len(conn.execute(statement.returning(*keys)).all())
    inserted = 0
    for row in rows:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(table).values(row))
            inserted += 1
        except IntegrityError:
            pass
    return inserted
