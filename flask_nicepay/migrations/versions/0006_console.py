"""The operator console: ``nicepay_console_actions`` and the indexes its order list
reads.

Each console action is recorded with who did it; the list of orders filters by
state, day and buyer, newest first, through four indexes on ``nicepay_orders``.
Before migrations ``flask nicepay init-db`` created the table on an existing
database but not the indexes: only what is missing is done.

Revision ID: 0006_console
Revises: 0005_key_in_payments
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flask_nicepay.migrations.kit import ID
from flask_nicepay.migrations.kit import OPTIONAL
from flask_nicepay.migrations.kit import REQUIRED
from flask_nicepay.migrations.kit import TIME
from flask_nicepay.migrations.kit import columns
from flask_nicepay.migrations.kit import key
from flask_nicepay.migrations.kit import table_exists
from flask_nicepay.migrations.kit import text

revision = "0006_console"
down_revision = "0005_key_in_payments"
branch_labels = None
depends_on = None

_ACTIONS = "nicepay_console_actions"
_ACTION_COLUMNS = (
    ("actor", sa.String(128), REQUIRED),
    ("action", sa.String(32), REQUIRED),
    ("target", text(80), OPTIONAL),
    ("detail", text(), OPTIONAL),
    ("outcome", sa.String(16), REQUIRED),
    ("error", text(), OPTIONAL),
    ("created_at", TIME, REQUIRED),
)
_ORDER_INDEXES = {
    "ix_nicepay_orders_state_id": ["state", "id"],
    "ix_nicepay_orders_created_at": ["created_at"],
    "ix_nicepay_orders_buyer_email": ["buyer_email"],
    "ix_nicepay_orders_buyer_name": ["buyer_name"],
}
_TARGET_INDEX = "ix_nicepay_console_actions_target"


def upgrade() -> None:
    if not table_exists(_ACTIONS):
        op.create_table(
            _ACTIONS,
            sa.Column("id", ID, autoincrement=True, nullable=False),
            *columns(_ACTION_COLUMNS),
            *key(_ACTIONS, "id"),
        )
    actions = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes(_ACTIONS)}
    if _TARGET_INDEX not in actions:
        op.create_index(_TARGET_INDEX, _ACTIONS, ["target"])
    orders = {
        i["name"] for i in sa.inspect(op.get_bind()).get_indexes("nicepay_orders")
    }
    for name, names in _ORDER_INDEXES.items():
        if name not in orders:
            op.create_index(name, "nicepay_orders", names)


def downgrade() -> None:
    for name in _ORDER_INDEXES:
        op.drop_index(name, table_name="nicepay_orders")
    op.drop_index(_TARGET_INDEX, table_name=_ACTIONS)
    op.drop_table(_ACTIONS)
