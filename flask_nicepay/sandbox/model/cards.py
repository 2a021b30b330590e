"""Test cards, card checks and masking.

A card's *behaviour* decides what NICE would answer for it: approve, decline at
approval, or reject the card data while authenticating (which PortOne reports as
``code -1``). The sandbox keeps only a :class:`CardProfile` after a call (masked
number, company, type, behaviour), never the full number, birth date or password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Final
from typing import Literal

from .codes import CARD_COMPANIES
from .values import KST

Behaviour = Literal[
    "approve", "decline", "auth_fail", "expired", "insufficient", "invalid"
]

#: Card payments below this many won are refused by NICE (code 3041).
MIN_CARD_KRW: Final = Decimal(1000)
#: Installments need at least this many won (code 3024).
MIN_INSTALLMENT_KRW: Final = Decimal(50000)

INVALID_NUMBER: Final = "[F112]유효하지않은 카드번호를 입력하셨습니다."
AUTH_FAILED: Final = "[F113]본인의 신용카드 확인중 오류"
EXPIRED: Final = "[3021]유효기간 오류"
LIMIT_EXCEEDED: Final = "[3095]카드사 실패 응답(한도초과)"
NO_BALANCE: Final = "[3095]카드사 실패 응답(잔액부족)"
BELOW_MINIMUM: Final = "[3041]금액 오류(1000원 미만 신용카드 승인 불가)"
BAD_QUOTA: Final = "[3022]할부개월오류"
QUOTA_BELOW_MINIMUM: Final = "[3024]할부 최소금액 오류(50000미만)"


@dataclass(frozen=True)
class TestCard:
    """A card number with a known outcome.

    :param number: the number as the API wants it, ``dddd-dddd-dddd-dddd``.
    :param card_code: KFTC card-company code reported in ``card_code``.
    :param card_type: 0 credit, 1 check.
    :param behaviour: what happens when it is used.
    :param note: one line for the documentation table.
    """

    __test__ = False  # a name pytest would otherwise collect

    number: str
    card_code: str
    card_type: int
    behaviour: Behaviour
    note: str

    @property
    def card_name(self) -> str:
        """The card company's name, as ``card_name`` reports it."""
        return CARD_COMPANIES[self.card_code]


def _cards(*cards: TestCard) -> MappingProxyType[str, TestCard]:
    return MappingProxyType({card.number: card for card in cards})


#: The test cards by number. Numbers are the well-known Luhn-valid test numbers.
TEST_CARDS: Final = _cards(
    TestCard("4242-4242-4242-4242", "366", 0, "approve", "approves (신한 credit)"),
    TestCard("5555-5555-5555-4444", "365", 0, "approve", "approves (삼성 credit)"),
    TestCard("5105-1051-0510-5100", "361", 0, "approve", "approves (BC credit)"),
    TestCard("3530-1113-3330-0000", "367", 0, "approve", "approves (현대 credit)"),
    TestCard("4000-0566-5566-5556", "368", 1, "approve", "approves (롯데 check)"),
    TestCard("4000-0000-0000-9995", "374", 0, "decline", f"declined: {LIMIT_EXCEEDED}"),
    TestCard("4000-0000-0000-0002", "041", 0, "auth_fail", f"rejected: {AUTH_FAILED}"),
    TestCard("4000-0000-0000-0069", "365", 0, "expired", f"rejected: {EXPIRED}"),
    TestCard(
        "4000-0000-0000-0341",
        "366",
        1,
        "insufficient",
        f"issues a billing key; payments declined: {NO_BALANCE}",
    ),
    TestCard("4242-4242-4242-4241", "366", 0, "invalid", f"rejected: {INVALID_NUMBER}"),
)

#: The card a window checkout uses when the caller names none.
DEFAULT_CARD: Final = TEST_CARDS["4242-4242-4242-4242"]
_GENERIC_CODE: Final = "361"
_NUMBER = re.compile(r"\d{4}-?\d{4}-?\d{4}-?\d{3,4}")
_EXPIRY = re.compile(r"(\d{4})-?(\d{2})")


@dataclass(frozen=True)
class CardProfile:
    """What the sandbox remembers about a card: nothing that could charge it.

    :param card_code: KFTC card-company code.
    :param card_name: card-company name.
    :param card_type: 0 credit, 1 check.
    :param card_number: masked number, digits 7 to 12 replaced by ``*``.
    :param behaviour: the outcome of payments with this card.
    """

    card_code: str
    card_name: str
    card_type: int
    card_number: str
    behaviour: Behaviour


