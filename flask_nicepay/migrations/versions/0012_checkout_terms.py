"""``terms`` on ``nicepay_orders``: what the order's checkout links offered.

Verification holds a window payment to the pay methods, installment months and
escrow its checkout offered (:class:`flask_nicepay.checkout.Offer`), since the
buyer's browser can change any parameter it passes to ``IMP.request_pay``. An
order written before this revision has no record of what its links offered, so it
is set to ``{}``, which holds it to nothing: a payment under way during the
upgrade is not refused for terms nobody wrote down. Orders made afterwards start
with no terms (a link without options) until ``checkout_url`` records its own.

Revision ID: 0012_checkout_terms
Revises: 0011_refund_attempts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_checkout_terms"
down_revision = "0011_refund_attempts"
branch_labels = None
depends_on = None

_TABLE = "nicepay_orders"
_COLUMN = "terms"


def upgrade() -> None:
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(_TABLE)}
    if _COLUMN in have:
        return
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column(_COLUMN, sa.Text, nullable=True))
    orders = sa.table(_TABLE, sa.column(_COLUMN, sa.Text))
    op.execute(orders.update().values({_COLUMN: "{}"}))


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_column(_COLUMN)
