"""The few words the built-in pages say, in Korean and English, in one place.

Templates get a ``t`` mapping for the page's language; a store that wants other
words overrides the templates (``templates/nicepay/*.html``) in its own app. Which
language a page speaks, and how money and times are written in it, is
:mod:`flask_nicepay.display`'s business.

Two languages and a few dozen sentences are kept as a table rather than gettext
catalogues: the table ships with the code, needs no compile step, and a test can
check that both languages have every key.
"""

from __future__ import annotations

import typing as t

#: The words of the built-in pages, by language and key. The card checks of
#: :mod:`flask_nicepay.card_entry` answer with keys of it.
TEXTS: dict[str, dict[str, str]] = {
    "ko": {
        "checkout_title": "결제하기",
        "order": "주문",
        "amount": "결제 금액",
        "pay_method": "결제 수단",
        "pay": "결제하기",
        "card": "신용카드",
        "trans": "실시간 계좌이체",
        "vbank": "가상계좌",
        "phone": "휴대폰 소액결제",
        "kakaopay": "카카오페이",
        "vbank_due": "입금 기한",
        "confirming_title": "결제를 확인하고 있습니다",
        "confirming_body": (
            "PortOne에 결제 결과를 확인하는 중입니다. 이 창을 닫지 마세요."
        ),
        "confirming_slow": (
            "확인이 늦어지고 있습니다. 잠시 후 주문 내역에서 확인해 주세요."
        ),
        "result_title": "결제 결과",
        "state_ready": "결제가 완료되지 않았습니다.",
        "state_vbank_issued": "가상계좌가 발급되었습니다. 기한 안에 입금해 주세요.",
        "state_paid": "결제가 완료되었습니다.",
        "state_partially_cancelled": "결제 금액의 일부가 환불되었습니다.",
        "state_cancelled": "결제가 취소되었습니다.",
        "state_failed": "결제에 실패했습니다.",
        "state_expired": "입금 기한이 지났습니다.",
        "state_mismatch": "결제 금액이 주문과 달라 처리하지 않았습니다.",
        "status_ready": "결제 대기",
        "status_vbank_issued": "입금 대기",
        "status_paid": "결제 완료",
        "status_partially_cancelled": "부분 환불",
        "status_cancelled": "결제 취소",
        "status_failed": "결제 실패",
        "status_expired": "입금 기한 지남",
        "status_mismatch": "금액 불일치",
        "status": "상태",
        "failed_because": "결제가 이루어지지 않았습니다. 결제사가 알려 온 사유:",
        "receipt": "영수증",
        "receipt_view": "영수증 보기",
        "receipt_refund": "환불",
        "refund_succeeded": "환불 완료",
        "refund_pending": "환불 처리 중",
        "refund_held": "환불 처리 중",
        "refund_unknown": "환불 확인 중",
        "refund_failed": "환불 실패",
        "bank": "은행",
        "account": "계좌번호",
        "holder": "예금주",
        "try_again": "다시 결제하기",
        "not_payable": "이 주문은 지금 결제할 수 없습니다.",
        "unavailable": "결제 서버에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
        "error_title": "요청을 처리할 수 없습니다",
        "bad_request": "요청을 읽을 수 없습니다. 처음부터 다시 시도해 주세요.",
        "bad_query": "주소를 읽을 수 없습니다. 받은 링크를 다시 확인해 주세요.",
        "checkout_invalid": (
            "이 주문은 지금 설정으로는 결제할 수 없습니다. 상점에 문의해 주세요."
        ),
        "checkout_link_invalid": (
            "결제 링크가 바뀌었거나 올바르지 않습니다. 상점에서 다시 시작해 주세요."
        ),
        "return_invalid": (
            "결제 창에서 돌아온 결과를 읽을 수 없습니다. 주문 내역에서 결제 "
            "상태를 확인해 주세요."
        ),
        "too_large": "보낸 내용이 너무 큽니다. 다시 입력해 주세요.",
        "sdk_missing": (
            "결제 창을 불러오지 못했습니다. 잠시 후 페이지를 새로 고쳐 주세요."
        ),
        "sandbox_notice": "테스트 모드: 실제로 결제되지 않습니다.",
        "needs_js": "결제하려면 자바스크립트를 켜 주세요.",
        "card_number_format": "카드번호는 숫자 14~19자리입니다.",
        "card_number_check": "카드번호가 올바르지 않습니다. 다시 확인해 주세요.",
        "expiry_format": "유효기간을 YYYY-MM 형식으로 입력해 주세요.",
        "expiry_past": "유효기간이 지난 카드입니다.",
        "birth_format": (
            "생년월일 6자리(YYMMDD) 또는 사업자등록번호 10자리를 입력해 주세요."
        ),
        "pwd_2digit_format": "카드 비밀번호 앞 2자리를 입력해 주세요.",
        "card_quota_format": "할부 개월 수를 다시 선택해 주세요.",
        "card_quota_minimum": "할부는 50,000원 이상 결제에만 가능합니다.",
        "card_register_title": "카드 등록",
        "card_register_body": (
            "정기결제에 사용할 카드를 등록합니다. 카드 정보는 결제대행사에만 "
            "전달되며 이 사이트에 저장되지 않습니다."
        ),
        "card_register_submit": "카드 등록하기",
        "card_number": "카드번호",
        "card_expiry": "유효기간 (YYYY-MM)",
        "card_birth": "생년월일 6자리 또는 사업자등록번호",
        "card_birth_hint": "법인카드는 사업자등록번호 10자리",
        "card_pwd_2digit": "카드 비밀번호 앞 2자리",
        "card_refused": "카드를 등록하지 못했습니다.",
        "card_link_invalid": (
            "이 링크는 만료되었거나 올바르지 않습니다. 처음부터 다시 시도해 주세요."
        ),
        "card_form_expired": "입력 화면이 만료되었습니다. 다시 입력해 주세요.",
        "card_too_many": (
            "시도 횟수가 너무 많습니다. 한 시간 뒤에 다시 시도해 주세요."
        ),
        "card_https_only": "카드 정보는 보안 연결(HTTPS)에서만 입력할 수 있습니다.",
        "key_in_title": "카드 결제",
        "key_in_body": (
            "카드 정보를 입력해 결제합니다. 카드 정보는 결제대행사에만 전달되며 "
            "이 사이트에 저장되지 않습니다."
        ),
        "card_quota": "할부",
        "card_quota_lump": "일시불",
        "card_quota_months": "{}개월",
        "keep_card": "이 카드를 등록해 다음 결제에도 사용합니다",
        "key_in_refused": "카드 정보를 확인하지 못했습니다.",
        "key_in_declined": "카드사에서 결제를 승인하지 않았습니다.",
        "key_in_busy": (
            "이 주문의 결제가 진행 중입니다. 잠시 후 다시 열어 결과를 확인해 주세요."
        ),
        "key_in_unknown": (
            "결제 결과를 아직 확인하지 못했습니다. 잠시 후 다시 열어 확인해 주세요."
        ),
        "order_not_found": "주문을 찾을 수 없습니다.",
        "continue": "계속",
        "reload": "다시 확인하기",
    },
    "en": {
        "checkout_title": "Checkout",
        "order": "Order",
        "amount": "Amount",
        "pay_method": "Payment method",
        "pay": "Pay",
        "card": "Credit card",
        "trans": "Bank transfer",
        "vbank": "Virtual account",
        "phone": "Mobile phone",
        "kakaopay": "KakaoPay",
        "vbank_due": "Deposit by",
        "confirming_title": "Confirming your payment",
        "confirming_body": "We are checking the result with PortOne. Please keep this page open.",
        "confirming_slow": "This is taking longer than usual. Please check your order later.",
        "result_title": "Payment result",
        "state_ready": "The payment was not completed.",
        "state_vbank_issued": "A virtual account was issued. Please deposit before the deadline.",
        "state_paid": "Payment complete.",
        "state_partially_cancelled": "Part of the payment was refunded.",
        "state_cancelled": "The payment was cancelled.",
        "state_failed": "The payment failed.",
        "state_expired": "The deposit deadline has passed.",
        "state_mismatch": "The amount paid did not match the order, so it was not accepted.",
        "status_ready": "Awaiting payment",
        "status_vbank_issued": "Awaiting deposit",
        "status_paid": "Paid",
        "status_partially_cancelled": "Partly refunded",
        "status_cancelled": "Cancelled",
        "status_failed": "Payment failed",
        "status_expired": "Deposit deadline passed",
        "status_mismatch": "Amount mismatch",
        "status": "Status",
        "failed_because": "The payment did not go through. The reason given by the card company or bank:",
        "receipt": "Receipt",
        "receipt_view": "View receipt",
        "receipt_refund": "Refund",
        "refund_succeeded": "Refunded",
        "refund_pending": "Refund in progress",
        "refund_held": "Refund in progress",
        "refund_unknown": "Refund being checked",
        "refund_failed": "Refund failed",
        "bank": "Bank",
        "account": "Account",
        "holder": "Holder",
        "try_again": "Try again",
        "not_payable": "This order cannot be paid now.",
        "unavailable": "The payment service cannot be reached. Please try again shortly.",
        "error_title": "The request could not be handled",
        "bad_request": "The request could not be read. Please start again.",
        "bad_query": "The address could not be read. Please check the link you were given.",
        "checkout_invalid": (
            "This order cannot be paid as it is set up. Please contact the store."
        ),
        "checkout_link_invalid": (
            "This payment link was changed or is not valid. Please start again "
            "from the store."
        ),
        "return_invalid": (
            "The result the payment window sent back could not be read. Please "
            "check the payment in your order history."
        ),
        "too_large": "What was sent is too large. Please enter it again.",
        "sdk_missing": (
            "The payment window could not be loaded. Please reload the page shortly."
        ),
        "sandbox_notice": "Test mode: no real payment is made.",
        "needs_js": "Please enable JavaScript to pay.",
        "card_number_format": "A card number has 14 to 19 digits.",
        "card_number_check": "This card number is not valid. Please check it.",
        "expiry_format": "Enter the expiry date as YYYY-MM.",
        "expiry_past": "This card has expired.",
        "birth_format": (
            "Enter your birth date (YYMMDD, 6 digits) or the 10-digit business "
            "registration number."
        ),
        "pwd_2digit_format": "Enter the first 2 digits of the card password.",
        "card_quota_format": "Choose the number of installment months again.",
        "card_quota_minimum": "Installments are only for payments of 50,000 KRW or more.",
        "card_register_title": "Register a card",
        "card_register_body": (
            "Register the card for recurring payments. The card details go to the "
            "payment provider only and are not stored on this site."
        ),
        "card_register_submit": "Register card",
        "card_number": "Card number",
        "card_expiry": "Expiry (YYYY-MM)",
        "card_birth": "Birth date (YYMMDD) or business registration number",
        "card_birth_hint": "Corporate cards: the 10-digit business number",
        "card_pwd_2digit": "First 2 digits of the card password",
        "card_refused": "The card could not be registered.",
        "card_link_invalid": (
            "This link has expired or is not valid. Please start again."
        ),
        "card_form_expired": "This form has expired. Please enter the card again.",
        "card_too_many": "Too many attempts. Please try again in an hour.",
        "card_https_only": "Card details can only be entered over a secure (HTTPS) connection.",
        "key_in_title": "Pay by card",
        "key_in_body": (
            "Enter your card to pay. The card details go to the payment provider "
            "only and are not stored on this site."
        ),
        "card_quota": "Installments",
        "card_quota_lump": "Pay in full",
        "card_quota_months": "{} months",
        "keep_card": "Keep this card for my next payments",
        "key_in_refused": "The card could not be verified.",
        "key_in_declined": "The card company declined the payment.",
        "key_in_busy": (
            "This order is being paid right now. Open this page again shortly "
            "to see the result."
        ),
        "key_in_unknown": (
            "The result of the payment is not known yet. Open this page again "
            "shortly to see it."
        ),
        "order_not_found": "The order was not found.",
        "continue": "Continue",
        "reload": "Check again",
    },
}


#: The languages the built-in pages speak; the first is the fallback.
LANGUAGES: tuple[str, ...] = tuple(TEXTS)


def texts(language: str) -> t.Mapping[str, str]:
    """The words for ``language`` (Korean when unknown)."""
    return TEXTS.get(language, TEXTS["ko"])
