"""The plugin's own tables, on its own :data:`metadata`.

Stores link their orders to these by ``merchant_uid``. The plugin's migrations
(:mod:`flask_nicepay.migrations`) make and upgrade them (a change here needs one);
for the store's Alembic history, add :data:`metadata` to ``target_metadata``::

    from flask_nicepay.tables import metadata as nicepay_metadata
    target_metadata = [db.metadata, nicepay_metadata]

Amounts are whole hundredths in a ``BIGINT`` (:class:`Money`): exact everywhere.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Column
from sqlalchemy import DateTime
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import literal_column
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
"""The :class:`~sqlalchemy.MetaData` holding every ``nicepay_*`` table."""

_HUNDRED = Decimal(100)


class Money(TypeDecorator[Decimal]):
    """A :class:`~decimal.Decimal` with at most 2 decimals, stored as hundredths."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: t.Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        hundredths = Decimal(value) * _HUNDRED
        if hundredths != hundredths.to_integral_value():
            raise ValueError(f"{value} has more than 2 decimals.")
        return int(hundredths)

    def process_result_value(self, value: t.Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        whole, cents = divmod(int(value), 100)
        return Decimal(whole) if cents == 0 else Decimal(int(value)) / _HUNDRED


class UTCDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored in UTC; SQLite, which keeps no zone, reads back UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: t.Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Naive datetimes have no fixed moment; pass aware ones.")
        return t.cast(dt.datetime, value.astimezone(dt.UTC))

    def process_result_value(
        self, value: t.Any, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return t.cast(dt.datetime, value.replace(tzinfo=dt.UTC))
        return t.cast(dt.datetime, value.astimezone(dt.UTC))


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
    _text("mismatch_reason"),  # why a payment failed verification, kept for good
    _text("terms"),  # what its checkout links offered: a checkout.Offer's JSON
    # Paid after the virtual account's deadline.
    Column("late_payment", Boolean, nullable=False),
    Column("prepared", Boolean, nullable=False),
    _text("custom_data"),
    # PortOne's receipt (card slip) address; see flask_nicepay.receipts.
    _text("receipt_url"),
    # The last PortOne snapshot applied: status, amounts and cancel count.
    _text("snapshot_key", 128),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The janitor's claim: no janitor asks PortOne about the order before then.
    Column("claimed_until", UTCDateTime),
)
Index("ix_nicepay_orders_state_updated", orders.c.state, orders.c.updated_at)
Index("ix_nicepay_orders_updated_at", orders.c.updated_at)
Index("ix_nicepay_orders_imp_uid", orders.c.imp_uid)
# The console's list: newest first per state or day; its buyer searches (equality).
Index("ix_nicepay_orders_state_id", orders.c.state, orders.c.id)
Index("ix_nicepay_orders_created_at", orders.c.created_at)
Index("ix_nicepay_orders_buyer_email", orders.c.buyer_email)
Index("ix_nicepay_orders_buyer_name", orders.c.buyer_name)

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
    # The bytes that arrived, exactly (NUL and invalid UTF-8 included), with
    # card-number-shaped digits masked, cut at the size limit.
    Column("body", LargeBinary, nullable=True),
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
    # The janitor's claim: no janitor processes the row again before then.
    Column("claimed_until", UTCDateTime),
)
# The console's notification list pages each outcome by id, of one kind or any.
Index("ix_nicepay_inbox_outcome_id", inbox.c.outcome, inbox.c.id)
Index("ix_nicepay_inbox_outcome_kind_id", inbox.c.outcome, inbox.c.kind, inbox.c.id)
Index("ix_nicepay_inbox_merchant_uid", inbox.c.merchant_uid)
WAITING = inbox.c.outcome == literal_column("'received'")
_ONLY_WAITING: dict[str, t.Any] = {"sqlite_where": WAITING, "postgresql_where": WAITING}
# Rows still waiting, by the order their hint names: all such a row knows of it.
Index("ix_nicepay_inbox_waiting", inbox.c.hint_merchant_uid, **_ONLY_WAITING)
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
    # The cancel's receipt address, from cancel_history.
    _text("receipt_url"),
    _text("refund_bank", 8),
    _text("refund_holder", 64),
    # Only the last digits of a refund account are kept.
    _text("refund_account_masked", 32),
    _text("error"),
    Column("requested_at", UTCDateTime, nullable=False),  # of the latest attempt
    Column("completed_at", UTCDateTime),
    # Cancels sent; the janitor sends a failed automatic one again, up to a bound.
    Column("attempts", Integer, nullable=False, server_default="1"),
    # The janitor's claim (or its wait before that retry): untouched until then.
    Column("claimed_until", UTCDateTime),
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

