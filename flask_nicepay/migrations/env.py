"""Alembic's environment for the plugin's own migrations.

Run by :mod:`flask_nicepay.migrations` on the connection it passes in
``config.attributes["connection"]``, inside the transaction it holds (one process
at a time, see :func:`flask_nicepay.db.schema_transaction`). Only the ``nicepay_*``
tables are looked at, and the plugin's revisions are recorded in their own
version table, so a store's own Alembic history is never touched.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from alembic import context

from flask_nicepay import tables
from flask_nicepay.migrations import VERSION_TABLE
from flask_nicepay.migrations import plugin_tables_only

#: How a column type of the models is written into a new revision: as the plain
#: type it is stored as, so a revision never depends on the models' code.
_STORED_AS = {
    tables.Money: "sa.BigInteger()",
    tables.UTCDateTime: "sa.DateTime(timezone=True)",
}


def render_item(
    kind: str, item: t.Any, autogen_context: t.Any
) -> str | t.Literal[False]:
    """Write the models' own column types as the types they are stored as."""
    if kind == "type" and type(item) in _STORED_AS:
        return _STORED_AS[type(item)]
    return False


def run() -> None:
    """Migrate on the connection handed over by :mod:`flask_nicepay.migrations`."""
    connection: sa.Connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=tables.metadata,
        version_table=VERSION_TABLE,
        include_name=plugin_tables_only,
        render_item=render_item,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
