"""The tax-free and VAT parts a cancel carries, worked out in whole won.

NICE splits every amount into a tax-free part, a supply value and its VAT. How a
cancel's parts are found depends on the MID's tax mode in NICE's settings
(:data:`~flask_nicepay.config.NICEPAY_TAX_MODE`):

``auto``
    NICE works out what a cancel leaves unsaid. A payment that stated its VAT (or
    had a tax-free part) must still say, on a partial cancel, how much of each is
    refunded (portone-v1.md §5); a final cancel carries what is left.
``fixed`` (지정금액)
    Every partial cancel states both parts, or NICE refuses it (code 1617,
    portone-v1.md §5). The store may give them; otherwise they are the payment's
    remaining parts in proportion to the amount (:func:`proportional`). A final
    cancel carries exactly what is left, so all the cancels of a payment add up to
    its parts, never more.

A part that is stated as 0 (a zero-rated order: ``tax_free`` 0, ``vat_amount`` 0)
is sent as 0, never left out: left out, NICE would work a VAT out of it.

Nothing here does I/O: :class:`~flask_nicepay.cancel_requests.CancelRequests`
reads what was paid and refunded, and sends the cancel.
"""

from __future__ import annotations

import dataclasses
import enum
from decimal import Decimal


class TaxMode(enum.Enum):
    """The MID's tax mode in NICE's settings."""

    #: NICE works the parts out (NICE's default).
    AUTO = "auto"
    #: 지정금액: the merchant states the parts of every payment and cancel.
    FIXED = "fixed"


class TaxPartsError(ValueError):
    """A cancel's parts that cannot be right; nothing was sent."""


@dataclasses.dataclass(frozen=True, slots=True)
class TaxParts:
    """The tax-free part and the VAT of an amount; None where not stated."""

    tax_free: Decimal | None = None
    vat_amount: Decimal | None = None

    @classmethod
    def of(
        cls, tax_free: int | Decimal | None, vat_amount: int | Decimal | None
    ) -> TaxParts:
        """The parts as a caller gives them, in won as ints or Decimals."""
        return cls(*(None if v is None else Decimal(v) for v in (tax_free, vat_amount)))


#: No parts stated.
UNSTATED = TaxParts()


def cancel_parts(
    mode: TaxMode,
    *,
    paid: TaxParts,
    refunded: TaxParts,
    balance: Decimal,
    amount: Decimal,
    given: TaxParts = UNSTATED,
) -> TaxParts:
    """The parts to send with a cancel of ``amount`` out of ``balance``.

    :param mode: the MID's tax mode.
    :param paid: the parts the payment was made with (None: not stated).
    :param refunded: the parts of its cancels that went through.
    :param balance: what is left of the payment, as PortOne says.
    :param amount: the cancel's amount; ``balance`` for a final cancel.
    :param given: the parts the store asked for, if any.
    :raises TaxPartsError: parts that are negative, more than what is left, a VAT
        more than the taxable part allows, or missing where NICE needs them.
    """
    for name, part in _named(given):
        if part is not None and part < 0:
            raise TaxPartsError(f"{name} cannot be negative ({part}).")
    if mode is TaxMode.FIXED:
        parts = _fixed(paid, refunded, balance, amount, given)
    else:
        parts = _auto(paid, refunded, balance, amount, given)
    _check(parts, *_left(paid, refunded), balance, amount)
    return parts


def _fixed(
    paid: TaxParts,
    refunded: TaxParts,
    balance: Decimal,
    amount: Decimal,
    given: TaxParts,
) -> TaxParts:
    """Both parts, always: the store's, or the remainder's share."""
    if (given.tax_free is None) != (given.vat_amount is None):
        raise TaxPartsError(
            "With NICEPAY_TAX_MODE = 'fixed' NICE needs both parts of a cancel: "
            "pass tax_free and vat_amount together, or neither."
        )
    if given.tax_free is not None:
        return given
    if paid.vat_amount is None:
        raise TaxPartsError(
            "This payment did not state its VAT, so its parts are NICE's to know: "
            "with NICEPAY_TAX_MODE = 'fixed' pass tax_free and vat_amount (and "
            "state both when creating orders)."
        )
    left = TaxParts(*_left(paid, refunded))
    if amount == balance:
        return left
    return proportional(left, balance, amount)


