"""The plugin's tables as release 0.1.0 defined them (``flask_nicepay/tables.py``
at that release), frozen: what a store that installed 0.1.0 has in its database.

Only the column types come from today's package; they store the same as then.
"""

from __future__ import annotations

import typing as t

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text

from flask_nicepay.tables import Money
from flask_nicepay.tables import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_ID = BigInteger().with_variant(Integer(), "sqlite")


def _text(name: str, length: int | None = None) -> Column[t.Any]:
    return Column(name, String(length) if length else Text, nullable=True)


orders = Table(
    "nicepay_orders",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("merchant_uid", String(40), nullable=False, unique=True),
    Column("state", String(24), nullable=False),
    # Bumped by every write; a write names the version it read (compare-and-swap).
    Column("version", Integer, nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tax_free", Money),
    Column("vat_amount", Money),
    Column("name", String(255), nullable=False),
    _text("buyer_name", 64),
    _text("buyer_email", 128),
    _text("buyer_tel", 32),
    _text("buyer_addr", 255),
    _text("buyer_postcode", 16),
    # Where the order came from: checkout, onetime, again, schedule, vbank, adopted.
    Column("origin", String(16), nullable=False),
    _text("pay_method", 20),
    _text("customer_uid", 80),
    Column("scheduled_at", UTCDateTime),
    # The PortOne attempt this order follows.
    _text("imp_uid", 32),
    Column("paid_amount", Money, nullable=False),
    Column("cancelled_amount", Money, nullable=False),
    _text("vbank_code", 8),
    _text("vbank_name", 64),
    _text("vbank_num", 32),
    _text("vbank_holder", 64),
    Column("vbank_due", UTCDateTime),
    Column("paid_at", UTCDateTime),
    Column("failed_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
    Column("expired_at", UTCDateTime),
    _text("fail_reason"),
    _text("cancel_reason"),
    # Why a payment failed verification; kept after the order moves on.
    _text("mismatch_reason"),
    # Paid after the virtual account's deadline.
    Column("late_payment", Boolean, nullable=False),
    Column("prepared", Boolean, nullable=False),
    _text("custom_data"),
    # The last PortOne snapshot applied: status, amounts and cancel count.
    _text("snapshot_key", 128),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_nicepay_orders_state_updated", orders.c.state, orders.c.updated_at)
Index("ix_nicepay_orders_updated_at", orders.c.updated_at)
Index("ix_nicepay_orders_imp_uid", orders.c.imp_uid)

history = Table(
    "nicepay_history",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("order_id", _ID, ForeignKey("nicepay_orders.id"), nullable=False),
    Column("merchant_uid", String(40), nullable=False, index=True),
    Column("from_state", String(24), nullable=False),
    Column("to_state", String(24), nullable=False),
    Column("event", String(32), nullable=False),
    # What caused it: webhook, pc, mobile, reconcile, replay, refund, sweep, api, cli.
    Column("source", String(16), nullable=False),
    _text("imp_uid", 32),
    _text("detail"),
    Column("inbox_id", _ID, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

inbox = Table(
    "nicepay_inbox",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    # webhook, pc (completion callback), mobile (m_redirect_url return)
    Column("kind", String(16), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    _text("remote_addr", 64),
    _text("method", 8),
    _text("path", 255),
    _text("content_type", 128),
    # What arrived, card-number-shaped digits masked, cut at the size limit.
    _text("body"),
    Column("body_truncated", Boolean, nullable=False),
    # The hint as it arrived; only the fetched snapshot is acted on.
    _text("hint_imp_uid", 64),
    _text("hint_merchant_uid", 64),
    _text("hint_status", 32),
    # What the snapshot fetched from the API said.
    _text("imp_uid", 32),
    _text("merchant_uid", 40),
    _text("dedupe_key", 128),
    # received, applied, noop, mismatch, unknown_order, invalid, error
    Column("outcome", String(16), nullable=False),
    _text("error"),
    Column("attempts", Integer, nullable=False),
    Column("processed_at", UTCDateTime),
)
Index("ix_nicepay_inbox_outcome", inbox.c.outcome)
Index("ix_nicepay_inbox_merchant_uid", inbox.c.merchant_uid)
Index("ix_nicepay_inbox_dedupe_key", inbox.c.dedupe_key)

refunds = Table(
    "nicepay_refunds",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("order_id", _ID, ForeignKey("nicepay_orders.id"), nullable=False),
    Column("merchant_uid", String(40), nullable=False, index=True),
    _text("imp_uid", 32),
    Column("amount", Money, nullable=False),
    Column("tax_free", Money),
    Column("vat_amount", Money),
    # The balance sent as PortOne's checksum.
    Column("checksum", Money),
    _text("reason"),
    # pending, succeeded, failed, unknown (sent, no answer)
    Column("status", String(16), nullable=False),
    # api (our cancel), portone (found in cancel_history: console), auto (a
    # payment that failed verification or arrived for an order that cannot take it)
    Column("source", String(16), nullable=False),
    # Makes automatic cancels exactly-once: "auto:<imp_uid>". NULL for the rest.
    Column("guard_key", String(64), unique=True),
    _text("cancellation_id", 64),
    _text("pg_tid", 64),
    _text("refund_bank", 8),
    _text("refund_holder", 64),
    # Only the last digits of a refund account are kept.
    _text("refund_account_masked", 32),
    _text("error"),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
)

billing_keys = Table(
    "nicepay_billing_keys",
    metadata,
    Column("customer_uid", String(80), primary_key=True),
    _text("pg_provider", 16),
    _text("card_name", 64),
    _text("card_code", 8),
    # Masked by PortOne; the full number never reaches this database.
    _text("card_number", 32),
    Column("card_type", Integer),
    _text("customer_name", 64),
    _text("customer_email", 128),
    # active, deleted
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
