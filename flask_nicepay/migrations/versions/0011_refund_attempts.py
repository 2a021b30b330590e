"""``attempts`` on ``nicepay_refunds``: how many times the cancel was sent.

An automatic cancel (of a payment that failed verification, or that arrived for an
order that cannot take it) that PortOne refused is sent again by the janitor, with a
fresh checksum, up to ``NICEPAY_JANITOR_MAX_ATTEMPTS`` times; this column is what
bounds it. Every row written before holds one attempt, the server's default, so
the upgrade rewrites nothing by hand.

Revision ID: 0011_refund_attempts
Revises: 0010_inbox_hint_order
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_refund_attempts"
down_revision = "0010_inbox_hint_order"
branch_labels = None
depends_on = None

_TABLE = "nicepay_refunds"
_COLUMN = "attempts"


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(_TABLE)}
    if _COLUMN not in have:
        with op.batch_alter_table(_TABLE) as batch:
            batch.add_column(
                sa.Column(_COLUMN, sa.Integer, nullable=False, server_default="1")
            )


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_column(_COLUMN)