class CardRejected(Exception):
    """NICE refused the card data; the text is ``[<NICE code>]<NICE message>``.

    :param reason: the NICE text.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def mask(digits: str) -> str:
    """Mask digits 7 to 12 the way ``card_number`` shows a card.

    :param digits: the card number without separators.
    """
    return digits[:6] + "*" * len(digits[6:12]) + digits[12:]


def luhn_ok(digits: str) -> bool:
    """Whether a number passes the Luhn check every real card number passes.

    :param digits: the card number without separators.
    """
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def profile_for(number: str) -> CardProfile:
    """Look a card number up, rejecting a malformed or Luhn-invalid one (F112).

    Unknown numbers that pass the checks approve as a BC credit card, so any
    plausible number works in the sandbox.

    :param number: the number as given, with or without dashes.
    """
    if not _NUMBER.fullmatch(number):
        raise CardRejected(INVALID_NUMBER)
    digits = number.replace("-", "")
    known = TEST_CARDS.get("-".join(digits[i : i + 4] for i in range(0, 16, 4)))
    if known is None and not luhn_ok(digits):
        raise CardRejected(INVALID_NUMBER)
    if known is None:
        known = TestCard(number, _GENERIC_CODE, 0, "approve", "")
    if known.behaviour == "invalid":
        raise CardRejected(INVALID_NUMBER)
    return CardProfile(
        known.card_code, known.card_name, known.card_type, mask(digits), known.behaviour
    )


def profile_for_code(card_code: str) -> CardProfile:
    """The profile a window checkout gets when only a card company is named.

    :param card_code: KFTC card-company code (``card.direct.code``).
    """
    for card in TEST_CARDS.values():
        if card.card_code == card_code and card.behaviour == "approve":
            return profile_for(card.number)
    if card_code not in CARD_COMPANIES:
        raise CardRejected(INVALID_NUMBER)
    return CardProfile(
        card_code, CARD_COMPANIES[card_code], 0, "000000******0000", "approve"
    )


def authenticate(
    number: str, expiry: str, birth: str | None, pwd_2digit: str | None, now: int
) -> CardProfile:
    """Check card data the way a key-in payment or billing-key issue does.

    :param number: card number.
    :param expiry: ``YYYY-MM``.
    :param birth: YYMMDD, or a 10-digit business number; optional.
    :param pwd_2digit: first two digits of the card password; optional.
    :param now: sandbox time, to refuse an expired card.
    :raises CardRejected: with NICE's text.
    """
    profile = profile_for(number)
    _check_expiry(expiry, now)
    if birth is not None and not re.fullmatch(r"\d{6}|\d{10}", birth):
        raise CardRejected(AUTH_FAILED)
    if pwd_2digit is not None and not re.fullmatch(r"\d{2}", pwd_2digit):
        raise CardRejected(AUTH_FAILED)
    if profile.behaviour == "auth_fail":
        raise CardRejected(AUTH_FAILED)
    if profile.behaviour == "expired":
        raise CardRejected(EXPIRED)
    return profile


def _check_expiry(expiry: str, now: int) -> None:
    match = _EXPIRY.fullmatch(expiry)
    if not match or not 1 <= int(match[2]) <= 12:
        raise CardRejected(EXPIRED)
    year, month = int(match[1]), int(match[2])
    first_of_next = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=KST)
    if first_of_next.timestamp() <= now:
        raise CardRejected(EXPIRED)


def approval_failure(
    profile: CardProfile, amount: Decimal, currency: str, quota: int
) -> str | None:
    """NICE's reason for declining an approval, or None when it approves.

    :param profile: the card.
    :param amount: the amount to approve.
    :param currency: ``KRW`` or ``USD``.
    :param quota: installment months, 0 for a lump sum.
    """
    if currency == "KRW" and amount < MIN_CARD_KRW:
        return BELOW_MINIMUM
    if quota == 1 or not 0 <= quota <= 36:
        return BAD_QUOTA
    if quota and (currency != "KRW" or amount < MIN_INSTALLMENT_KRW):
        return QUOTA_BELOW_MINIMUM
    return _BEHAVIOUR_FAILURES.get(profile.behaviour)


_BEHAVIOUR_FAILURES: Final[dict[str, str]] = {
    "decline": LIMIT_EXCEEDED,
    "insufficient": NO_BALANCE,
    "auth_fail": AUTH_FAILED,
    "expired": EXPIRED,
}
