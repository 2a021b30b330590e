"""An order and what happens to it, as values: the row, a plan, a transition.

:class:`~flask_nicepay.store.Store` reads and writes them; the reconciler, refunds
and billing plan with them. They hold no connection and do no I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing as t
from decimal import Decimal

from sqlalchemy.engine import Connection
from sqlalchemy.engine import RowMapping

from .machine import OrderState


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """One row of ``nicepay_orders``."""

    id: int
    merchant_uid: str
    state: OrderState
    version: int
    amount: Decimal
    currency: str
    name: str
    origin: str
    tax_free: Decimal | None = None
    vat_amount: Decimal | None = None
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_tel: str | None = None
    buyer_addr: str | None = None
    buyer_postcode: str | None = None
    pay_method: str | None = None
    customer_uid: str | None = None
    scheduled_at: dt.datetime | None = None
    imp_uid: str | None = None
    paid_amount: Decimal = Decimal(0)
    cancelled_amount: Decimal = Decimal(0)
    vbank_code: str | None = None
    vbank_name: str | None = None
    vbank_num: str | None = None
    vbank_holder: str | None = None
    vbank_due: dt.datetime | None = None
    paid_at: dt.datetime | None = None
    failed_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    expired_at: dt.datetime | None = None
    fail_reason: str | None = None
    cancel_reason: str | None = None
    mismatch_reason: str | None = None
    #: What the order's checkout links offered
    #: (:meth:`flask_nicepay.offers.Offer.dumps`); None before any was made.
    terms: str | None = None
    late_payment: bool = False
    prepared: bool = False
    custom_data: str | None = None
    #: PortOne's receipt (card slip) address, as
    #: :func:`~flask_nicepay.receipts.kept_receipt_url` keeps it.
    receipt_url: str | None = None
    snapshot_key: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    #: Until then a janitor holds the order (see :mod:`flask_nicepay.janitor`).
    claimed_until: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: RowMapping | t.Mapping[str, t.Any]) -> Order:
        values = dict(row)
        values["state"] = OrderState(values["state"])
        return cls(**values)

    @property
    def balance(self) -> Decimal:
        """Money the store holds for this order: paid minus cancelled."""
        return self.paid_amount - self.cancelled_amount


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """One state change that was written, with the order as it was afterwards."""

    event: str
    from_state: OrderState
    to_state: OrderState
    source: str
    order: Order
    imp_uid: str | None = None
    detail: str | None = None
    #: Data for the signal, e.g. the refunded amount.
    data: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What to do to an order: events to fire, in order, and fields to set."""

    events: tuple[str, ...] = ()
    updates: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    detail: str | None = None
    imp_uid: str | None = None
    #: Per-event signal data, keyed by event name.
    data: t.Mapping[str, t.Mapping[str, t.Any]] = dataclasses.field(
        default_factory=dict
    )
    #: Extra work in the same transaction (such as refund ledger rows), given the
    #: connection and the order as it was read.
    also: t.Callable[[Connection, Order], None] | None = None

    def changes(self, order: Order) -> dict[str, t.Any]:
        """The updates that differ from what the row already holds."""
        return {k: v for k, v in self.updates.items() if getattr(order, k) != v}


@dataclasses.dataclass(frozen=True, slots=True)
class Applied:
    """What :meth:`~flask_nicepay.store.Store.apply` did: the order after it, and
    what changed."""

    order: Order
    transitions: tuple[Transition, ...] = ()
    changed: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """What a plan writes to an order: the columns, and what writing them does."""

    values: dict[str, t.Any]
    applied: Applied
    #: The moment of the change, in the order and its history rows.
    now: dt.datetime


Decide = t.Callable[[Connection, Order], "Plan | None"]
Hook = t.Callable[[Connection, Transition], None]
Finish = t.Callable[[Connection, "Applied"], None]


class UnknownOrderError(LookupError):
    """No order has that ``merchant_uid``."""


class ConcurrencyError(RuntimeError):
    """The order kept changing under us for
    :data:`~flask_nicepay.store.MAX_CAS_ATTEMPTS` attempts."""
