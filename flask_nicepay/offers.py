"""What an order's checkout offered the buyer, which its payment is held to.

The checkout page hands ``IMP.request_pay``'s parameters to the browser, and a buyer
can change any of them: widen ``display.card_quota`` and pick more installment
months than the store offered (moving the interest onto a store that pays it),
choose another pay method, or drop escrow. PortOne reports what was actually paid
(``pay_method``, ``card_quota``, ``escrow``), so verification compares it with the
:class:`Offer` recorded on the order (``nicepay_orders.terms``). No Flask here.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

#: The pay methods the checkout offers on NICE's window.
PAY_METHODS = ("card", "trans", "vbank", "phone", "kakaopay")

T = t.TypeVar("T", str, int, bool)


@dataclasses.dataclass(frozen=True, slots=True)
class Offer:
    """What an order's checkouts offered the buyer; ``None`` is anything.

    Kept on the order as the union of every checkout link the store made for it,
    so each link it handed out stays payable and no payment beyond them is.

    :param methods: the pay methods offered.
    :param months: the installment months offered besides the lump sum; ``None``
        when NICE's own menu was left in place.
    :param escrow: whether the payment is escrowed, as offered.
    """

    methods: frozenset[str] | None = None
    months: frozenset[int] | None = None
    escrow: frozenset[bool] | None = None

    @classmethod
    def default(cls, currency: str) -> Offer:
        """What a link without options offers: every method (for USD the card,
        the one NICE takes USD with), the lump sum only, no escrow."""
        methods = ("card",) if currency == "USD" else PAY_METHODS
        return cls(frozenset(methods), frozenset(), frozenset({False}))

    @classmethod
    def loads(cls, text: str | None, currency: str) -> Offer:
        """The offer kept in an order's ``terms``; with none kept, a bare link's.

        :param text: the order's ``terms`` column.
        :param currency: the order's currency.
        """
        if text is None:
            return cls.default(currency)
        data = json.loads(text)
        return cls(
            *(
                None if data.get(key) is None else frozenset(data[key])
                for key in ("methods", "months", "escrow")
            )
        )

    def dumps(self) -> str:
        """The column's text: sorted lists, so one offer is always one text."""
        data = {
            "methods": _sorted(self.methods),
            "months": _sorted(self.months),
            "escrow": _sorted(self.escrow),
        }
        return json.dumps(data, separators=(",", ":"))

    def merged(self, other: Offer) -> Offer:
        """Both offers: what either showed the buyer may be paid."""
        return Offer(
            _union(self.methods, other.methods),
            _union(self.months, other.months),
            _union(self.escrow, other.escrow),
        )

    def refusals(
        self, pay_method: str | None, card_quota: int, escrow: bool
    ) -> list[str]:
        """Why a payment made this way was not offered; empty when it was.

        :param pay_method: the method PortOne reports (an easy-pay brand, such as
            ``kakaopay``, may come as its own method or as ``point``).
        :param card_quota: the installment months PortOne reports; 0 is the lump sum.
        :param escrow: whether PortOne reports the payment escrowed.
        """
        reasons = []
        if self.methods is not None and pay_method not in self.methods:
            offered = ", ".join(sorted(self.methods))
            reasons.append(f"pay_method is {pay_method!r}, offered {offered}")
        if self.months is not None and card_quota not in self.months | {0}:
            offered = ", ".join(str(m) for m in sorted(self.months | {0}))
            reasons.append(f"card_quota is {card_quota}, offered {offered}")
        if self.escrow is not None and escrow not in self.escrow:
            reasons.append(f"escrow is {escrow}, offered {not escrow}")
        return reasons


def _union(one: frozenset[T] | None, other: frozenset[T] | None) -> frozenset[T] | None:
    return None if one is None or other is None else one | other


def _sorted(values: frozenset[T] | None) -> list[T] | None:
    return None if values is None else sorted(values)
