"""The inbox keeps the bytes that arrived: ``nicepay_inbox.body`` becomes binary.

A text body becomes its UTF-8 bytes. A database whose body is binary already
(``init-db`` cannot change a column, but a store may have converted it by hand as
the 0.1.0 upgrade notes said) is left as it is. Going back turns the bytes into
text again, which PostgreSQL refuses for a body text cannot hold (a NUL byte,
invalid UTF-8).

Revision ID: 0002_inbox_body_bytes
Revises: 0001_first_release
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_inbox_body_bytes"
down_revision = "0001_first_release"
branch_labels = None
depends_on = None


def _body_is_binary() -> bool:
    found = sa.inspect(op.get_bind()).get_columns("nicepay_inbox")
    body = next(c["type"] for c in found if c["name"] == "body")
    return isinstance(body, sa.LargeBinary)


def _retype(*, to_bytes: bool) -> None:
    """Change the body's type, converting each value along."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("nicepay_inbox") as batch:
        batch.alter_column(
            "body",
            type_=sa.LargeBinary() if to_bytes else sa.Text(),
            existing_type=sa.Text() if to_bytes else sa.LargeBinary(),
            existing_nullable=True,
            postgresql_using=(
                "convert_to(body, 'UTF8')" if to_bytes else "convert_from(body, 'UTF8')"
            ),
        )
    if not postgresql:
        # SQLite keeps each value's own storage class whatever the column's type.
        op.execute(
            "UPDATE nicepay_inbox SET body = CAST(body AS BLOB)"
            if to_bytes
            else "UPDATE nicepay_inbox SET body = CAST(body AS TEXT)"
        )


def upgrade() -> None:
    if not _body_is_binary():
        _retype(to_bytes=True)


def downgrade() -> None:
    _retype(to_bytes=False)
