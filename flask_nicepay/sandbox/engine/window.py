"""The payment window: what ``IMP.request_pay`` checks, and how the buyer finishes.

:func:`open_window` refuses exactly where the SDK refuses before the window opens
(raising :class:`~flask_nicepay.sandbox.CheckoutRefused`, no payment created) and
otherwise creates the ``ready`` attempt. :func:`complete` applies the buyer's outcome.
:func:`callback_rsp` and :func:`redirect_query` build what the browser receives.
A failed or abandoned attempt leaves the order payable: the next window is a new
``imp_uid`` for the same ``merchant_uid``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from typing import Final

from ..model import cards
from ..model.codes import DEFAULT_BANK
from ..model.pg_settings import PgSetting
from ..model.record_store import Ledger
from ..model.records import CardUse
from ..model.records import Payment
from ..model.records import Window
from ..model.sandbox_errors import CheckoutRefused
from ..model.sandbox_errors import SandboxError
from ..model.sandbox_errors import not_found
from ..model.values import Params
from ..model.values import parse_due
from .payment_attempts import ALREADY_PAID
from .payment_attempts import Order
from .payment_attempts import setting_of
from .payment_attempts import settle
from .payment_attempts import start
from .vbanks import DEFAULT_DUE
from .vbanks import check_account
from .vbanks import issue

PAY_METHODS: Final = ("card", "trans", "vbank", "phone", "kakaopay")
OUTCOMES: Final = ("approve", "decline", "close")
CHANNELS: Final = ("pc", "mobile")
BAD_PARAMETER: Final = "F400"
PREPARED_MISMATCH: Final = "F1001"
ALREADY_PAID_CODE: Final = "F1002"
CLOSED_MSG: Final = "[결제포기] 사용자가 결제를 취소하셨습니다"
#: The installment menu of NICE's own window, when ``display.card_quota`` is not
#: sent: lump sum and 2 to 12 months (the sandbox's choice; see
#: docs/sandbox/pg-settings.rst).
NICE_MENU: Final = (0, *range(2, 13))
NOT_OFFERED: Final = "결제창에서 선택할 수 없는 할부개월입니다"
USER_AGENTS: Final = {
    "pc": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "mobile": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
}
DECLINES: Final = {
    "card": cards.LIMIT_EXCEEDED,
    "kakaopay": cards.LIMIT_EXCEEDED,
    "trans": "[4009]계좌이체 실패(잔액부족)",
    "phone": "[A009]휴대폰 결제 실패(한도초과)",
    "vbank": "[4101]가상계좌 발급 실패",
}


def open_window(
    led: Ledger, params: Mapping[str, Any], channel: str, user_agent: str | None
) -> Payment:
    """Validate ``request_pay`` parameters and create the ``ready`` attempt.

    :param led: the ledger.
    :param params: the ``IMP.request_pay`` parameters.
    :param channel: ``pc`` or ``mobile``.
    :param user_agent: the buyer's browser; a typical one when None.
    :raises CheckoutRefused: where the SDK refuses to open the window.

    The attempt goes through the PG setting ``channelKey`` names, else the one
    ``pg`` names, else the account's default window setting.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}")
    request = Params(params)
    merchant_uid = request.text("merchant_uid")
    try:
        order, pay_method, window = _validate(led, request, channel)
        setting: PgSetting = setting_of(led, request, "window")
    except _Refusal as error:
        raise CheckoutRefused(error.error_code, error.message, merchant_uid) from None
    except SandboxError as error:
        raise CheckoutRefused(BAD_PARAMETER, error.message, merchant_uid) from None
    payment = start(led, order, pay_method=pay_method, channel=channel, setting=setting)
    payment.user_agent = user_agent or USER_AGENTS[channel]
    payment.escrow = request.flag("escrow")
    payment.window = window
    if pay_method == "kakaopay":
        payment.emb_pg_provider = "kakaopay"
    return payment


def _validate(led: Ledger, request: Params, channel: str) -> tuple[Order, str, Window]:
    merchant_uid = request.required("merchant_uid", max_len=40)
    amount = request.raw("amount")
    if amount is None:
        raise SandboxError(400, -1, "amount는 필수 파라미터입니다.")
    if isinstance(amount, bool) or not isinstance(amount, int | float | Decimal):
        raise SandboxError(
            400, -1, "amount는 숫자여야 합니다."
        )  # the SDK wants a number
    order = Order.read(request)
    pay_method = request.text("pay_method") or "card"
    if pay_method not in PAY_METHODS:
        raise SandboxError(400, -1, f"지원하지 않는 결제수단입니다: {pay_method}")
    mobile_v2 = request.flag("niceMobileV2")
    if order.currency == "USD" and channel == "mobile" and not mobile_v2:
        raise SandboxError(
            400,
            -1,
            "모바일 결제에서 USD는 niceMobileV2: true일 때만 사용할 수 있습니다.",
        )
    window = _window(request)
    wants_installments = (
        any(q >= 2 for q in window.quotas or ()) or (window.direct_quota or 0) >= 2
    )
    if wants_installments and (
        order.currency != "KRW" or order.amount < cards.MIN_INSTALLMENT_KRW
    ):
        raise SandboxError(400, -1, "할부는 50,000원 이상 결제에서만 가능합니다.")
    _check_prepared(led, order)
    if led.paid_attempt(merchant_uid) is not None:
        raise _Refusal(ALREADY_PAID_CODE, ALREADY_PAID)
    return order, pay_method, window


