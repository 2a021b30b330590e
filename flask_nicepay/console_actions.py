"""What an operator does from the console, through the calls the CLI makes.

A refund here is ``nicepay.refund`` or ``nicepay.cancel`` exactly as ``flask
nicepay cancel`` calls them, a replay is ``notifications.replay`` as ``flask nicepay
replay`` runs it, and so on: the ledger, the history and the signals cannot tell the
console from the command line. What the console adds is the record of who did it,
one row of ``nicepay_console_actions`` per action, written before the call and
finished after it, however it ended.
"""

from __future__ import annotations

import re
import typing as t
from decimal import Decimal
from decimal import InvalidOperation

from flask import Response
from flask import redirect
from flask import request
from flask import url_for

from .console_base import BadForm
from .console_base import begin
from .console_base import console_bp
from .console_base import journal
from .console_base import page
from .console_journal import FAILED
from .console_journal import REFUSED
from .console_journal import SUCCEEDED
from .console_journal import clean_error
from .inbound import ID_LENGTHS
from .inbound import is_storable
from .ledger import RefundInProgressError
from .machine import InvalidTransitionError
from .portone import PortOneError
from .portone import RefundAccount
from .portone.redact import mask
from .refunds import RefundError
from .state import app_state
from .store import UnknownOrderError
from .subscription_plan import Plan
from .subscription_table import SubscriptionError

#: What the plugin refuses to do as asked: answered 409, nothing changed.
REFUSALS = (
    RefundError,
    RefundInProgressError,
    InvalidTransitionError,
    UnknownOrderError,
    SubscriptionError,
)
_BANK = re.compile(r"^\d{3}$")
_ACCOUNT = re.compile(r"^[0-9-]{6,32}$")


