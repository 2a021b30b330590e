"""Subscriptions: ``nicepay_subscriptions`` and ``nicepay_subscription_charges``.

Before migrations ``flask nicepay init-db`` created these tables on an existing
database; where they are there already, nothing is done.

Revision ID: 0004_subscriptions
Revises: 0003_card_attempts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flask_nicepay.migrations.kit import ID
from flask_nicepay.migrations.kit import MONEY
from flask_nicepay.migrations.kit import OPTIONAL
from flask_nicepay.migrations.kit import REQUIRED
from flask_nicepay.migrations.kit import TIME
from flask_nicepay.migrations.kit import columns
from flask_nicepay.migrations.kit import key
from flask_nicepay.migrations.kit import table_exists
from flask_nicepay.migrations.kit import text

revision = "0004_subscriptions"
down_revision = "0003_card_attempts"
branch_labels = None
depends_on = None

_SUBSCRIPTIONS = (
    ("subscription_uid", sa.String(40), REQUIRED),
    ("customer_uid", sa.String(80), REQUIRED),
    ("status", sa.String(16), REQUIRED),
    ("version", sa.Integer(), REQUIRED),
    ("name", sa.String(255), REQUIRED),
    ("amount", MONEY, REQUIRED),
    ("currency", sa.String(3), REQUIRED),
    ("tax_free", MONEY, OPTIONAL),
    ("vat_amount", MONEY, OPTIONAL),
    ("interval_unit", sa.String(8), REQUIRED),
    ("interval_count", sa.Integer(), REQUIRED),
    ("interval_day", sa.Integer(), OPTIONAL),
    ("anchor_at", TIME, REQUIRED),
    ("anchor_period", sa.Integer(), REQUIRED),
    ("period", sa.Integer(), REQUIRED),
    ("period_start", TIME, OPTIONAL),
    ("period_end", TIME, OPTIONAL),
    ("pending_merchant_uid", text(40), OPTIONAL),
    ("cancel_at_period_end", sa.Boolean(), REQUIRED),
    ("fail_reason", text(), OPTIONAL),
    ("claimed_until", TIME, OPTIONAL),
    ("created_at", TIME, REQUIRED),
    ("updated_at", TIME, REQUIRED),
    ("ended_at", TIME, OPTIONAL),
)
_CHARGES = (
    ("merchant_uid", sa.String(40), REQUIRED),
    ("subscription_id", ID, REQUIRED),
    ("period", sa.Integer(), REQUIRED),
    ("attempt", sa.Integer(), REQUIRED),
    ("created_at", TIME, REQUIRED),
)


def _subscriptions() -> None:
    table = "nicepay_subscriptions"
    op.create_table(
        table,
        *key(table),
        *columns(_SUBSCRIPTIONS),
        sa.UniqueConstraint("subscription_uid", name=f"uq_{table}_subscription_uid"),
    )
    op.create_index(f"ix_{table}_customer_uid", table, ["customer_uid"])
    op.create_index(f"ix_{table}_status", table, ["status"])


def _charges() -> None:
    table = "nicepay_subscription_charges"
    op.create_table(
        table,
        *columns(_CHARGES),
        *key(table, "merchant_uid"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["nicepay_subscriptions.id"],
            # The name the models' naming convention gives it, cut to
            # PostgreSQL's 63 characters as SQLAlchemy cuts it.
            name="fk_nicepay_subscription_charges_subscription_id_nicepay_ceed",
        ),
    )
    op.create_index(f"ix_{table}_subscription", table, ["subscription_id"])


def upgrade() -> None:
    if not table_exists("nicepay_subscriptions"):
        _subscriptions()
    if not table_exists("nicepay_subscription_charges"):
        _charges()


def downgrade() -> None:
    op.drop_table("nicepay_subscription_charges")
    op.drop_table("nicepay_subscriptions")
