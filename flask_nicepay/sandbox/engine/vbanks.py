"""Virtual accounts: issue (window or ``POST /vbanks``), deposit, void (§7).

An issued account is a ``ready`` payment with its ``vbank_*`` fields and a
``ready`` webhook; a deposit makes it ``paid`` with a ``paid`` webhook. Nothing
happens when the deadline passes (PortOne publishes no expiry event), but a
deposit after it is refused unless forced, to test late-deposit handling.
"""

from __future__ import annotations

from typing import Final

from ..model.codes import BANKS
from ..model.record_store import Ledger
from ..model.records import Payment
from ..model.records import Vbank
from ..model.sandbox_errors import PAYMENT_NOT_FOUND
from ..model.sandbox_errors import SandboxError
from ..model.sandbox_errors import not_found
from ..model.sandbox_errors import refused
from ..model.values import Params
from ..model.values import invalid
from ..model.values import parse_due
from .payment_attempts import Order
from .payment_attempts import refuse_if_paid
from .payment_attempts import setting_of
from .payment_attempts import settle
from .payment_attempts import start

#: Window virtual accounts without ``vbank_due`` stay open this long (§7).
DEFAULT_DUE: Final = 30 * 86400
BAD_DUE: Final = "가상계좌 발급에 실패하였습니다.([4102]가상계좌 입금예정일 오류)"
BAD_BANK: Final = "가상계좌 발급에 실패하였습니다.(지원하지 않는 은행코드입니다)"
NOT_OPEN: Final = "입금대기 중인 가상계좌가 아닙니다."
PAST_DUE: Final = "[A107]입금예정일이 지났습니다."


def issue(
    led: Ledger, payment: Payment, bank_code: str, due: int, holder: str
) -> Payment:
    """Give a ``ready`` attempt its account and send the ``ready`` webhook.

    :param led: the ledger.
    :param payment: the attempt.
    :param bank_code: KFTC bank code.
    :param due: deposit deadline, UNIX seconds.
    :param holder: the account holder shown to the buyer.
    """
    payment.pg_tid = led.new_pg_tid(payment.pg_id, payment.pay_method, payment.channel)
    payment.receipt_url = led.receipt_url(payment.pg_tid)
    payment.vbank = Vbank(
        bank_code, BANKS[bank_code], led.new_vbank_num(), holder, due, led.now()
    )
    led.touch(payment)
    led.notify(payment, "ready")
    return payment


def check_account(led: Ledger, bank_code: str, due: int) -> None:
    """Refuse an unknown bank or a deadline that already passed.

    :param led: the ledger.
    :param bank_code: KFTC bank code.
    :param due: deposit deadline, UNIX seconds.
    """
    if bank_code not in BANKS:
        raise refused(BAD_BANK)
    if due <= led.now():
        raise refused(BAD_DUE)


def issue_by_api(led: Ledger, params: Params) -> Payment:
    """``POST /vbanks``.

    :param led: the ledger.
    :param params: merchant_uid, amount, vbank_code, vbank_due, vbank_holder,
        ``channel_key`` or ``pg``, and the optional order fields.
    """
    order = Order.read(params)
    bank_code = params.required("vbank_code")
    due = parse_due(params.required("vbank_due"))
    holder = params.required("vbank_holder")
    refuse_if_paid(led, order.merchant_uid)
    check_account(led, bank_code, due)
    setting = setting_of(led, params)
    payment = start(led, order, pay_method="vbank", channel="api", setting=setting)
    return issue(led, payment, bank_code, due, holder)


def void(led: Ledger, imp_uid: str) -> Payment:
    """``DELETE /vbanks/{imp_uid}``: withdraw an account nobody paid into.

    :param led: the ledger.
    :param imp_uid: the vbank payment.
    """
    payment = led.payment(imp_uid)
    if payment is None:
        raise not_found(PAYMENT_NOT_FOUND)
    if not payment.is_open_vbank:
        raise SandboxError(400, 1, NOT_OPEN)
    payment.status, payment.cancelled_at = "cancelled", led.now()
    led.touch(payment)
    return payment


def deposit(
    led: Ledger, imp_uid: str | None, merchant_uid: str | None, *, force: bool
) -> Payment:
    """The buyer pays into the account: ``paid`` and its webhook.

    :param led: the ledger.
    :param imp_uid: the vbank payment, or None to use ``merchant_uid``.
    :param merchant_uid: resolves to the order's newest open account.
    :param force: accept a deposit after ``vbank_date``.
    """
    payment = _open_account(led, imp_uid, merchant_uid)
    assert payment.vbank is not None  # _open_account only returns open accounts
    if payment.vbank.date < led.now() and not force:
        raise SandboxError(400, 1, PAST_DUE)
    return settle(led, payment, None)


def _open_account(
    led: Ledger, imp_uid: str | None, merchant_uid: str | None
) -> Payment:
    if imp_uid:
        payment = led.payment(imp_uid)
    elif merchant_uid:
        opened = [p for p in led.attempts(merchant_uid) if p.is_open_vbank]
        payment = opened[-1] if opened else None
    else:
        raise invalid("imp_uid")
    if payment is None:
        raise not_found(PAYMENT_NOT_FOUND)
    if not payment.is_open_vbank:
        raise SandboxError(400, 1, NOT_OPEN)
    return payment
