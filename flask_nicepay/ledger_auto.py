"""The ledger's automatic cancels that PortOne refused, as the janitor sends them
again (:meth:`~flask_nicepay.janitor.Janitor.refunds`).

Each function runs its own short write or read; none does network I/O.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from . import tables
from .db import write_transaction
from .ledger import RefundRow
from .ledger import refund_account
from .ledger import refunds_for

#: Why an automatic cancel of a deposit into a virtual account is not sent.
NEEDS_REFUND_ACCOUNT = (
    "A deposit into a virtual account is refunded only to an account the buyer "
    "names, so it is not cancelled automatically: pay it back to the buyer's "
    "account (flask nicepay cancel ORDER --payment IMP_UID --refund-holder ...)."
)


def reopen_automatic(
    engine: Engine,
    refund_id: int,
    *,
    amount: Decimal,
    now: dt.datetime,
    statuses: tuple[str, ...] = ("failed",),
    refund: t.Any = None,
) -> bool:
    """Make a failed automatic cancel ``pending`` again, for ``amount`` (what
    PortOne holds now, which is also the new checksum), one more attempt counted.

    :param statuses: what the row may be now: ``failed``, and ``held`` when an
        operator pays back what the policy held.
    :param refund: the buyer's account a virtual-account deposit goes back to.
    :returns: whether the row was still an automatic cancel to take.
    """
    column = tables.refunds.c
    query = (
        sa.update(tables.refunds)
        .where(column.id == refund_id)
        .where(column.source == "auto", column.status.in_(statuses))
        .values(
            status="pending",
            amount=amount,
            checksum=amount,
            attempts=column.attempts + 1,
            error=None,
            requested_at=now,
            completed_at=None,
            **refund_account(refund),
        )
    )
    with write_transaction(engine) as conn:
        return bool(conn.execute(query).rowcount == 1)


def hold_back(
    engine: Engine,
    refund_id: int,
    *,
    until: dt.datetime | None = None,
    attempts: int | None = None,
    error: str | None = None,
) -> None:
    """Leave a failed row alone until ``until``; with ``attempts`` at the janitor's
    bound, for good. ``error`` (if given) says why."""
    given = {"claimed_until": until, "attempts": attempts, "error": error}
    values = {k: v for k, v in given.items() if v is not None}
    query = sa.update(tables.refunds).where(tables.refunds.c.id == refund_id)
    with write_transaction(engine) as conn:
        conn.execute(query.values(values))


def cancelled_elsewhere(engine: Engine, merchant_uid: str, imp_uid: str) -> bool:
    """Whether a refund other than the automatic cancel took part of the payment
    (one made here through the API, or found in PortOne's cancel_history)."""
    return any(
        row.imp_uid == imp_uid and row.source != "auto" and row.status == "succeeded"
        for row in refunds_for(engine, merchant_uid)
    )


def status_of(engine: Engine, refund_id: int) -> str | None:
    """The refund row's status, or None if there is no such row."""
    query = sa.select(tables.refunds.c.status).where(tables.refunds.c.id == refund_id)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else str(found)


def automatic_row(engine: Engine, merchant_uid: str, imp_uid: str) -> RefundRow | None:
    """The automatic cancel (or hold) of the order's payment ``imp_uid``, if any."""
    found = [
        row
        for row in refunds_for(engine, merchant_uid)
        if row.source == "auto" and row.imp_uid == imp_uid
    ]
    return found[0] if found else None
