"""What the SDK's payment window page shows: labels, the amount, the buyer's choices.

Only presentation lives here. Which installments are *offered* is the engine's
:func:`~flask_nicepay.sandbox.engine.window.installment_menu` (``display.card_quota``,
``card.direct``, NICE's own menu, the 50,000 KRW minimum); whatever the buyer sends
back is judged again by :func:`~flask_nicepay.sandbox.engine.window.complete`, so the
page cannot make a rule looser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from typing import Final

from ..engine.window import installment_menu
from ..model import cards
from ..model.codes import BANKS
from ..model.codes import CARD_COMPANIES
from ..model.codes import DEFAULT_BANK
from ..model.records import Window

#: Banks listed first in the vbank select, the ones buyers use most.
COMMON_BANKS: Final = ("004", "088", "020", "081", "011")

LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "ko": {
        "title": "결제창",
        "sandbox": "테스트 결제창입니다. 실제로 결제되지 않습니다.",
        "order": "상품명",
        "amount": "결제금액",
        "method": "결제수단",
        "card": "카드",
        "quota": "할부",
        "lump_sum": "일시불",
        "months": "{n}개월",
        "bank": "입금 은행",
        "approve": "결제하기",
        "decline": "결제 거절",
        "close": "닫기",
        "issue_vbank": "가상계좌 발급",
        "working": "처리 중입니다…",
        "failed": "처리하지 못했습니다",
        "done": "결제 결과를 상점으로 전달했습니다.",
        "direct": "카드사 바로가기",
        "card.approve": "승인",
        "card.decline": "승인 거절(한도초과)",
        "card.auth_fail": "카드 인증 실패",
        "card.expired": "유효기간 오류",
        "card.insufficient": "승인 거절(잔액부족)",
        "card.invalid": "잘못된 카드번호",
        "pay.card": "신용카드",
        "pay.trans": "실시간 계좌이체",
        "pay.vbank": "가상계좌",
        "pay.phone": "휴대폰 소액결제",
        "pay.kakaopay": "카카오페이",
    },
    "en": {
        "title": "Payment",
        "sandbox": "This is a test payment window. No money moves.",
        "order": "Item",
        "amount": "Amount",
        "method": "Method",
        "card": "Card",
        "quota": "Installments",
        "lump_sum": "Pay in full",
        "months": "{n} months",
        "bank": "Bank",
        "approve": "Pay",
        "decline": "Decline",
        "close": "Close",
        "issue_vbank": "Issue virtual account",
        "working": "Processing…",
        "failed": "Could not complete",
        "done": "The result was sent to the store.",
        "direct": "Card company shortcut",
        "card.approve": "approves",
        "card.decline": "declined (limit exceeded)",
        "card.auth_fail": "card authentication fails",
        "card.expired": "expired",
        "card.insufficient": "declined (insufficient funds)",
        "card.invalid": "invalid number",
        "pay.card": "Credit card",
        "pay.trans": "Bank transfer",
        "pay.vbank": "Virtual account",
        "pay.phone": "Mobile phone",
        "pay.kakaopay": "KakaoPay",
    },
}


@dataclass(frozen=True)
class Choice:
    """One ``<option>`` of a select.

    :param value: what is sent back.
    :param label: what the buyer reads.
    :param selected: the preselected option.
    """

    value: str
    label: str
    selected: bool = False


def amount_text(amount: Decimal | float, currency: str, language: str) -> str:
    """The amount as the buyer reads it: ``15,000원``, ``KRW 15,000``, ``USD 10.10``.

    :param amount: the payment amount.
    :param currency: ``KRW`` or ``USD``.
    :param language: ``ko`` or ``en``.
    """
    if currency == "KRW":
        won = f"{int(amount):,}"
        return f"{won}원" if language == "ko" else f"KRW {won}"
    return f"{currency} {Decimal(str(amount)):,.2f}"


def card_choices(window: Window, labels: Mapping[str, str]) -> list[Choice]:
    """The test cards; ``card.direct`` adds its company first, preselected.

    An empty value means "the company ``card.direct`` named", which
    :func:`~flask_nicepay.sandbox.engine.window.complete` reads from the window.

    :param window: what ``request_pay`` asked for.
    :param labels: the window's labels.
    """
    direct = CARD_COMPANIES.get(window.direct_code or "")
    choices = [
        Choice(
            card.number,
            f"{card.card_name} {card.number} · {labels['card.' + card.behaviour]}",
            card is cards.DEFAULT_CARD and direct is None,
        )
        for card in cards.TEST_CARDS.values()
    ]
    if direct is not None:
        choices.insert(0, Choice("", f"{direct} ({labels['direct']})", True))
    return choices


def quota_choices(
    window: Window, amount: Decimal | float, currency: str, labels: Mapping[str, str]
) -> list[Choice]:
    """The installment menu, first entry preselected; nothing for a lump sum only.

    :param window: what ``request_pay`` asked for.
    :param amount: the payment amount.
    :param currency: its currency.
    :param labels: the window's labels.
    """
    menu = installment_menu(window, amount, currency)
    if menu == (0,):
        return []
    return [
        Choice(
            str(n),
            labels["lump_sum"] if n == 0 else labels["months"].format(n=n),
            i == 0,
        )
        for i, n in enumerate(menu)
    ]


def bank_choices() -> list[Choice]:
    """Every KFTC bank, the common ones first; 신한은행 preselected as by default."""
    order = [*COMMON_BANKS, *(code for code in BANKS if code not in COMMON_BANKS)]
    return [
        Choice(code, f"{BANKS[code]} ({code})", code == DEFAULT_BANK) for code in order
    ]


def window_view(
    payment: Mapping[str, Any], window: Window, merchant_name: str, language: str
) -> dict[str, Any]:
    """Everything the window template shows.

    :param payment: the attempt's Payment JSON.
    :param window: what ``request_pay`` asked for.
    :param merchant_name: the store's name.
    :param language: ``ko`` or ``en``.
    """
    labels = LABELS[language]
    amount, currency = payment["amount"], payment["currency"]
    return {
        "language": language,
        "t": labels,
        "merchant_name": merchant_name,
        "order_name": payment["name"] or payment["merchant_uid"],
        "merchant_uid": payment["merchant_uid"],
        "amount": amount_text(amount, currency, language),
        "pay_method": payment["pay_method"],
        "pay_method_label": labels["pay." + payment["pay_method"]],
        "cards": card_choices(window, labels),
        "quotas": quota_choices(window, amount, currency, labels),
        "banks": bank_choices(),
    }
