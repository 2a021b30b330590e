"""Card registration attempts: ``nicepay_card_attempts``, who tried and when.

Before migrations ``flask nicepay init-db`` created this table on an existing
database; where it is there already, nothing is done.

Revision ID: 0003_card_attempts
Revises: 0002_inbox_body_bytes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flask_nicepay.migrations.kit import OPTIONAL
from flask_nicepay.migrations.kit import REQUIRED
from flask_nicepay.migrations.kit import TIME
from flask_nicepay.migrations.kit import columns
from flask_nicepay.migrations.kit import key
from flask_nicepay.migrations.kit import table_exists
from flask_nicepay.migrations.kit import text

revision = "0003_card_attempts"
down_revision = "0002_inbox_body_bytes"
branch_labels = None
depends_on = None

_TABLE = "nicepay_card_attempts"
_COLUMNS = (
    ("customer_uid", sa.String(80), REQUIRED),
    ("remote_addr", text(64), OPTIONAL),
    ("outcome", sa.String(16), REQUIRED),
    ("attempted_at", TIME, REQUIRED),
)


def upgrade() -> None:
    if table_exists(_TABLE):
        return
    op.create_table(_TABLE, *key(_TABLE), *columns(_COLUMNS))
    op.create_index(
        "ix_nicepay_card_attempts_customer", _TABLE, ["customer_uid", "attempted_at"]
    )
    op.create_index(
        "ix_nicepay_card_attempts_addr", _TABLE, ["remote_addr", "attempted_at"]
    )


def downgrade() -> None:
    op.drop_table(_TABLE)
