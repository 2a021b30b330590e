"""What a payment made without the payment window buys, as the store gave it."""

from __future__ import annotations

import dataclasses
import typing as t
from decimal import Decimal

from .portone import Buyer
from .store import Order

Money = int | Decimal


@dataclasses.dataclass(frozen=True, slots=True)
class Purchase:
    """What a payment without the window buys, as the store gave it."""

    amount: Money
    name: str
    currency: str = "KRW"
    tax_free: Money | None = None
    vat_amount: Money | None = None
    card_quota: int | None = None
    buyer: Buyer | None = None
    custom_data: str | None = None

    def call_fields(self) -> dict[str, t.Any]:
        """The fields PortOne's onetime and again calls take as they are."""
        return {field.name: getattr(self, field.name) for field in _FIELDS}

    @classmethod
    def of(cls, order: Order) -> Purchase:
        """What an order already written buys."""
        buyer = Buyer(
            name=order.buyer_name,
            email=order.buyer_email,
            tel=order.buyer_tel,
            addr=order.buyer_addr,
            postcode=order.buyer_postcode,
        )
        return cls(
            order.amount,
            order.name,
            order.currency,
            order.tax_free,
            order.vat_amount,
            buyer=buyer if any(dataclasses.astuple(buyer)) else None,
            custom_data=order.custom_data,
        )


_FIELDS = dataclasses.fields(Purchase)


def decimal_or_none(value: Money | None) -> Decimal | None:
    return None if value is None else Decimal(value)
