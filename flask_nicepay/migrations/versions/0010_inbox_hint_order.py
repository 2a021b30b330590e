"""A partial index on ``nicepay_inbox.hint_merchant_uid`` of the rows still waiting.

The confirming page asks, for one order, whether a notification about it still
waits for a worker. A row still ``received`` knows its order only from the hint
(``merchant_uid`` is filled in by processing), so without this index that
question read every waiting row, and a backlog (a broker outage, a burst) made each
poll of each buyer's page slower. A database made from the models before
migrations has the index already: only what is missing is done. Only rows still
``received`` are in it, so it stays as small as the backlog.

Revision ID: 0010_inbox_hint_order
Revises: 0009_receipts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_inbox_hint_order"
down_revision = "0009_receipts"
branch_labels = None
depends_on = None

_TABLE = "nicepay_inbox"
_INDEX = "ix_nicepay_inbox_waiting"
_WAITING = sa.text("outcome = 'received'")


def upgrade() -> None:
    have = {str(i["name"]) for i in sa.inspect(op.get_bind()).get_indexes(_TABLE)}
    if _INDEX not in have:
        op.create_index(
            _INDEX,
            _TABLE,
            ["hint_merchant_uid"],
            sqlite_where=_WAITING,
            postgresql_where=_WAITING,
        )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name=_TABLE)