def act(
    action: str,
    target: str,
    detail: dict[str, t.Any],
    call: t.Callable[[], t.Mapping[str, t.Any] | None],
    back: str,
) -> Response:
    """Record the action as started, run it, record how it ended, and answer.

    ``call`` returns what to add to the record (an outcome, counts), or ``None``.
    Whatever it raises is recorded too: a refusal as ``refused`` (409), PortOne
    failing as ``failed`` (502), anything else as ``failed`` before the 500.
    """
    started = begin(action, target, detail=detail)
    try:
        found = call() or {}
    except REFUSALS as exc:
        journal().finish(started, REFUSED, error=str(exc))
        return _answer(409, "refused", exc, back)
    except PortOneError as exc:
        journal().finish(started, FAILED, error=f"PortOne: {exc}")
        return _answer(502, "portone_down", exc, back)
    except Exception as exc:
        journal().finish(started, FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    outcome = FAILED if found.get("error") else SUCCEEDED
    journal().finish(
        started, outcome, detail={**detail, **found}, error=found.get("error")
    )
    separator = "&" if "?" in back else "?"
    return t.cast(Response, redirect(f"{back}{separator}action={started}", code=303))


def _answer(status: int, message: str, exc: Exception, back: str) -> Response:
    detail = clean_error(str(exc))
    return page(
        "nicepay/console/message.html",
        status,
        message=message,
        detail=detail,
        back=back,
    )


# -- refunds ------------------------------------------------------------------------


def _money(name: str, *, zero: bool = False) -> Decimal | None:
    """The amount in the form field ``name``; with ``zero``, 0 is one too (a tax
    part: a zero-rated VAT)."""
    text = request.form.get(name, "").strip().replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BadForm(f"{name}: {text!r} is not an amount") from None
    if (
        not amount.is_finite()
        or amount < 0
        or (amount == 0 and not zero)
        or amount != round(amount, 2)
    ):
        low = "0 or more" if zero else "more than 0"
        raise BadForm(f"{name} must be {low}, with at most 2 decimals")
    return amount


def _text(name: str, length: int) -> str | None:
    text = request.form.get(name, "").strip()
    if len(text) > length:
        raise BadForm(f"{name}: at most {length} characters")
    if not is_storable(text):  # the action's record could not hold it
        raise BadForm(f"{name}: no NUL or lone surrogates")
    return text or None


def _refund_account() -> RefundAccount | None:
    """The account a paid virtual account is refunded to: all three, or none."""
    holder = _text("refund_holder", 64)
    bank = _text("refund_bank", 3)
    number = _text("refund_account", 32)
    if not (holder or bank or number):
        return None
    if not (holder and bank and number):
        raise BadForm("a refund account needs its holder, bank code and number")
    if not _BANK.match(bank) or not _ACCOUNT.match(number):
        raise BadForm("the bank code is 3 digits; the account digits and hyphens")
    return RefundAccount(holder, bank, number)


@console_bp.post("/orders/<merchant_uid>/refund")
def refund(merchant_uid: str) -> Response:
    """Refund part of an order (an amount, or a tax-free or VAT part), or all of
    it (no amount): ``flask nicepay cancel`` with the same options."""
    amount, tax_free, vat = _money("amount"), _money("tax_free"), _money("vat_amount")
    reason, account = _text("reason", 200), _refund_account()
    nicepay = app_state().extension
    if nicepay.get_order(merchant_uid) is None:
        return page("nicepay/console/message.html", 404, message="not_found")
    detail = {
        "amount": amount,
        "tax_free": tax_free,
        "vat_amount": vat,
        "reason": reason,
    }
    if account is not None:
        detail["refund_account"] = f"{account.bank} {mask(account.account)}"

    def call() -> dict[str, t.Any]:
        if amount is not None or tax_free is not None or vat is not None:
            result = nicepay.refund(
                merchant_uid,
                amount,
                tax_free=tax_free,
                vat_amount=vat,
                reason=reason,
                refund_account=account,
            ).sync
        else:
            result = nicepay.cancel(merchant_uid, reason=reason, refund_account=account)
        return {"state": result.order.state.value if result.order else None}

    back = url_for(".order", merchant_uid=merchant_uid)
    return act("refund", merchant_uid, detail, call, back)


@console_bp.post("/orders/<merchant_uid>/extra")
def refund_extra(merchant_uid: str) -> Response:
    """Pay back an extra payment of the order, all PortOne holds of it: ``flask
    nicepay cancel MERCHANT_UID --payment IMP_UID`` (with ``--tax-free`` and
    ``--vat-amount`` as the form's parts)."""
    imp_uid = _text("imp_uid", ID_LENGTHS["imp_uid"])
    if imp_uid is None:
        raise BadForm("imp_uid: the extra payment to pay back")
    reason, account = _text("reason", 200), _refund_account()
    # The parts a fixed-amount MID needs when the order's cannot be this payment's.
    tax_free, vat = _money("tax_free", zero=True), _money("vat_amount", zero=True)
    nicepay = app_state().extension
    if nicepay.get_order(merchant_uid) is None:
        return page("nicepay/console/message.html", 404, message="not_found")
    detail: dict[str, t.Any] = {
        "imp_uid": imp_uid,
        "reason": reason,
        "tax_free": tax_free,
        "vat_amount": vat,
    }
    if account is not None:
        detail["refund_account"] = f"{account.bank} {mask(account.account)}"

    def call() -> dict[str, t.Any]:
        result = nicepay.refund_extra(
            merchant_uid,
            imp_uid,
            reason=reason,
            refund_account=account,
            tax_free=tax_free,
            vat_amount=vat,
        )
        return {"amount": result.amount}

    back = url_for(".order", merchant_uid=merchant_uid)
    return act("refund_extra", merchant_uid, detail, call, back)


@console_bp.post("/orders/<merchant_uid>/sync")
def sync(merchant_uid: str) -> Response:
    """Apply PortOne's record of the order's payment now."""
    nicepay = app_state().extension
    found = nicepay.get_order(merchant_uid)
    if found is None:
        return page("nicepay/console/message.html", 404, message="not_found")

    def call() -> dict[str, t.Any]:
        if found.imp_uid:
            result = nicepay.sync(imp_uid=found.imp_uid)
        else:
            result = nicepay.sync(merchant_uid=merchant_uid)
        return {"state": result.order.state.value if result.order else None}

    back = url_for(".order", merchant_uid=merchant_uid)
    return act("sync", merchant_uid, {}, call, back)


# -- notifications, virtual accounts ----------------------------------


@console_bp.post("/notifications/<int:entry_id>/replay")
def replay(entry_id: int) -> Response:
    """Process a stored notification again, as ``flask nicepay replay ID`` does."""
    payments = app_state().payments
    entry = payments.inbox.get(entry_id)
    if entry is None:
        return page("nicepay/console/message.html", 404, message="not_found")
    uid = entry.merchant_uid or entry.hint_merchant_uid
    back = url_for(".notifications")
    if request.form.get("back") == "order" and uid and payments.orders.get(uid):
        back = url_for(".order", merchant_uid=uid)

    def call() -> dict[str, t.Any]:
        replayed = payments.notifications.replay(entry_id)
        return {"result": str(replayed.outcome), "error": replayed.error}

    return act("replay", uid or str(entry_id), {"notification": entry_id}, call, back)


@console_bp.post("/vbanks/expire")
def expire_vbanks() -> Response:
    """Expire the virtual accounts past their deadline that PortOne shows unpaid."""
    nicepay = app_state().extension

    def call() -> dict[str, t.Any]:
        return {"expired": [order.merchant_uid for order in nicepay.expire_vbanks()]}

    return act("expire_vbanks", "vbanks", {}, call, url_for(".vbanks"))


# -- billing keys and subscriptions -----------------------------------------------


@console_bp.post("/keys/<customer_uid>/delete")
def delete_key(customer_uid: str) -> Response:
    """Delete a billing key at PortOne and here."""
    billing = app_state().payments.billing
    if billing.get_key(customer_uid) is None:
        return page("nicepay/console/message.html", 404, message="not_found")
    reason = _text("reason", 200)

    def call() -> None:
        billing.delete_key(customer_uid, reason=reason)

    detail = {"reason": reason}
    return act("delete_key", customer_uid, detail, call, url_for(".keys"))


@console_bp.post("/subscriptions/<subscription_uid>/cancel")
def cancel_subscription(subscription_uid: str) -> Response:
    """Cancel a subscription at once, or at the end of the period paid."""
    at_end = request.form.get("at_period_end") == "1"
    subscriptions = app_state().payments.subscriptions
    if subscriptions.get(subscription_uid) is None:
        return page("nicepay/console/message.html", 404, message="not_found")

    def call() -> dict[str, t.Any]:
        sub = subscriptions.cancel(subscription_uid, at_period_end=at_end)
        return {"status": sub.status.value}

    detail = {"at_period_end": at_end}
    back = url_for(".subscriptions")
    return act("cancel_subscription", subscription_uid, detail, call, back)


@console_bp.post("/subscriptions/<subscription_uid>/plan")
def change_plan(subscription_uid: str) -> Response:
    """Charge another price from the next period on (``Subscriptions.change_plan``).

    The form holds the whole new price: ``amount``, and optionally ``name``
    (the current one when empty), ``tax_free`` and ``vat_amount`` (none when
    empty, as in a :class:`~flask_nicepay.Plan`).
    """
    subscriptions = app_state().payments.subscriptions
    sub = subscriptions.get(subscription_uid)
    if sub is None:
        return page("nicepay/console/message.html", 404, message="not_found")
    amount = _money("amount")
    if amount is None:
        raise BadForm("amount is required")
    try:
        plan = Plan(
            name=_text("name", 200) or sub.name,
            amount=amount,
            interval=sub.interval,
            currency=sub.currency,
            tax_free=_money("tax_free", zero=True),
            vat_amount=_money("vat_amount", zero=True),
        )
    except ValueError as exc:
        raise BadForm(str(exc)) from None

    def call() -> dict[str, t.Any]:
        changed = subscriptions.change_plan(subscription_uid, plan)
        return {"next_charge": changed.pending_merchant_uid}

    detail = {
        "from": str(sub.amount),
        "amount": str(plan.amount),
        "name": plan.name,
        "tax_free": None if plan.tax_free is None else str(plan.tax_free),
        "vat_amount": None if plan.vat_amount is None else str(plan.vat_amount),
    }
    back = url_for(".subscriptions")
    return act("change_plan", subscription_uid, detail, call, back)