card_attempts = Table(
    "nicepay_card_attempts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    # Who tried, never what was typed: no card data reaches this table. A key-in
    # payment names its order, and the customer only when one may keep the card.
    _text("customer_uid", 80),
    _text("merchant_uid", 40),
    _text("remote_addr", 64),
    # issued, refused (PortOne could not authenticate the card), invalid; for a
    # key-in payment also paid, declined, unknown (no answer)
    Column("outcome", String(16), nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Index("ix_nicepay_card_attempts_customer", "customer_uid", "attempted_at"),
    Index("ix_nicepay_card_attempts_order", "merchant_uid", "attempted_at"),
    Index("ix_nicepay_card_attempts_addr", "remote_addr", "attempted_at"),
)

subscriptions = Table(
    "nicepay_subscriptions",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("subscription_uid", String(40), nullable=False, unique=True),
    # The billing key charged; changed by a change of card.
    Column("customer_uid", String(80), nullable=False),
    # incomplete, trialing, active, retrying, past_due, cancelled
    Column("status", String(16), nullable=False),
    # Bumped by every write; a write names the version it read (compare-and-swap).
    Column("version", Integer, nullable=False),
    # The plan, as it was when the subscription started.
    Column("name", String(255), nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("tax_free", Money),
    Column("vat_amount", Money),
    # month or day, how many of them, and the day of the month asked for (if any).
    Column("interval_unit", String(8), nullable=False),
    Column("interval_count", Integer, nullable=False),
    Column("interval_day", Integer),
    # Period boundaries are counted from anchor_at, which starts anchor_period.
    Column("anchor_at", UTCDateTime, nullable=False),
    Column("anchor_period", Integer, nullable=False),
    # The last period paid (0: none yet) and its bounds.
    Column("period", Integer, nullable=False),
    Column("period_start", UTCDateTime),
    Column("period_end", UTCDateTime),
    # The order of the next charge, when one is expected.
    _text("pending_merchant_uid", 40),
    Column("cancel_at_period_end", Boolean, nullable=False),
    _text("fail_reason"),
    # Whoever does this subscription's due work holds it until then.
    Column("claimed_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
)
Index("ix_nicepay_subscriptions_customer_uid", subscriptions.c.customer_uid)
Index("ix_nicepay_subscriptions_status", subscriptions.c.status)

subscription_charges = Table(
    "nicepay_subscription_charges",
    metadata,
    # Each charge is an order; this says which subscription and period it pays.
    Column("merchant_uid", String(40), primary_key=True),
    Column(
        "subscription_id", _ID, ForeignKey("nicepay_subscriptions.id"), nullable=False
    ),
    Column("period", Integer, nullable=False),
    # 0 for the period's first charge, then 1, 2... for its retries.
    Column("attempt", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)
Index(
    "ix_nicepay_subscription_charges_subscription",
    subscription_charges.c.subscription_id,
)

key_in_claims = Table(
    "nicepay_key_in_claims",
    metadata,
    # One row per order ever paid by key-in: who may call PortOne for it now.
    Column("merchant_uid", String(40), primary_key=True),
    # A fresh random token per claim; taking a claim swaps on the token read.
    Column("holder", String(32), nullable=False),
    # busy (a call to PortOne may be under way), done (PortOne's answer, or the
    # lack of a payment, is known), unsure (no answer: look up before retrying)
    Column("status", String(8), nullable=False),
    Column("claimed_at", UTCDateTime, nullable=False),
    # A busy claim past this moment belongs to a worker that died: taken over.
    Column("expires_at", UTCDateTime, nullable=False),
)

console_actions = Table(
    "nicepay_console_actions",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    # Who did it, as the store's guard or actor callable names the operator.
    Column("actor", String(128), nullable=False),
    # refund, replay, sync, reconcile, reconcile_batch, reconcile_stop,
    # expire_vbanks, delete_key, cancel_subscription
    Column("action", String(32), nullable=False),
    # What it was done to: a merchant_uid, notification id, customer_uid or
    # subscription_uid.
    _text("target", 80),
    # The choices made (JSON), refund account masked; never a secret.
    _text("detail"),
    # started (written before the call: a row left so is an action whose process
    # died, or a reconcile still running), succeeded, refused (the plugin said no),
    # failed (PortOne failed or was silent, or the call raised), stopped (a
    # reconcile the operator stopped)
    Column("outcome", String(16), nullable=False),
    # Redacted: card-number shapes masked.
    _text("error"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    # A reconcile batch, or its stop: the reconcile run (an action) it belongs to.
    Column("run_id", _ID),
    # A reconcile run: the id of the last order done; the next batch starts after.
    Column("resume_after", _ID),
)
Index("ix_nicepay_console_actions_target", console_actions.c.target)
Index(
    "ix_nicepay_console_actions_outcome_id",
    console_actions.c.outcome,
    console_actions.c.id,
)
Index("ix_nicepay_console_actions_run_id", console_actions.c.run_id)
