"""The tables of the first release, 0.1.0.

Orders, their history, the inbox (its body still text), the refund ledger and
billing keys.

Revision ID: 0001_first_release
Revises: none
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
from flask_nicepay.migrations.kit import text

revision = "0001_first_release"
down_revision = None
branch_labels = None
depends_on = None

_ORDERS = (
    ("merchant_uid", sa.String(40), REQUIRED),
    ("state", sa.String(24), REQUIRED),
    ("version", sa.Integer(), REQUIRED),
    ("amount", MONEY, REQUIRED),
    ("currency", sa.String(3), REQUIRED),
    ("tax_free", MONEY, OPTIONAL),
    ("vat_amount", MONEY, OPTIONAL),
    ("name", sa.String(255), REQUIRED),
    ("buyer_name", text(64), OPTIONAL),
    ("buyer_email", text(128), OPTIONAL),
    ("buyer_tel", text(32), OPTIONAL),
    ("buyer_addr", text(255), OPTIONAL),
    ("buyer_postcode", text(16), OPTIONAL),
    ("origin", sa.String(16), REQUIRED),
    ("pay_method", text(20), OPTIONAL),
    ("customer_uid", text(80), OPTIONAL),
    ("scheduled_at", TIME, OPTIONAL),
    ("imp_uid", text(32), OPTIONAL),
    ("paid_amount", MONEY, REQUIRED),
    ("cancelled_amount", MONEY, REQUIRED),
    ("vbank_code", text(8), OPTIONAL),
    ("vbank_name", text(64), OPTIONAL),
    ("vbank_num", text(32), OPTIONAL),
    ("vbank_holder", text(64), OPTIONAL),
    ("vbank_due", TIME, OPTIONAL),
    ("paid_at", TIME, OPTIONAL),
    ("failed_at", TIME, OPTIONAL),
    ("cancelled_at", TIME, OPTIONAL),
    ("expired_at", TIME, OPTIONAL),
    ("fail_reason", text(), OPTIONAL),
    ("cancel_reason", text(), OPTIONAL),
    ("mismatch_reason", text(), OPTIONAL),
    ("late_payment", sa.Boolean(), REQUIRED),
    ("prepared", sa.Boolean(), REQUIRED),
    ("custom_data", text(), OPTIONAL),
    ("snapshot_key", text(128), OPTIONAL),
    ("created_at", TIME, REQUIRED),
    ("updated_at", TIME, REQUIRED),
)
_HISTORY = (
    ("order_id", ID, REQUIRED),
    ("merchant_uid", sa.String(40), REQUIRED),
    ("from_state", sa.String(24), REQUIRED),
    ("to_state", sa.String(24), REQUIRED),
    ("event", sa.String(32), REQUIRED),
    ("source", sa.String(16), REQUIRED),
    ("imp_uid", text(32), OPTIONAL),
    ("detail", text(), OPTIONAL),
    ("inbox_id", ID, OPTIONAL),
    ("created_at", TIME, REQUIRED),
)
_INBOX = (
    ("kind", sa.String(16), REQUIRED),
    ("received_at", TIME, REQUIRED),
    ("remote_addr", text(64), OPTIONAL),
    ("method", text(8), OPTIONAL),
    ("path", text(255), OPTIONAL),
    ("content_type", text(128), OPTIONAL),
    ("body", text(), OPTIONAL),
    ("body_truncated", sa.Boolean(), REQUIRED),
    ("hint_imp_uid", text(64), OPTIONAL),
    ("hint_merchant_uid", text(64), OPTIONAL),
    ("hint_status", text(32), OPTIONAL),
    ("imp_uid", text(32), OPTIONAL),
    ("merchant_uid", text(40), OPTIONAL),
    ("dedupe_key", text(128), OPTIONAL),
    ("outcome", sa.String(16), REQUIRED),
    ("error", text(), OPTIONAL),
    ("attempts", sa.Integer(), REQUIRED),
    ("processed_at", TIME, OPTIONAL),
)
_REFUNDS = (
    ("order_id", ID, REQUIRED),
    ("merchant_uid", sa.String(40), REQUIRED),
    ("imp_uid", text(32), OPTIONAL),
    ("amount", MONEY, REQUIRED),
    ("tax_free", MONEY, OPTIONAL),
    ("vat_amount", MONEY, OPTIONAL),
    ("checksum", MONEY, OPTIONAL),
    ("reason", text(), OPTIONAL),
    ("status", sa.String(16), REQUIRED),
    ("source", sa.String(16), REQUIRED),
    ("guard_key", sa.String(64), OPTIONAL),
    ("cancellation_id", text(64), OPTIONAL),
    ("pg_tid", text(64), OPTIONAL),
    ("refund_bank", text(8), OPTIONAL),
    ("refund_holder", text(64), OPTIONAL),
    ("refund_account_masked", text(32), OPTIONAL),
    ("error", text(), OPTIONAL),
    ("requested_at", TIME, REQUIRED),
    ("completed_at", TIME, OPTIONAL),
)
_BILLING_KEYS = (
    ("customer_uid", sa.String(80), REQUIRED),
    ("pg_provider", text(16), OPTIONAL),
    ("card_name", text(64), OPTIONAL),
    ("card_code", text(8), OPTIONAL),
    ("card_number", text(32), OPTIONAL),
    ("card_type", sa.Integer(), OPTIONAL),
    ("customer_name", text(64), OPTIONAL),
    ("customer_email", text(128), OPTIONAL),
    ("status", sa.String(16), REQUIRED),
    ("created_at", TIME, REQUIRED),
    ("updated_at", TIME, REQUIRED),
)
#: Index name, table, columns.
_INDEXES = (
    ("ix_nicepay_orders_state_updated", "nicepay_orders", ["state", "updated_at"]),
    ("ix_nicepay_orders_updated_at", "nicepay_orders", ["updated_at"]),
    ("ix_nicepay_orders_imp_uid", "nicepay_orders", ["imp_uid"]),
    ("ix_nicepay_history_merchant_uid", "nicepay_history", ["merchant_uid"]),
    ("ix_nicepay_inbox_outcome", "nicepay_inbox", ["outcome"]),
    ("ix_nicepay_inbox_merchant_uid", "nicepay_inbox", ["merchant_uid"]),
    ("ix_nicepay_inbox_dedupe_key", "nicepay_inbox", ["dedupe_key"]),
    ("ix_nicepay_refunds_merchant_uid", "nicepay_refunds", ["merchant_uid"]),
)


def _belongs_to_order(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["order_id"], ["nicepay_orders.id"], name=f"fk_{table}_order_id_nicepay_orders"
    )


def upgrade() -> None:
    op.create_table(
        "nicepay_orders",
        *key("nicepay_orders"),
        *columns(_ORDERS),
        sa.UniqueConstraint("merchant_uid", name="uq_nicepay_orders_merchant_uid"),
    )
    op.create_table(
        "nicepay_history",
        *key("nicepay_history"),
        *columns(_HISTORY),
        _belongs_to_order("nicepay_history"),
    )
    op.create_table("nicepay_inbox", *key("nicepay_inbox"), *columns(_INBOX))
    op.create_table(
        "nicepay_refunds",
        *key("nicepay_refunds"),
        *columns(_REFUNDS),
        _belongs_to_order("nicepay_refunds"),
        sa.UniqueConstraint("guard_key", name="uq_nicepay_refunds_guard_key"),
    )
    op.create_table(
        "nicepay_billing_keys",
        *columns(_BILLING_KEYS),
        *key("nicepay_billing_keys", "customer_uid"),
    )
    for name, table, on in _INDEXES:
        op.create_index(name, table, on)


def downgrade() -> None:
    for name in (
        "nicepay_billing_keys",
        "nicepay_refunds",
        "nicepay_inbox",
        "nicepay_history",
        "nicepay_orders",
    ):
        op.drop_table(name)
