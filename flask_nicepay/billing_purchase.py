"""What a payment without the window buys: the fields PortOne's API calls take."""

from __future__ import annotations

import dataclasses
import datetime as dt
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

    @classmethod
    def of_order(cls, order: Order, card_quota: int | None = None) -> Purchase:
        """The purchase an order row describes, with the installments chosen."""
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
            card_quota,
            buyer if buyer.as_params() else None,
            order.custom_data,
        )

    def order_fields(
        self, customer_uid: str | None, *, scheduled_at: dt.datetime | None = None
    ) -> dict[str, t.Any]:
        """The columns of the order row this purchase becomes (card, by API)."""
        buyer = self.buyer
        fields = (
            {f"buyer_{k}": v for k, v in dataclasses.asdict(buyer).items()}
            if buyer
            else {}
        )
        return {
            "amount": Decimal(self.amount),
            "currency": self.currency,
            "name": self.name,
            "pay_method": "card",
            "customer_uid": customer_uid,
            "tax_free": as_decimal(self.tax_free),
            "vat_amount": as_decimal(self.vat_amount),
            "custom_data": self.custom_data,
            "scheduled_at": scheduled_at,
            **fields,
        }

    def call_fields(self) -> dict[str, t.Any]:
        """The fields PortOne's onetime and again calls take as they are."""
        return {field.name: getattr(self, field.name) for field in _FIELDS}


_FIELDS = dataclasses.fields(Purchase)


def as_decimal(value: Money | None) -> Decimal | None:
    return None if value is None else Decimal(value)
