"""The billing keys the plugin knows of, as PortOne last described them.

Only what PortOne returns is kept: the masked card number, the card's name and
code, the customer's name and e-mail. The card itself never reaches this table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.engine import RowMapping

from . import tables
from .db import write_transaction
from .inbound import can_be_id
from .portone import Customer

_KEYS = tables.billing_keys


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class BillingKey:
    """A billing key as the plugin keeps it: masked card data only."""

    customer_uid: str
    status: str
    card_name: str | None = None
    card_number: str | None = None
    card_code: str | None = None
    card_type: int | None = None
    pg_provider: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> BillingKey:
        return cls(**dict(row))


def read_key(engine: Engine, customer_uid: str) -> BillingKey | None:
    """The key as last kept, or ``None`` (also for a value no key can have)."""
    if not can_be_id("customer_uid", customer_uid):
        return None
    query = sa.select(_KEYS).where(_KEYS.c.customer_uid == customer_uid)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else BillingKey.from_row(row)


def list_keys(engine: Engine, status: str | None = None) -> list[BillingKey]:
    """Every key kept, newest change first; only those in ``status`` if given."""
    query = sa.select(_KEYS).order_by(_KEYS.c.updated_at.desc(), _KEYS.c.customer_uid)
    if status is not None:
        query = query.where(_KEYS.c.status == status)
    with engine.connect() as conn:
        return [BillingKey.from_row(row) for row in conn.execute(query).mappings()]


def orders_of_key(engine: Engine, customer_uid: str) -> list[RowMapping]:
    """The orders charged (or to be charged) to a key, oldest first."""
    if not can_be_id("customer_uid", customer_uid):
        return []
    orders = tables.orders
    query = (
        sa.select(
            orders.c.merchant_uid,
            orders.c.state,
            orders.c.amount,
            orders.c.currency,
            orders.c.origin,
            orders.c.scheduled_at,
            orders.c.created_at,
        )
        .where(orders.c.customer_uid == customer_uid)
        .order_by(orders.c.created_at, orders.c.id)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


def keep_key(
    engine: Engine, customer: Customer, status: str, now: dt.datetime
) -> tuple[str | None, BillingKey]:
    """Write what PortOne says of a key, with its status here.

    Fields PortOne left out keep their earlier values.

    :returns: the status the key had before (``None`` for a new one), and the key.
    """
    values: dict[str, t.Any] = {
        "pg_provider": customer.pg_provider,
        "card_name": customer.card_name,
        "card_code": customer.card_code,
        "card_number": customer.card_number,
        "card_type": customer.card_type,
        "customer_name": customer.customer_name,
        "customer_email": customer.customer_email,
        "status": status,
        "updated_at": now,
    }
    uid = customer.customer_uid
    with write_transaction(engine) as conn:
        where = _KEYS.c.customer_uid == uid
        before = conn.execute(sa.select(_KEYS.c.status).where(where)).scalar()
        if before is None:
            conn.execute(
                sa.insert(_KEYS).values(customer_uid=uid, created_at=now, **values)
            )
        else:
            known = {k: v for k, v in values.items() if v is not None}
            conn.execute(sa.update(_KEYS).where(where).values(known))
    key = read_key(engine, uid)
    assert key is not None
    return before, key
