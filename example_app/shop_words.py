"""The shop's own words, in Korean and English, in one place.

A page speaks the language the plugin chose for the buyer
(:func:`flask_nicepay.display.buyer_language`): the checkout's own, else the
browser's, else ``NICEPAY_LANGUAGE``. Money, times, states and payment methods
are written by the plugin's :class:`~flask_nicepay.display.Display`, so the shop
and the checkout say them alike.
"""

from __future__ import annotations

import typing as t

from flask import Flask

from flask_nicepay.display import Display
from flask_nicepay.display import buyer_language
from flask_nicepay.i18n import TEXTS

#: The products' names per language (prices: :data:`example_app.shop.PRODUCTS`).
PRODUCT_NAMES = {
    "tee": {"ko": "반팔 티셔츠", "en": "T-shirt"},
    "hoodie": {"ko": "후드 집업", "en": "Zip hoodie"},
    "mug": {"ko": "머그컵", "en": "Mug"},
}

WORDS: dict[str, dict[str, str]] = {
    "ko": {
        "shop": "예제 상점",
        "products": "상품",
        "orders": "주문 내역",
        "cards": "결제 카드",
        "subscription": "정기 구독",
        "quantity": "수량",
        "email": "이메일",
        "buy": "구매하기",
        "key_in": "카드번호로 결제",
        "order": "주문",
        "order_no": "주문번호",
        "product": "상품",
        "amount": "금액",
        "status": "상태",
        "paid": "결제",
        "refunded": "환불",
        "vbank": "가상계좌",
        "vbank_due": "입금 기한",
        "fail_reason": "실패 사유",
        "pay": "결제하기",
        "history": "이력",
        "refunds": "환불 기록",
        "no_orders": "아직 주문이 없습니다.",
        "sandbox_deposit": "샌드박스: 입금하기",
        "sandbox_deposited": "샌드박스: 가상계좌에 입금했습니다.",
        "confirming_deposit": "입금을 확인하고 있습니다. 잠시만 기다려 주세요.",
        "confirming_slow": "확인이 늦어지고 있습니다. 잠시 후 새로 고쳐 주세요.",
        "unknown_product": "없는 상품입니다. 상품 목록에서 다시 골라 주세요.",
        "bad_quantity": "수량은 1개에서 10개 사이로 입력해 주세요.",
        "bad_email": "이메일 주소를 다시 확인해 주세요.",
        "bad_buyer": "이름과 이메일 주소를 다시 확인해 주세요.",
        "sold_out": (
            "재고가 부족합니다. 수량을 줄이거나 다른 상품을 골라 주세요. "
            "주문은 만들어지지 않았습니다."
        ),
        "stock_left": "남은 수량 {count}개",
        "stock_none": "품절",
        "receipt": "구매 영수증",
        "receipt_no": "영수증 번호",
        "receipt_line": "{amount} · {method} · {moment}",
        "bad_amount": "환불 금액은 0보다 큰 숫자로 입력해 주세요.",
        "no_account": "이 주문에는 입금할 가상계좌가 없습니다.",
        "error_400": "요청을 처리할 수 없습니다",
        "error_404": "페이지를 찾을 수 없습니다",
        "error_405": "허용되지 않는 요청입니다",
        "error_409": "지금은 할 수 없는 요청입니다",
        "error_500": "일시적인 오류가 발생했습니다",
        "error_404_body": "주소가 바뀌었거나 없는 주문입니다.",
        "error_500_body": "잠시 후 다시 시도해 주세요. 문제가 계속되면 알려 주세요.",
        "error_body": "입력한 내용을 확인하고 다시 시도해 주세요.",
        "back_home": "상품 목록으로",
        "sub_incomplete": "결제 대기",
        "sub_trialing": "체험 중",
        "sub_active": "이용 중",
        "sub_retrying": "결제 재시도 중",
        "sub_past_due": "결제 실패로 중지",
        "sub_cancelled": "해지됨",
        "sub_every_month": "매달 {amount}, 등록한 카드로 자동 결제됩니다.",
        "sub_period": "이용 기간",
        "sub_trial": "체험 기간",
        "sub_until": "{moment}까지",
        "sub_then_ends": "(이후 해지)",
        "sub_fail_reason": "결제 실패 사유",
        "sub_resume": "다시 구독하기",
        "sub_cancel": "해지하기",
        "sub_start": "구독 시작하기",
        "sub_card": "결제 카드",
        "sub_needs_card": "구독하려면 먼저 결제 카드를 등록하세요.",
        "sub_ends": "이번 기간이 끝나면 해지됩니다.",
        "sub_resumed": "구독을 다시 이어갑니다.",
        "sub_failed": "처리하지 못했습니다:",
        "card_title": "정기결제 카드",
        "card_default": "카드",
        "card_change": "다른 카드로 바꾸기",
        "card_none": "등록된 카드가 없습니다.",
        "card_add": "카드 등록하기",
        "plan_name": "월간 원두 구독",
    },
    "en": {
        "shop": "Example shop",
        "products": "Products",
        "orders": "Orders",
        "cards": "Payment card",
        "subscription": "Subscription",
        "quantity": "Quantity",
        "email": "E-mail",
        "buy": "Buy",
        "key_in": "Pay by card number",
        "order": "Order",
        "order_no": "Order number",
        "product": "Product",
        "amount": "Amount",
        "status": "Status",
        "paid": "Paid",
        "refunded": "Refunded",
        "vbank": "Virtual account",
        "vbank_due": "Deposit by",
        "fail_reason": "Reason",
        "pay": "Pay",
        "history": "History",
        "refunds": "Refunds",
        "no_orders": "No orders yet.",
        "sandbox_deposit": "Sandbox: make the deposit",
        "sandbox_deposited": "Sandbox: the deposit was made into the virtual account.",
        "confirming_deposit": "Confirming the deposit. One moment, please.",
        "confirming_slow": "This is taking longer than usual. Please reload shortly.",
        "unknown_product": "There is no such product. Please choose one from the list.",
        "bad_quantity": "Please enter a quantity from 1 to 10.",
        "bad_email": "Please check the e-mail address.",
        "bad_buyer": "Please check your name and e-mail address.",
        "sold_out": (
            "Not enough left in stock. Please order fewer, or choose another "
            "product; no order was made."
        ),
        "stock_left": "{count} left",
        "stock_none": "Sold out",
        "receipt": "Store receipt",
        "receipt_no": "Receipt number",
        "receipt_line": "{amount} · {method} · {moment}",
        "bad_amount": "Please enter a refund amount above zero, in digits.",
        "no_account": "This order has no virtual account to pay into.",
        "error_400": "The request could not be handled",
        "error_404": "Page not found",
        "error_405": "This request is not allowed",
        "error_409": "This cannot be done now",
        "error_500": "Something went wrong on our side",
        "error_404_body": "The address has changed, or there is no such order.",
        "error_500_body": "Please try again shortly; tell us if it keeps happening.",
        "error_body": "Please check what you entered and try again.",
        "back_home": "Back to the products",
        "sub_incomplete": "Awaiting payment",
        "sub_trialing": "On trial",
        "sub_active": "Active",
        "sub_retrying": "Retrying the payment",
        "sub_past_due": "Stopped: payment failed",
        "sub_cancelled": "Cancelled",
        "sub_every_month": "{amount} a month, charged to your registered card.",
        "sub_period": "Current period",
        "sub_trial": "Trial",
        "sub_until": "until {moment}",
        "sub_then_ends": "(then ends)",
        "sub_fail_reason": "Why the payment failed",
        "sub_resume": "Subscribe again",
        "sub_cancel": "Cancel",
        "sub_start": "Start the subscription",
        "sub_card": "Payment card",
        "sub_needs_card": "Register a payment card first to subscribe.",
        "sub_ends": "The subscription ends with this period.",
        "sub_resumed": "The subscription goes on.",
        "sub_failed": "This could not be done:",
        "card_title": "Card for recurring payments",
        "card_default": "Card",
        "card_change": "Use another card",
        "card_none": "No card is registered.",
        "card_add": "Register a card",
        "plan_name": "Monthly coffee box",
    },
}
# One wording for test mode, on the shop's pages and the checkout's alike.
for _language, _words in WORDS.items():
    _words["sandbox_notice"] = TEXTS[_language]["sandbox_notice"]


def words() -> t.Mapping[str, str]:
    """The shop's words in the current buyer's language."""
    return WORDS[buyer_language()]


def product_name(product_id: str, language: str) -> str:
    """A product's name in ``language``."""
    return PRODUCT_NAMES[product_id][language]


def init_app(app: Flask) -> None:
    """Give every template the language, the words and the plugin's display."""

    @app.context_processor
    def _language() -> dict[str, t.Any]:
        language = buyer_language()
        return {
            "lang": language,
            "w": WORDS[language],
            "show": Display(language),
            "product_name": lambda pid: product_name(pid, language),
        }
