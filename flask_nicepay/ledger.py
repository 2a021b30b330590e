"""The refund ledger: one row per cancel, written before the money moves.

A refund is a row first (``pending``), then PortOne's cancel, then the row's outcome.
Rows are also imported from a payment's ``cancel_history``, which is how cancels
made in PortOne's console reach the store. Every function here runs inside a
transaction it is handed; none does network I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from . import tables
from .db import write_transaction
from .inbound import can_be_id
from .portone import CancelRecord
from .portone import Payment
from .portone.redact import mask
from .receipts import kept_receipt_url

#: Rows that hold up further refunds of the same order until they are settled.
OPEN = ("pending", "unknown")


class RefundInProgressError(RuntimeError):
    """Another refund of the order is in flight; try again once it settled."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RefundRow:
    """One row of ``nicepay_refunds``."""

    id: int
    merchant_uid: str
    imp_uid: str | None
    amount: Decimal
    status: str
    source: str
    reason: str | None = None
    checksum: Decimal | None = None
    #: The tax-free and VAT parts the cancel stated (None: left out, or unknown
    #: for a cancel imported from PortOne's console).
    tax_free: Decimal | None = None
    vat_amount: Decimal | None = None
    cancellation_id: str | None = None
    #: The cancel's receipt address from PortOne's cancel_history, once known.
    receipt_url: str | None = None
    error: str | None = None
    requested_at: dt.datetime
    completed_at: dt.datetime | None = None
    #: How many times the cancel was sent (an automatic one may be sent again).
    attempts: int = 1

    @property
    def origin(self) -> str:
        """The source, with the number of sends if the cancel went out more than
        once: ``auto, ×3``."""
        return f"{self.source}, ×{self.attempts}" if self.attempts > 1 else self.source

    @classmethod
    def from_row(cls, row: RowMapping) -> RefundRow:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in row.items() if k in names})


def record_key(record: CancelRecord) -> str:
    """A cancel's identity: PortOne's cancellation_id, or its details when absent."""
    if record.cancellation_id:
        return record.cancellation_id
    when = int(record.cancelled_at.timestamp()) if record.cancelled_at else 0
    return f"{record.pg_tid}:{record.amount}:{when}"


def open_refund(
    conn: Connection,
    *,
    order_id: int,
    merchant_uid: str,
    imp_uid: str,
    amount: Decimal,
    checksum: Decimal,
    now: dt.datetime,
    source: str = "api",
    reason: str | None = None,
    tax_free: Decimal | None = None,
    vat_amount: Decimal | None = None,
    refund: t.Any = None,
    guard_key: str | None = None,
    status: str = "pending",
) -> int:
    """Insert a refund row before the cancel is sent; returns its id.

    :param guard_key: a unique key that makes the row exactly-once (automatic
        cancels use ``auto:<imp_uid>``); a second insert raises IntegrityError.
    :raises RefundInProgressError: another refund of the order is still open.
    """
    if guard_key is None:
        _refuse_if_open(conn, merchant_uid)
    values = {
        "order_id": order_id,
        "merchant_uid": merchant_uid,
        "imp_uid": imp_uid,
        "amount": amount,
        "tax_free": tax_free,
        "vat_amount": vat_amount,
        "checksum": checksum,
        "reason": reason,
        "status": status,
        "source": source,
        "guard_key": guard_key,
        "requested_at": now,
    }
    return _insert(conn, values | refund_account(refund))


def refund_account(refund: t.Any) -> dict[str, t.Any]:
    """Where a virtual-account refund goes, the account number masked."""
    if refund is None:
        return {}
    return {
        "refund_bank": refund.bank,
        "refund_holder": refund.holder,
        "refund_account_masked": mask(refund.account),
    }