class _Refusal(SandboxError):
    """A refusal with its own SDK error_code, raised through :func:`_validate`."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(400, 1, message)
        self.error_code = error_code


def _window(request: Params) -> Window:
    quotas = request.mapping("display").raw("card_quota")
    if quotas is not None and (
        not isinstance(quotas, list)
        or not all(isinstance(q, int) and not isinstance(q, bool) for q in quotas)
    ):
        raise SandboxError(400, -1, "display.card_quota는 숫자 배열이어야 합니다.")
    direct = request.mapping("card").mapping("direct")
    due = request.raw("vbank_due")
    return Window(
        quotas=None if quotas is None else tuple(quotas),
        direct_code=direct.text("code"),
        direct_quota=direct.integer("quota"),
        vbank_due=parse_due(due) if due not in (None, "") else None,
    )


def installment_menu(
    window: Window, amount: Decimal | float, currency: str
) -> tuple[int, ...]:
    """The installments the buyer can pick in the window, 0 being a lump sum.

    ``card.direct.quota`` fixes them; ``display.card_quota`` lists the months
    offered besides a lump sum (``[]`` a lump sum only, ``[6]`` a lump sum or 6
    months: PortOne's SDK reference, see docs/sandbox/pg-settings.rst); without it
    the window shows NICE's own menu. Under 50,000 KRW, or in dollars, a lump
    sum only.

    :param window: what ``request_pay`` asked for.
    :param amount: the payment amount.
    :param currency: its currency.
    """
    if currency != "KRW" or Decimal(str(amount)) < cards.MIN_INSTALLMENT_KRW:
        return (0,)
    if window.direct_quota is not None:
        return (window.direct_quota,)
    if window.quotas is None:
        return NICE_MENU
    return (0, *sorted({q for q in window.quotas if q >= 2}))


def _check_prepared(led: Ledger, order: Order) -> None:
    record = led.prepared.get(order.merchant_uid)
    if record is None:
        return
    if record.amount != order.amount:
        raise _Refusal(
            PREPARED_MISMATCH,
            "사전 등록된 결제금액과 요청 금액이 다릅니다. "
            f"(사전등록: {record.amount}, 요청: {order.amount})",
        )
    if record.currency not in (None, order.currency):
        raise _Refusal(
            PREPARED_MISMATCH,
            "사전 등록된 통화와 요청 통화가 다릅니다. "
            f"(사전등록: {record.currency}, 요청: {order.currency})",
        )


def complete(
    led: Ledger,
    imp_uid: str,
    outcome: str,
    *,
    card_number: str | None = None,
    card_code: str | None = None,
    card_quota: int | None = None,
    vbank_code: str | None = None,
) -> Payment:
    """Apply what the buyer did in the window.

    :param led: the ledger.
    :param imp_uid: the attempt :func:`open_window` created.
    :param outcome: ``approve``, ``decline`` or ``close``.
    :param card_number: the card typed in (a test card); decides the result.
    :param card_code: the card company picked, when no number is given.
    :param card_quota: installment months picked (0 lump sum); one the window's
        menu offers (:func:`installment_menu`), else refused with HTTP 400 and
        the attempt left open, as NICE's window offers no other.
    :param vbank_code: bank of the virtual account.
    """
    payment = _open_attempt(led, imp_uid)
    if outcome not in OUTCOMES:
        raise SandboxError(400, -1, f"outcome must be one of {OUTCOMES}")
    if payment.pay_method == "card" and outcome != "close":
        card_quota = _picked_quota(payment, card_quota)
    if outcome == "close":
        payment.window_closed = True
        led.touch(payment)
        return payment
    if payment.pay_method == "vbank" and outcome == "approve":
        return _issue_vbank(led, payment, vbank_code)
    failure = DECLINES[payment.pay_method] if outcome == "decline" else None
    if payment.pay_method == "card":
        failure = _attach_card(payment, card_number, card_code, card_quota) or failure
    if payment.pay_method == "trans":
        payment.bank_code = DEFAULT_BANK
    return settle(led, payment, failure)


def _open_attempt(led: Ledger, imp_uid: str) -> Payment:
    payment = led.payment(imp_uid)
    if payment is None or payment.window is None:
        raise not_found(f"결제창이 열린 결제건이 아닙니다: {imp_uid}")
    if payment.status != "ready" or payment.window_closed or payment.vbank:
        raise SandboxError(400, 1, f"이미 끝난 결제창입니다: {imp_uid}")
    return payment


def _issue_vbank(led: Ledger, payment: Payment, vbank_code: str | None) -> Payment:
    assert payment.window is not None  # _open_attempt checked it
    bank_code = vbank_code or DEFAULT_BANK
    due = payment.window.vbank_due or led.now() + DEFAULT_DUE
    check_account(led, bank_code, due)
    return issue(led, payment, bank_code, due, led.merchant_name)


def _picked_quota(payment: Payment, card_quota: int | None) -> int:
    assert payment.window is not None  # _open_attempt checked it
    menu = installment_menu(payment.window, payment.amount, payment.currency)
    quota = menu[0] if card_quota is None else card_quota
    if quota not in menu:
        offered = ", ".join(map(str, menu))
        raise SandboxError(400, -1, f"{NOT_OFFERED}: {quota} (선택 가능: {offered})")
    return quota


def _attach_card(
    payment: Payment,
    card_number: str | None,
    card_code: str | None,
    card_quota: int | None,
) -> str | None:
    """Put the card on the attempt; return NICE's decline text, if any."""
    assert payment.window is not None  # _open_attempt checked it
    window = payment.window
    quota = card_quota or 0  # _picked_quota chose it from the menu
    try:
        if card_number is not None:
            profile = cards.profile_for(card_number)
        elif card_code or window.direct_code:
            profile = cards.profile_for_code(card_code or window.direct_code or "")
        else:
            profile = cards.profile_for(cards.DEFAULT_CARD.number)
    except cards.CardRejected as rejected:
        return rejected.reason
    payment.card = CardUse(profile, quota)
    return cards.approval_failure(profile, payment.amount, payment.currency, quota)


# What the browser receives -------------------------------------------------


def callback_rsp(result: Mapping[str, Any] | CheckoutRefused) -> dict[str, Any]:
    """The ``rsp`` object the PC callback of ``IMP.request_pay`` receives.

    :param result: a Payment JSON from the window, or the refusal.
    """
    if isinstance(result, CheckoutRefused):
        return {
            "success": False,
            "imp_uid": None,
            "merchant_uid": result.merchant_uid,
            "error_code": result.error_code,
            "error_msg": result.error_msg,
        }
    return _rsp_of(result)


#: What the ``rsp`` takes from the Payment JSON, in PortOne's order.
_RSP_FIELDS: Final = (
    "imp_uid",
    "merchant_uid",
    "pay_method",
    "paid_amount",
    "status",
    "name",
    "pg_provider",
    "emb_pg_provider",
    "pg_tid",
    "pg_type",
    "currency",
    "buyer_name",
    "buyer_email",
    "buyer_tel",
    "buyer_addr",
    "buyer_postcode",
    "custom_data",
    "paid_at",
    "receipt_url",
    "apply_num",
    "card_name",
    "card_number",
    "card_quota",
    "bank_name",
    "vbank_num",
    "vbank_name",
    "vbank_holder",
    "vbank_date",
)


def _rsp_of(result: Mapping[str, Any]) -> dict[str, Any]:
    success = _succeeded(result)
    error_code, error_msg = (None, None) if success else _error_of(result)
    derived = {
        "paid_amount": result["amount"] if success else 0,
        "pg_type": "payment",
        "custom_data": _custom_data_object(result["custom_data"]),
    }
    rsp: dict[str, Any] = {"success": success}
    rsp.update(
        (key, derived[key] if key in derived else result[key]) for key in _RSP_FIELDS
    )
    rsp.update(error_code=error_code, error_msg=error_msg)
    return rsp


def redirect_query(result: Mapping[str, Any] | CheckoutRefused) -> dict[str, str]:
    """The query string the mobile flow appends to ``m_redirect_url``.

    :param result: a Payment JSON from the window, or the refusal.
    """
    rsp = callback_rsp(result)
    query = {
        "imp_uid": rsp["imp_uid"],
        "merchant_uid": rsp["merchant_uid"],
        "imp_success": "true" if rsp["success"] else "false",
        "error_code": rsp["error_code"],
        "error_msg": rsp["error_msg"],
    }
    return {key: value for key, value in query.items() if value is not None}


def _succeeded(payment: Mapping[str, Any]) -> bool:
    vbank_issued = payment["status"] == "ready" and payment["vbank_num"] is not None
    return payment["status"] == "paid" or vbank_issued


def _error_of(payment: Mapping[str, Any]) -> tuple[str | None, str]:
    reason = payment["fail_reason"]
    if payment["status"] != "failed" or not reason:
        return None, CLOSED_MSG
    code = reason[1 : reason.index("]")] if reason.startswith("[") else None
    return code, reason


def _custom_data_object(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
