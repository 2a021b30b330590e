"""Key-in payments: ``nicepay_key_in_claims``, and card attempts that name an order.

``nicepay_card_attempts.customer_uid`` may be empty and a ``merchant_uid`` column
with its index is added; the claims table says who may call PortOne for an order
now. Before migrations ``flask nicepay init-db`` created the claims table on an
existing database, and a database made since has it all: only what is missing is
done.

Revision ID: 0005_key_in_payments
Revises: 0004_subscriptions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flask_nicepay.migrations.kit import REQUIRED
from flask_nicepay.migrations.kit import TIME
from flask_nicepay.migrations.kit import columns
from flask_nicepay.migrations.kit import key
from flask_nicepay.migrations.kit import table_exists

revision = "0005_key_in_payments"
down_revision = "0004_subscriptions"
branch_labels = None
depends_on = None

_ATTEMPTS = "nicepay_card_attempts"
_ORDER_INDEX = "ix_nicepay_card_attempts_order"
_CLAIMS = "nicepay_key_in_claims"
_CLAIM_COLUMNS = (
    ("holder", sa.String(32), REQUIRED),
    ("status", sa.String(8), REQUIRED),
    ("claimed_at", TIME, REQUIRED),
    ("expires_at", TIME, REQUIRED),
)


def _attempts_name_orders() -> None:
    inspector = sa.inspect(op.get_bind())
    found = {c["name"] for c in inspector.get_columns(_ATTEMPTS)}
    indexes = {i["name"] for i in inspector.get_indexes(_ATTEMPTS)}
    with op.batch_alter_table(_ATTEMPTS) as batch:
        batch.alter_column("customer_uid", existing_type=sa.String(80), nullable=True)
        if "merchant_uid" not in found:
            batch.add_column(sa.Column("merchant_uid", sa.String(40), nullable=True))
    if _ORDER_INDEX not in indexes:
        op.create_index(_ORDER_INDEX, _ATTEMPTS, ["merchant_uid", "attempted_at"])


def upgrade() -> None:
    _attempts_name_orders()
    if not table_exists(_CLAIMS):
        op.create_table(
            _CLAIMS,
            sa.Column("merchant_uid", sa.String(40), nullable=False),
            *columns(_CLAIM_COLUMNS),
            *key(_CLAIMS, "merchant_uid"),
        )


def downgrade() -> None:
    op.drop_table(_CLAIMS)
    op.drop_index(_ORDER_INDEX, table_name=_ATTEMPTS)
    # Attempts of key-in payments name no customer: 0004 cannot hold them.
    op.execute("DELETE FROM nicepay_card_attempts WHERE customer_uid IS NULL")
    with op.batch_alter_table(_ATTEMPTS) as batch:
        batch.drop_column("merchant_uid")
        batch.alter_column("customer_uid", existing_type=sa.String(80), nullable=False)
