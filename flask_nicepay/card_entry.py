"""Card data typed into a form, checked before anything is sent to PortOne.

NICE's old module issues billing keys and takes key-in payments through the REST
API only, so the store collects the card itself. Every rule PortOne or NICE would
apply and that can be checked locally is checked here first, so the buyer hears
at once what to fix and a typo never reaches the card company (where repeated
failures can block the card):

* the number: 14 to 19 digits (spaces and dashes allowed) with a valid Luhn check
  digit;
* the expiry: ``YYYY-MM``, not before the current month (a card is valid to the
  end of its expiry month), Korean time;
* the birth date ``YYMMDD`` of a personal card, or the 10-digit business
  registration number of a corporate one;
* the first two digits of the card password;
* installments (``card_quota``): 0 for a lump sum, else 2 to 12 months, and only
  from 50,000 KRW (NICE's code 3024).

What comes back names the fields and the rules they broke, never the values:
a page shows the message and asks for the field again, empty.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing as t
from decimal import Decimal

from .checkout import KST
from .portone import Card

#: The smallest amount NICE lets a buyer pay in installments (KRW).
INSTALLMENT_MINIMUM = Decimal(50_000)
#: The installment months a form may offer.
QUOTA_MONTHS = range(2, 13)
#: Longer values are refused before they are looked at.
MAX_FIELD = 64

_SEPARATORS = re.compile(r"[\s-]")
_EXPIRY = re.compile(r"(\d{4})-(\d{2})")


@dataclasses.dataclass(frozen=True, slots=True)
class CardEntry:
    """A card that passed every check, and the installments chosen."""

    card: Card
    card_quota: int = 0

    def __repr__(self) -> str:
        return f"CardEntry({self.card!r}, card_quota={self.card_quota})"


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits ends in a valid Luhn check digit."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char)
        if i % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def read_card(
    form: t.Mapping[str, str],
    *,
    now: dt.datetime,
    amount: Decimal | None = None,
) -> tuple[CardEntry | None, dict[str, str]]:
    """Check the card fields of a submitted form.

    :param form: ``card_number``, ``expiry``, ``birth``, ``pwd_2digit`` and, for a
        payment, ``card_quota``.
    :param now: the current time (an aware datetime).
    :param amount: the payment's amount in KRW; ``None`` when only a billing key
        is issued, where installments do not apply.
    :returns: the card, or ``None`` and, per field, the rule it broke (a key of
        :data:`flask_nicepay.i18n.TEXTS`).
    """
    values = {name: _field(form, name) for name in _RULES}
    errors = {
        name: error
        for name, rule in _RULES.items()
        if (error := rule(values[name], now)) is not None
    }
    quota, quota_error = _quota(_field(form, "card_quota"), amount)
    if quota_error is not None:
        errors["card_quota"] = quota_error
    if errors:
        return None, errors
    card = Card(
        number=_SEPARATORS.sub("", values["card_number"]),
        expiry=values["expiry"],
        birth=values["birth"],
        pwd_2digit=values["pwd_2digit"],
    )
    return CardEntry(card, quota), {}


def _field(form: t.Mapping[str, str], name: str) -> str:
    value = form.get(name) or ""
    return value.strip() if len(value) <= MAX_FIELD else "\x00"


def _number(value: str, now: dt.datetime) -> str | None:
    digits = _SEPARATORS.sub("", value)
    if not (digits.isascii() and digits.isdigit() and 14 <= len(digits) <= 19):
        return "card_number_format"
    return None if luhn_ok(digits) else "card_number_check"


def _expiry(value: str, now: dt.datetime) -> str | None:
    match = _EXPIRY.fullmatch(value)
    if match is None or not 1 <= int(match[2]) <= 12:
        return "expiry_format"
    today = now.astimezone(KST)
    expiry = (int(match[1]), int(match[2]))
    if expiry < (today.year, today.month):
        return "expiry_past"
    return "expiry_format" if expiry[0] > today.year + 20 else None


def _birth(value: str, now: dt.datetime) -> str | None:
    if not (value.isascii() and value.isdigit()):
        return "birth_format"
    if len(value) == 10:
        return None
    if len(value) != 6:
        return "birth_format"
    try:  # any century: 2000 is a leap year, so 29 February passes
        dt.date(2000, int(value[2:4]), int(value[4:6]))
    except ValueError:
        return "birth_format"
    return None


def _password(value: str, now: dt.datetime) -> str | None:
    ok = len(value) == 2 and value.isascii() and value.isdigit()
    return None if ok else "pwd_2digit_format"


_RULES: dict[str, t.Callable[[str, dt.datetime], str | None]] = {
    "card_number": _number,
    "expiry": _expiry,
    "birth": _birth,
    "pwd_2digit": _password,
}


def _quota(value: str, amount: Decimal | None) -> tuple[int, str | None]:
    if amount is None or value in ("", "0"):
        return 0, None
    if not (value.isascii() and value.isdigit()) or int(value) not in QUOTA_MONTHS:
        return 0, "card_quota_format"
    if amount < INSTALLMENT_MINIMUM:
        return 0, "card_quota_minimum"
    return int(value), None
