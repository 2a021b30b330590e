"""The janitor's claims: ``claimed_until`` on the inbox, the orders and the refunds.

A janitor takes a row by compare-and-swap on this column before it asks PortOne
about it, so two janitors never both ask about the same row; the claim lapses by
itself when its holder dies. Nullable, so the upgrade writes no row.

Revision ID: 0008_janitor_claims
Revises: 0007_console_progress
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flask_nicepay.migrations.kit import TIME

revision = "0008_janitor_claims"
down_revision = "0007_console_progress"
branch_labels = None
depends_on = None

_TABLES = ("nicepay_inbox", "nicepay_orders", "nicepay_refunds")
_COLUMN = "claimed_until"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in _TABLES:
        if _COLUMN not in {c["name"] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column(_COLUMN, TIME, nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(_COLUMN)
