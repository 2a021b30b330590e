"""Billing keys and API card payments: ``/subscribe/customers``, ``onetime``, ``again``.

With the NICE old module a billing key can only be issued through the REST API
(card number, expiry, birth date, card-password digits). The sandbox checks the
card data, keeps a :class:`~flask_nicepay.sandbox.model.cards.CardProfile` (masked
number, company, type, behaviour) and drops the rest with the request. A decline at
approval is an answer with ``code 0`` and a ``failed`` payment; rejected card data is
``code -1`` with no payment (portone-v1.md §6.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ..model import cards
from ..model.pg_settings import PgSetting
from ..model.record_store import Ledger
from ..model.records import Buyer
from ..model.records import CardUse
from ..model.records import Customer
from ..model.records import Payment
from ..model.sandbox_errors import bad_request
from ..model.sandbox_errors import not_found
from ..model.sandbox_errors import refused
from ..model.values import Params
from ..model.values import missing
from .payment_attempts import MAX_IDS
from .payment_attempts import Order
from .payment_attempts import refuse_if_paid
from .payment_attempts import setting_of
from .payment_attempts import settle
from .payment_attempts import sort
from .payment_attempts import start

KEY_FAILED: Final = "카드정보 인증 및 빌키 발급에 실패하였습니다."
AUTH_FAILED: Final = "카드정보 인증에 실패하였습니다."
UNKNOWN_BUYER: Final = "등록되지 않은 구매자입니다."


def customer_not_found(customer_uid: str, *, http_status: int = 404) -> Exception:
    """PortOne's answer for a customer_uid it does not know (code 1).

    ``GET`` and ``DELETE /subscribe/customers/{customer_uid}`` answer it with HTTP
    200, as PortOne V1's own clients saw in their tests against PortOne's test
    account (a ``ResponseError``, which those clients raise only for an HTTP 200
    answer with a non-zero code); the key's payments answer it with 404.

    :param customer_uid: the billing key alias.
    :param http_status: 200 or 404.
    """
    message = f"요청하신 customer_uid({customer_uid})로 등록된 정보를 찾을 수 없습니다."
    if http_status == 200:
        return refused(message, code=1)
    return not_found(message, code=1)


def named_setting(led: Ledger, params: Params) -> PgSetting | None:
    """The setting ``channel_key`` or ``pg`` names exactly, None if neither does.

    Only a ``{provider}.{MID}`` of a setting counts: a bare or unmatched ``pg``
    leaves a billing key on the setting that issued it.

    :param led: the ledger.
    :param params: the request parameters.
    """
    if params.text("channel_key"):
        return setting_of(led, params)
    provider, _, mid = (params.text("pg") or "").partition(".")
    return led.pg_settings.find(provider, mid) if mid else None


def key_setting(led: Ledger, customer: Customer) -> PgSetting:
    """The setting a billing key was issued through (the API default if gone).

    :param led: the ledger.
    :param customer: the key.
    """
    found = led.pg_settings.find(customer.pg_provider, customer.pg_id)
    return found or led.pg_settings.default("api")


def read_card(params: Params, now: int) -> cards.CardProfile:
    """Authenticate the card data of a request.

    :param params: with ``card_number``, ``expiry``, optional ``birth`` and
        ``pwd_2digit``.
    :param now: sandbox time.
    :raises cards.CardRejected: with NICE's text.
    """
    return cards.authenticate(
        params.required("card_number"),
        params.required("expiry"),
        params.text("birth"),
        params.text("pwd_2digit"),
        now,
    )


def store_key(
    led: Ledger,
    customer_uid: str,
    profile: cards.CardProfile,
    params: Params,
    details: Buyer,
    setting: PgSetting,
) -> Customer:
    """Store (or replace) the key of a customer_uid.

    :param led: the ledger.
    :param customer_uid: the alias.
    :param profile: the authenticated card.
    :param params: for ``customer_id``.
    :param details: the ``customer_*`` details.
    :param setting: the PG setting it is issued through.
    """
    now = led.now()
    old = led.customers.get(customer_uid)
    customer = Customer(
        customer_uid=customer_uid,
        card=profile,
        pg_id=setting.mid,
        inserted=old.inserted if old else now,
        updated=now,
        customer_id=params.text("customer_id") or (old.customer_id if old else None),
        details=details,
        pg_provider=setting.pg_provider,
        sandbox=setting.test,
    )
    led.customers.put(customer_uid, customer)
    return customer


def register(led: Ledger, customer_uid: str, params: Params) -> Customer:
    """``POST /subscribe/customers/{customer_uid}``.

    :param led: the ledger.
    :param customer_uid: the alias to store the key under.
    :param params: card data and ``customer_*`` details.
    """
    _check_uid(customer_uid)
    setting = setting_of(led, params)
    try:
        profile = read_card(params, led.now())
    except cards.CardRejected as rejected:
        raise refused(f"{KEY_FAILED} {rejected.reason}", code=-1) from None
    details = Buyer.read(params, "customer_")
    return store_key(led, customer_uid, profile, params, details, setting)


def _check_uid(customer_uid: str) -> None:
    if not customer_uid or len(customer_uid) > 80:
        raise bad_request("customer_uid는 1~80자여야 합니다.")


def customer(led: Ledger, customer_uid: str) -> Customer:
    """``GET /subscribe/customers/{customer_uid}``.

    :param led: the ledger.
    :param customer_uid: the alias.
    """
    record = led.customers.get(customer_uid)
    if record is None:
        raise customer_not_found(customer_uid, http_status=200)
    return record


def delete(led: Ledger, customer_uid: str) -> Customer:
    """``DELETE /subscribe/customers/{customer_uid}``; pending schedules stay.

    :param led: the ledger.
    :param customer_uid: the alias.
    """
    record = customer(led, customer_uid)
    led.customers.remove(customer_uid)
    return record


def customers(led: Ledger, customer_uids: Sequence[str]) -> tuple[list[Customer], int]:
    """``GET /subscribe/customers``: the keys found, and 200, 207 or 404.

    :param led: the ledger.
    :param customer_uids: the aliases asked for.
    """
    if not customer_uids:
        raise missing("customer_uid[]")
    if len(customer_uids) > MAX_IDS:
        raise bad_request(f"한 번에 {MAX_IDS}건까지 조회할 수 있습니다.")
    found = [c for c in map(led.customers.get, customer_uids) if c is not None]
    if not found:
        raise not_found(
            "요청하신 customer_uid로 등록된 정보를 찾을 수 없습니다.", code=1
        )
    return found, 200 if len(found) == len(customer_uids) else 207


def customer_payments(led: Ledger, customer_uid: str) -> list[Payment]:
    """Payments made with a key, newest first (the key may have been deleted).

    :param led: the ledger.
    :param customer_uid: the alias.
    """
    made = [p for p in led.payments.values() if p.customer_uid == customer_uid]
    if not made and customer_uid not in led.customers:
        raise customer_not_found(customer_uid)
    return sort(made, "-started")


def charge(
    led: Ledger,
    order: Order,
    profile: cards.CardProfile | None,
    *,
    customer_uid: str | None,
    usage: str | None,
    quota: int,
    setting: PgSetting,
    failure: str | None = None,
) -> Payment:
    """Create an API card payment and approve or decline it.

    :param led: the ledger.
    :param order: the order fields.
    :param profile: the card; None when there is no key any more.
    :param customer_uid: the key used, if any.
    :param usage: ``customer_uid_usage``.
    :param quota: installment months.
    :param setting: the PG setting it goes through.
    :param failure: a decline decided before asking the card company.
    """
    payment = start(led, order, pay_method="card", channel="api", setting=setting)
    payment.customer_uid, payment.customer_uid_usage = customer_uid, usage
    if profile is not None:
        payment.card = CardUse(profile, quota)
        failure = failure or cards.approval_failure(
            profile, order.amount, order.currency, quota
        )
    return settle(led, payment, failure)


def onetime(led: Ledger, params: Params) -> Payment:
    """``POST /subscribe/payments/onetime``: a key-in payment, maybe storing a key.

    :param led: the ledger.
    :param params: order fields, card data, optional ``customer_uid``.
    """
    order = Order.read(params)
    quota = params.integer("card_quota") or 0
    customer_uid = params.text("customer_uid")
    refuse_if_paid(led, order.merchant_uid)
    setting = setting_of(led, params)
    try:
        profile = read_card(params, led.now())
    except cards.CardRejected as rejected:
        raise refused(f"{AUTH_FAILED} {rejected.reason}", code=-1) from None
    if customer_uid is not None:
        _check_uid(customer_uid)
        store_key(led, customer_uid, profile, params, order.buyer, setting)
    return charge(
        led,
        order,
        profile,
        customer_uid=customer_uid,
        usage="issue" if customer_uid else None,
        quota=quota,
        setting=setting,
    )


def again(led: Ledger, params: Params) -> Payment:
    """``POST /subscribe/payments/again``: pay with a stored key.

    It goes through the setting that issued the key unless ``channel_key`` (or a
    ``pg`` the account matches) names another.

    :param led: the ledger.
    :param params: ``customer_uid``, ``merchant_uid``, ``amount``, ``name``, ...
    """
    customer_uid = params.required("customer_uid")
    order = Order.read(params)  # no ``name`` is no refusal: PortOne charges without
    record = led.customers.get(customer_uid)
    if record is None:
        raise refused(UNKNOWN_BUYER)
    refuse_if_paid(led, order.merchant_uid)
    setting = named_setting(led, params) or key_setting(led, record)
    order.buyer = order.buyer.or_else(record.details)
    return charge(
        led,
        order,
        record.card,
        customer_uid=customer_uid,
        usage="payment",
        quota=params.integer("card_quota") or 0,
        setting=setting,
    )


def foreign(led: Ledger, params: Params) -> Payment:
    """``POST /subscribe/payments/foreign``: a key-in payment with a foreign card.

    Only ``card_number`` and ``expiry`` are asked of the card (no birth date, no
    password digits); data that does not pass is ``code -1``, as for ``onetime``.
    No billing key is kept.

    :param led: the ledger.
    :param params: order fields, ``card_number`` and ``expiry``.
    """
    order = Order.read(params)
    number, expiry = params.required("card_number"), params.required("expiry")
    refuse_if_paid(led, order.merchant_uid)
    setting = setting_of(led, params)
    try:
        profile = cards.authenticate(number, expiry, None, None, led.now())
    except cards.CardRejected as rejected:
        raise refused(f"{AUTH_FAILED} {rejected.reason}", code=-1) from None
    return charge(
        led,
        order,
        profile,
        customer_uid=None,
        usage=None,
        quota=params.integer("card_quota") or 0,
        setting=setting,
    )
