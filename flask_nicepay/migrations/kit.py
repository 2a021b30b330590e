"""What the revisions build their tables from, so each one reads as a list.

Revisions are history: what is here must keep meaning what it meant when they
were written. A new kind of column gets a new name rather than a changed one.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from alembic import op

#: A surrogate key: ``BIGINT`` (``BIGSERIAL`` as a key) on PostgreSQL, and on
#: SQLite the ``INTEGER`` that makes it the rowid.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: An amount in whole hundredths (:class:`flask_nicepay.tables.Money`).
MONEY = sa.BigInteger()
#: A moment in UTC (:class:`flask_nicepay.tables.UTCDateTime`).
TIME = sa.DateTime(timezone=True)
#: Whether a column may hold ``NULL``, as the specs below say it.
REQUIRED, OPTIONAL = False, True

#: A column as a revision lists it: name, type, and REQUIRED or OPTIONAL.
Spec = tuple[str, sa.types.TypeEngine[t.Any], bool]


def text(length: int | None = None) -> sa.types.TypeEngine[t.Any]:
    """``VARCHAR(length)``, or ``TEXT`` when no length is given."""
    return sa.String(length) if length else sa.Text()


def key(table: str, *names: str) -> list[sa.schema.SchemaItem]:
    """The primary key of ``table``, named ``pk_<table>``: the surrogate ``id``
    column when no ``names`` are given, else those columns."""
    if names:
        return [sa.PrimaryKeyConstraint(*names, name=f"pk_{table}")]
    column = sa.Column("id", ID, autoincrement=True, nullable=False)
    return [column, sa.PrimaryKeyConstraint("id", name=f"pk_{table}")]


def columns(specs: t.Iterable[Spec]) -> list[sa.Column[t.Any]]:
    """New columns for ``specs`` (a column belongs to one table only, so each
    run of a revision needs its own)."""
    return [sa.Column(name, type_, nullable=null) for name, type_, null in specs]


def table_exists(name: str) -> bool:
    """Whether ``name`` is there already (for the revisions that may find it
    created by ``flask nicepay init-db`` before migrations existed)."""
    return name in sa.inspect(op.get_bind()).get_table_names()
