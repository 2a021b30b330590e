"""``POST /payments/cancel`` and cancels made in PortOne's admin console (§5).

Every check NICE makes before refunding runs before anything changes, so a refused
cancel leaves the payment exactly as it was. Any successful cancel, partial or full,
sets ``status: "cancelled"`` (portone-v1.md §3.2) and adds to the cumulative
``cancel_amount``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from ..model.codes import BANKS
from ..model.record_store import Ledger
from ..model.records import Cancellation
from ..model.records import Payment
from ..model.sandbox_errors import refused
from ..model.values import Params
from ..model.values import check_currency_amount

NOT_FOUND: Final = "취소할 결제건이 존재하지 않습니다."
ALREADY_CANCELLED: Final = "이미 전액취소된 주문입니다."
_FAILED: Final = "결제취소에 실패하였습니다.({})"
OVER_BALANCE: Final = _FAILED.format("[2032]취소금액이 취소가능금액보다 큼")
NOT_PAID: Final = _FAILED.format("결제가 완료되지 않은 거래는 취소할 수 없습니다")
REFUND_ACCOUNT_MISSING: Final = _FAILED.format(
    "가상계좌 환불에는 refund_holder, refund_bank, refund_account가 필요합니다"
)
REFUND_BANK_INVALID: Final = _FAILED.format(
    "환불 은행코드(refund_bank)가 올바르지 않습니다"
)
VAT_REQUIRED: Final = _FAILED.format(
    "결제 시 부가세(vat_amount)를 지정한 거래는 취소 시에도 vat_amount가 필요합니다"
)
VAT_OVER: Final = _FAILED.format("취소 부가세(vat_amount)가 취소가능 부가세보다 큼")
TAX_FREE_OVER: Final = _FAILED.format(
    "취소 면세금액(tax_free)이 취소가능 면세금액보다 큼"
)
#: NICE's code 1617, for a MID in the 지정금액 tax mode cancelled in part without
#: its parts (portone-v1.md §5; PortOne's OAS names the code, not its text). The
#: wording is the sandbox's own, in NICE's style: unconfirmed.
TAX_PARTS_REQUIRED: Final = _FAILED.format(
    "[1617]지정금액 가맹점은 취소 시 공급가액, 부가세, 봉사료, 면세금액을 "
    "입력해야 합니다"
)
#: The tax modes a MID can have in NICE's settings.
TAX_MODES: Final = ("auto", "fixed")


def checksum_mismatch(balance: Decimal) -> str:
    """The refusal when ``checksum`` is not the current cancellable balance.

    :param balance: the balance the sandbox holds.
    """
    return _FAILED.format(f"checksum이 취소가능금액({balance})과 일치하지 않습니다")


def cancel(led: Ledger, params: Params, *, console: bool = False) -> Payment:
    """Cancel all or part of a paid payment.

    :param led: the ledger.
    :param params: the fields of portone-v1.md §5.
    :param console: an admin-console cancel: no checksum, VAT or refund-account
        checks (the console asks for them itself) and always a webhook.

    A MID in the ``fixed`` tax mode (지정금액) refuses a partial cancel that does
    not state both ``tax_free`` and ``vat_amount``, as NICE does (code 1617).
    """
    payment = _target(led, params)
    if payment.status == "cancelled" and (payment.balance == 0 or not payment.was_paid):
        raise refused(ALREADY_CANCELLED)
    if not payment.was_paid:
        raise refused(NOT_PAID)
    amount = params.amount("amount") or payment.balance
    check_currency_amount(amount, payment.currency)
    if not console:
        _check_parts_given(led, payment, amount, params)
        _check_caller(payment, params)
    if amount > payment.balance:
        raise refused(OVER_BALANCE)
    tax_free = params.amount("tax_free") or Decimal(0)
    vat = params.amount("vat_amount")
    _check_tax_parts(payment, amount, tax_free, vat)
    record = _record(led, payment, amount, params.text("reason"))
    if not console:
        record.checksum = params.amount("checksum")
        record.tax_free, record.vat_amount = params.amount("tax_free"), vat
    payment.cancelled_tax_free += tax_free
    payment.cancelled_vat += vat or Decimal(0)
    led.touch(payment)
    if console or params.flag("enable_webhook"):
        led.notify(payment, "cancelled", record.cancellation_id)
    return payment


def _target(led: Ledger, params: Params) -> Payment:
    # imp_uid wins; an unknown imp_uid fails even if merchant_uid would match (§5).
    imp_uid = params.text("imp_uid")
    if imp_uid is not None:
        payment = led.payment(imp_uid)
    else:
        merchant_uid = params.text("merchant_uid")
        attempts = led.attempts(merchant_uid) if merchant_uid else []
        payment = next((p for p in attempts if p.was_paid), None)
        payment = payment or (attempts[-1] if attempts else None)
    if payment is None:
        raise refused(NOT_FOUND)
    return payment


def _check_caller(payment: Payment, params: Params) -> None:
    checksum = params.amount("checksum")
    if checksum is not None and checksum != payment.balance:
        raise refused(checksum_mismatch(payment.balance))
    if payment.vat_amount is not None and not params.has("vat_amount"):
        raise refused(VAT_REQUIRED)
    if payment.pay_method == "vbank":
        fields = ("refund_holder", "refund_bank", "refund_account")
        if not all(params.has(f) for f in fields):
            raise refused(REFUND_ACCOUNT_MISSING)
        if params.text("refund_bank") not in BANKS:
            raise refused(REFUND_BANK_INVALID)


def _check_parts_given(
    led: Ledger, payment: Payment, amount: Decimal, params: Params
) -> None:
    # Checked first: the order of NICE's own checks is not documented.
    stated = params.has("tax_free") and params.has("vat_amount")
    if led.tax_mode == "fixed" and amount < payment.balance and not stated:
        raise refused(TAX_PARTS_REQUIRED)


def _check_tax_parts(
    payment: Payment, amount: Decimal, tax_free: Decimal, vat: Decimal | None
) -> None:
    if tax_free > min(amount, payment.tax_free - payment.cancelled_tax_free):
        raise refused(TAX_FREE_OVER)
    if vat is None or payment.vat_amount is None:
        return
    if vat > min(amount - tax_free, payment.vat_amount - payment.cancelled_vat):
        raise refused(VAT_OVER)


def _record(
    led: Ledger, payment: Payment, amount: Decimal, reason: str | None
) -> Cancellation:
    now = led.now()
    pg_tid = led.new_pg_tid(payment.pg_id, payment.pay_method, payment.channel)
    record = Cancellation(
        pg_tid=pg_tid,
        amount=amount,
        cancelled_at=now,
        reason=reason,
        receipt_url=led.receipt_url(pg_tid, cancel=True),
        cancellation_id=led.new_cancellation_id(),
    )
    payment.cancellations.append(record)
    payment.cancel_amount += amount
    payment.status = "cancelled"
    payment.cancel_reason = reason
    payment.cancelled_at = now
    return record
