"""The tax parts of cancels, worked out without I/O (:mod:`flask_nicepay.tax`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example
from hypothesis import given
from hypothesis import strategies as st

from flask_nicepay.tax import UNSTATED
from flask_nicepay.tax import TaxMode
from flask_nicepay.tax import TaxParts
from flask_nicepay.tax import TaxPartsError
from flask_nicepay.tax import cancel_parts
from flask_nicepay.tax import proportional


@st.composite
def orders_and_refunds(draw: st.DrawFn) -> tuple[int, int, int, list[int]]:
    """An amount, its tax-free part and VAT, and the partial refunds made of it."""
    amount = draw(st.integers(1, 10_000_000))
    tax_free = draw(st.integers(0, amount))
    vat = draw(st.integers(0, amount - tax_free))
    refunds, left = [], amount
    for _ in range(draw(st.integers(0, 12))):
        if left <= 1:
            break
        part = draw(st.integers(1, left - 1))
        refunds.append(part)
        left -= part
    return amount, tax_free, vat, refunds


@given(orders_and_refunds())
@example((33_000, 3_000, 2_727, [10_000, 7_001, 1]))
@example((3, 1, 2, [1]))
@example((100, 100, 0, [1, 1, 97]))
@example((100, 0, 100, [33, 33]))
def test_cancels_add_up_to_the_orders_parts_never_more(
    case: tuple[int, int, int, list[int]],
) -> None:
    amount, tax_free, vat = (Decimal(v) for v in case[:3])
    paid = TaxParts(tax_free, vat)
    refunded_tax_free = refunded_vat = Decimal(0)
    balance = amount
    for part in [*map(Decimal, case[3]), None]:
        wanted = balance if part is None else part
        refunded = TaxParts(refunded_tax_free, refunded_vat)
        parts = cancel_parts(
            TaxMode.FIXED, paid=paid, refunded=refunded, balance=balance, amount=wanted
        )
        assert parts.tax_free is not None and parts.vat_amount is not None
        assert parts.tax_free == int(parts.tax_free) >= 0
        assert 0 <= parts.vat_amount <= wanted - parts.tax_free
        refunded_tax_free += parts.tax_free
        refunded_vat += parts.vat_amount
        assert refunded_tax_free <= tax_free and refunded_vat <= vat
        balance -= wanted
    assert (refunded_tax_free, refunded_vat) == (tax_free, vat)


def test_the_proportional_share_rounds_halves_up() -> None:
    left = TaxParts(Decimal(1), Decimal(1))
    # 1 × 1 / 2 = 0.5 → 1; the taxable rest is 0, so the VAT share of 1 is 0.
    assert proportional(left, Decimal(2), Decimal(1)) == TaxParts(1, 0)
    assert proportional(TaxParts(Decimal(0), Decimal(1)), Decimal(2), Decimal(1)) == (
        TaxParts(0, 1)
    )
    with pytest.raises(TaxPartsError, match="whole won"):
        proportional(left, Decimal("2.5"), Decimal(1))


def test_auto_mode_states_only_what_the_order_stated() -> None:
    common = {"refunded": UNSTATED, "balance": Decimal(10_000)}
    nothing = cancel_parts(TaxMode.AUTO, paid=UNSTATED, amount=Decimal(10), **common)
    assert nothing == UNSTATED
    vat = TaxParts(None, Decimal(909))
    with pytest.raises(TaxPartsError, match="NICE needs vat_amount"):
        cancel_parts(TaxMode.AUTO, paid=vat, amount=Decimal(10), **common)
    final = cancel_parts(TaxMode.AUTO, paid=vat, amount=Decimal(10_000), **common)
    assert final == TaxParts(None, Decimal(909))
    zero = TaxParts(Decimal(0), Decimal(0))
    assert cancel_parts(TaxMode.AUTO, paid=zero, amount=Decimal(10), **common) == zero