def _auto(
    paid: TaxParts,
    refunded: TaxParts,
    balance: Decimal,
    amount: Decimal,
    given: TaxParts,
) -> TaxParts:
    """The parts the payment stated; NICE works out the rest."""
    left = TaxParts(*_left(paid, refunded))
    parts = []
    for (name, stated), (_, asked), (_, rest) in zip(
        _named(paid), _named(given), _named(left), strict=True
    ):
        if asked is not None or stated is None:
            parts.append(asked)
        elif amount == balance or rest == 0:  # a final cancel, or nothing left
            parts.append(rest)
        else:
            raise TaxPartsError(
                f"This payment had {name} {stated}: NICE needs {name} for each "
                "partial refund."
            )
    return TaxParts(*parts)


def proportional(left: TaxParts, balance: Decimal, amount: Decimal) -> TaxParts:
    """The share of what is left that a partial cancel of ``amount`` carries.

    The tax-free part is ``left.tax_free × amount / balance`` and the VAT the same
    share of the taxable part, each rounded to the nearest won (halves up) in
    integer arithmetic. Shares of what is *left*, not of what was paid, so the
    rounding never piles up: what stays is always a possible split of what stays
    (a tax-free part no more than the balance, a VAT no more than the taxable
    part), and the final cancel takes it exactly.

    :param left: the parts not refunded yet (both stated).
    :param balance: what is left of the payment, in won.
    :param amount: the cancel, in won, less than ``balance``.
    :raises TaxPartsError: for amounts that are not whole won.
    """
    values = (left.tax_free or Decimal(0), left.vat_amount or Decimal(0))
    if any(v != v.to_integral_value() for v in (*values, balance, amount)):
        raise TaxPartsError(
            "The proportional split is in whole won: pass tax_free and vat_amount."
        )
    tax_free, vat = (int(v) for v in values)
    whole, part = int(balance), int(amount)
    part_tax_free = _share(tax_free, part, whole)
    taxable_left = whole - tax_free
    part_vat = _share(vat, part - part_tax_free, taxable_left) if taxable_left else 0
    return TaxParts(Decimal(part_tax_free), Decimal(part_vat))


def _share(value: int, part: int, whole: int) -> int:
    """``value × part / whole`` rounded to the nearest integer, halves up."""
    return (2 * value * part + whole) // (2 * whole)


def _left(paid: TaxParts, refunded: TaxParts) -> tuple[Decimal, Decimal | None]:
    """What is left of each stated part; an unstated tax-free part is 0."""
    tax_free = (paid.tax_free or Decimal(0)) - (refunded.tax_free or Decimal(0))
    vat = None
    if paid.vat_amount is not None:
        vat = paid.vat_amount - (refunded.vat_amount or Decimal(0))
    return tax_free, vat


def _check(
    parts: TaxParts,
    tax_free_left: Decimal,
    vat_left: Decimal | None,
    balance: Decimal,
    amount: Decimal,
) -> None:
    """Refuse parts that cannot be a split of this cancel, or of what stays."""
    tax_free = parts.tax_free or Decimal(0)
    if tax_free > amount:
        raise TaxPartsError(
            f"tax_free {tax_free} is more than the refund amount ({amount})."
        )
    if tax_free > tax_free_left:
        raise TaxPartsError(
            f"tax_free {tax_free} is more than the payment's tax-free part left "
            f"({tax_free_left})."
        )
    vat = parts.vat_amount
    if vat is not None and vat > amount - tax_free:
        raise TaxPartsError(
            f"vat_amount {vat} is more than the taxable part of the refund "
            f"({amount - tax_free}) allows."
        )
    if vat is None or vat_left is None:
        return
    if vat > vat_left:
        raise TaxPartsError(
            f"vat_amount {vat} is more than the payment's VAT left ({vat_left})."
        )
    _check_rest(tax_free_left - tax_free, vat_left - vat, balance - amount)


def _check_rest(tax_free_rest: Decimal, vat_rest: Decimal, rest: Decimal) -> None:
    """What stays must be refundable: all of it when nothing stays."""
    if rest == 0 and (tax_free_rest or vat_rest):
        raise TaxPartsError(
            "A final refund carries all the payment's parts that are left: "
            f"tax_free {tax_free_rest} and vat_amount {vat_rest} more."
        )
    if tax_free_rest > rest or vat_rest > rest - tax_free_rest:
        raise TaxPartsError(
            f"These parts would leave tax_free {tax_free_rest} and vat_amount "
            f"{vat_rest} in the {rest} that stays, which no refund could take."
        )


def _named(parts: TaxParts) -> tuple[tuple[str, Decimal | None], ...]:
    return (("tax_free", parts.tax_free), ("vat_amount", parts.vat_amount))
