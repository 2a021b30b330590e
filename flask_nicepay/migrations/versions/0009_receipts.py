"""Receipts: ``receipt_url`` on ``nicepay_orders`` and ``nicepay_refunds``.

PortOne's address of the payment's card slip, and of each cancel's, kept so a
store links them without asking PortOne again. Orders and refunds from before
have none: an order gets its receipt from its next look-up (``flask nicepay
reconcile --since``, a sync, the next notification). A database made from the
models before migrations has the columns already: only what is missing is done.

Revision ID: 0009_receipts
Revises: 0008_janitor_claims
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flask_nicepay.migrations.kit import text

revision = "0009_receipts"
down_revision = "0008_janitor_claims"
branch_labels = None
depends_on = None

_TABLES = ("nicepay_orders", "nicepay_refunds")
_COLUMN = "receipt_url"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table in _TABLES:
        if _COLUMN not in {c["name"] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column(_COLUMN, text(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(_COLUMN)