def _insert(conn: Connection, values: t.Mapping[str, t.Any]) -> int:
    """Insert one refund row; its id."""
    result = conn.execute(sa.insert(tables.refunds).values(values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def settle(
    engine: Engine,
    refund_id: int,
    status: str,
    *,
    now: dt.datetime,
    error: str | None = None,
) -> None:
    """Record an open refund's outcome, unless the import already settled it."""
    query = (
        sa.update(tables.refunds)
        .where(tables.refunds.c.id == refund_id)
        .where(tables.refunds.c.status.in_(OPEN))
        .values(status=status, error=error, completed_at=now)
    )
    with write_transaction(engine) as conn:
        conn.execute(query)


def import_cancellations(
    conn: Connection, *, order_id: int, payment: Payment, now: dt.datetime
) -> list[int]:
    """Bring the ledger in line with ``payment.cancel_history``.

    Each cancel PortOne lists settles the oldest open row of ours with the same
    amount, or else becomes a new row with source ``portone`` (made in the console,
    or by another system). Returns the ids of the rows that became ``succeeded``.
    """
    known = _known_keys(conn, payment.merchant_uid)
    settled = []
    for record in payment.cancel_history:
        key = record_key(record)
        if key in known:
            continue
        row_id = _match_open(conn, payment, record.amount)
        if row_id is None:
            row_id = _insert_imported(conn, order_id, payment, record, key, now)
        else:
            _mark_matched(conn, row_id, record, key, now)
        known.add(key)
        settled.append(row_id)
    return settled


def fail_unmatched(
    engine: Engine,
    payment: Payment,
    *,
    before: dt.datetime,
    now: dt.datetime,
    statuses: t.Collection[str] = ("unknown",),
) -> int:
    """Fail ``unknown`` refunds that PortOne's fresh cancel_history does not show.

    Call with a snapshot that was just applied (so every cancel it lists is in the
    ledger already). Only rows older than ``before`` are touched, to leave PortOne
    time to finish a cancel that was still in flight. Returns how many failed.

    :param statuses: the open statuses to fail; the janitor adds ``pending``, a
        row whose process died before or while it sent the cancel.
    """
    column = tables.refunds.c
    query = (
        sa.update(tables.refunds)
        .where(column.imp_uid == payment.imp_uid)
        .where(column.status.in_(list(statuses)))
        .where(column.requested_at < before)
        .values(
            status="failed",
            error="PortOne's cancel_history shows no such cancel",
            completed_at=now,
        )
    )
    with write_transaction(engine) as conn:
        known = _known_keys(conn, payment.merchant_uid)
        if any(record_key(r) not in known for r in payment.cancel_history):
            return 0
        return int(conn.execute(query).rowcount)


def refunded_parts(
    engine: Engine, merchant_uid: str, imp_uid: str
) -> tuple[Decimal, Decimal]:
    """The tax-free and VAT parts of a payment's cancels that went through.

    A cancel made in PortOne's console is imported without its parts (PortOne
    does not list them), so it counts as none here.

    :param merchant_uid: the payment's order.
    :param imp_uid: the payment: an extra payment of the order has its own.
    """
    column = tables.refunds.c
    query = sa.select(column.tax_free, column.vat_amount).where(
        column.merchant_uid == merchant_uid,
        column.imp_uid == imp_uid,
        column.status == "succeeded",
    )
    tax_free, vat = Decimal(0), Decimal(0)
    with engine.connect() as conn:
        for part_tax_free, part_vat in conn.execute(query):
            tax_free += part_tax_free or 0
            vat += part_vat or 0
    return tax_free, vat


def refunds_for(engine: Engine, merchant_uid: str) -> list[RefundRow]:
    """The order's refund rows, oldest first (none for a value no order can have)."""
    if not can_be_id("merchant_uid", merchant_uid):
        return []
    query = (
        sa.select(tables.refunds)
        .where(tables.refunds.c.merchant_uid == merchant_uid)
        .order_by(tables.refunds.c.id)
    )
    with engine.connect() as conn:
        return [RefundRow.from_row(r) for r in conn.execute(query).mappings()]


def guard_key(imp_uid: str) -> str:
    """The unique key of the automatic cancel (or hold) of one payment."""
    return f"auto:{imp_uid}"


def guard_exists(conn: Connection, imp_uid: str) -> bool:
    """Whether the payment was already recorded for an automatic cancel or hold."""
    query = sa.select(tables.refunds.c.id).where(
        tables.refunds.c.guard_key == guard_key(imp_uid)
    )
    return conn.execute(query).first() is not None


def guard_row_id(engine: Engine, imp_uid: str) -> int | None:
    """The id of the payment's automatic-cancel row, if there is one."""
    query = sa.select(tables.refunds.c.id).where(
        tables.refunds.c.guard_key == guard_key(imp_uid)
    )
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else int(found)


def _refuse_if_open(conn: Connection, merchant_uid: str) -> None:
    """Refuse a second refund while one of the order's is still in flight."""
    query = (
        sa.select(tables.refunds.c.id)
        .where(tables.refunds.c.merchant_uid == merchant_uid)
        .where(tables.refunds.c.status.in_(OPEN))
        .where(tables.refunds.c.guard_key.is_(None))
        .limit(1)
    )
    if conn.execute(query).first() is not None:
        raise RefundInProgressError(
            f"A refund of {merchant_uid} is still in flight; try again later."
        )


def _known_keys(conn: Connection, merchant_uid: str) -> set[str]:
    query = (
        sa.select(tables.refunds.c.cancellation_id)
        .where(tables.refunds.c.merchant_uid == merchant_uid)
        .where(tables.refunds.c.cancellation_id.is_not(None))
    )
    return {str(key) for key in conn.execute(query).scalars()}


def open_for(conn: Connection, imp_uid: str) -> bool:
    """Whether a refund of the payment ``imp_uid`` is still open here."""
    query = (
        sa.select(tables.refunds.c.id)
        .where(tables.refunds.c.imp_uid == imp_uid)
        .where(tables.refunds.c.status.in_(OPEN))
        .limit(1)
    )
    return conn.execute(query).first() is not None


def _match_open(conn: Connection, payment: Payment, amount: Decimal) -> int | None:
    query = (
        sa.select(tables.refunds.c.id)
        .where(tables.refunds.c.imp_uid == payment.imp_uid)
        .where(tables.refunds.c.status.in_(OPEN))
        .where(tables.refunds.c.amount == amount)
        .order_by(tables.refunds.c.id)
        .limit(1)
    )
    found = conn.execute(query).scalar()
    return None if found is None else int(found)


def _mark_matched(
    conn: Connection, row_id: int, record: CancelRecord, key: str, now: dt.datetime
) -> None:
    conn.execute(
        sa.update(tables.refunds)
        .where(tables.refunds.c.id == row_id)
        .values(
            status="succeeded",
            cancellation_id=key,
            pg_tid=record.pg_tid,
            receipt_url=kept_receipt_url(record.receipt_url),
            completed_at=record.cancelled_at or now,
            error=None,
        )
    )


def _insert_imported(
    conn: Connection,
    order_id: int,
    payment: Payment,
    record: CancelRecord,
    key: str,
    now: dt.datetime,
) -> int:
    return _insert(
        conn,
        dict(
            order_id=order_id,
            merchant_uid=payment.merchant_uid,
            imp_uid=payment.imp_uid,
            amount=record.amount,
            reason=record.reason,
            status="succeeded",
            source="portone",
            cancellation_id=key,
            pg_tid=record.pg_tid,
            receipt_url=kept_receipt_url(record.receipt_url),
            requested_at=record.cancelled_at or now,
            completed_at=record.cancelled_at or now,
        ),
    )
