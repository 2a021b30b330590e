"""Payments: creating and settling attempts, ``/payments/prepare`` and the lookups.

Functions take the :class:`~flask_nicepay.sandbox.model.record_store.Ledger` first and
are called with the sandbox lock held. They return records; the API layer serializes
them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from typing import Final
from typing import TypeVar

from ..model.pg_settings import UNKNOWN_CHANNEL_KEY
from ..model.pg_settings import PgSetting
from ..model.pg_settings import UnknownChannelKey
from ..model.record_store import Ledger
from ..model.records import PAYMENT_STATUSES
from ..model.records import Buyer
from ..model.records import Payment
from ..model.records import Prepared
from ..model.sandbox_errors import PAYMENT_NOT_FOUND
from ..model.sandbox_errors import bad_request
from ..model.sandbox_errors import not_found
from ..model.sandbox_errors import refused
from ..model.values import Params
from ..model.values import check_currency_amount
from ..model.values import invalid
from ..model.values import json_amount

T = TypeVar("T")
SORTINGS: Final[dict[str, Callable[[Payment], int]]] = {
    "started": lambda p: p.started_at,
    "paid": lambda p: p.paid_at,
    "updated": lambda p: p.updated_at,
}
MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 20
MAX_IDS: Final = 100
NINETY_DAYS: Final = 90 * 86400
ALREADY_PAID: Final = "이미 결제가 이루어진 거래건입니다."
_TIME_FIELDS: Final[dict[str, Callable[[Payment], int]]] = {
    "ready": lambda p: p.started_at,
    "paid": lambda p: p.paid_at,
    "cancelled": lambda p: p.cancelled_at,
    "failed": lambda p: p.failed_at,
}


def custom_data_text(value: Any) -> str | None:
    """``custom_data`` as PortOne stores it: a JSON string (strings kept as sent).

    :param value: an object, a list or a string.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), default=_json_default
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_amount(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass
class Order:
    """The order fields every way of paying shares."""

    merchant_uid: str
    amount: Decimal
    currency: str
    name: str | None
    buyer: Buyer
    custom_data: str | None
    notice_urls: tuple[str, ...]
    tax_free: Decimal
    vat_amount: Decimal | None

    @classmethod
    def read(cls, params: Params) -> Order:
        """Read and check the shared fields.

        :param params: the request parameters.
        """
        amount = params.required_amount("amount")
        currency = params.currency()
        check_currency_amount(amount, currency)
        tax_free = params.amount("tax_free") or Decimal(0)
        vat_amount = params.amount("vat_amount")
        if tax_free > amount:
            raise invalid("tax_free")
        if vat_amount is not None and vat_amount > amount - tax_free:
            raise invalid("vat_amount")
        return cls(
            params.required("merchant_uid", max_len=40),
            amount,
            currency,
            params.text("name", max_len=40),
            Buyer.read(params),
            custom_data_text(params.raw("custom_data")),
            tuple(params.texts("notice_url")),
            tax_free,
            vat_amount,
        )


def start(
    led: Ledger, order: Order, *, pay_method: str, channel: str, setting: PgSetting
) -> Payment:
    """Create a ``ready`` attempt for an order.

    :param led: the ledger.
    :param order: the order fields.
    :param pay_method: the payment method.
    :param channel: ``pc``, ``mobile`` or ``api``.
    :param setting: the PG setting it goes through (its PG, MID and mode).
    """
    payment = Payment(
        imp_uid=led.new_imp_uid(),
        merchant_uid=order.merchant_uid,
        pay_method=pay_method,
        channel=channel,
        pg_id=setting.mid,
        pg_provider=setting.pg_provider,
        sandbox=setting.test,
        amount=order.amount,
        currency=order.currency,
        started_at=led.now(),
        name=order.name,
        buyer=order.buyer,
        custom_data=order.custom_data,
        notice_urls=order.notice_urls,
        tax_free=order.tax_free,
        vat_amount=order.vat_amount,
    )
    return led.add_payment(payment)


def setting_of(led: Ledger, params: Params, kind: str = "api") -> PgSetting:
    """The PG setting a request goes through: its channel key, else ``pg``.

    ``nice.{MID}`` names the setting with that MID, ``{provider}`` another PG set
    up with :meth:`~flask_nicepay.sandbox.Sandbox.add_pg_setting`; a ``pg`` that
    matches none means the default setting of ``kind``, as PortOne does.

    :param led: the ledger.
    :param params: the request parameters.
    :param kind: ``api`` (the key is ``channel_key``) or ``window``
        (``IMP.request_pay``'s ``channelKey``).
    :raises SandboxError: HTTP 400 for a channel key the account lacks.
    """
    channel_key = params.text("channelKey" if kind == "window" else "channel_key")
    try:
        return led.pg_settings.select(kind, channel_key, params.text("pg"))
    except UnknownChannelKey:
        raise bad_request(f"{UNKNOWN_CHANNEL_KEY}: {channel_key}") from None


def refuse_if_paid(led: Ledger, merchant_uid: str) -> None:
    """Refuse a second payment for an order that was paid.

    :param led: the ledger.
    :param merchant_uid: the order id.
    """
    if led.paid_attempt(merchant_uid) is not None:
        raise refused(ALREADY_PAID)


def settle(led: Ledger, payment: Payment, failure: str | None) -> Payment:
    """Finish an attempt: paid (with its webhook) or failed (without one).

    :param led: the ledger.
    :param payment: the ``ready`` attempt.
    :param failure: NICE's decline text, or None to approve.
    """
    now = led.now()
    payment.pg_tid = payment.pg_tid or led.new_pg_tid(
        payment.pg_id, payment.pay_method, payment.channel
    )
    if failure is not None:
        payment.status, payment.failed_at, payment.fail_reason = "failed", now, failure
        led.touch(payment)
        return payment
    payment.status, payment.paid_at = "paid", now
    payment.receipt_url = led.receipt_url(payment.pg_tid)
    if payment.card is not None:
        payment.card.apply_num = led.new_apply_num()
    led.touch(payment)
    led.notify(payment, "paid")
    return payment


# Prepare -------------------------------------------------------------------


def prepare(led: Ledger, params: Params, *, update: bool) -> Prepared:
    """Register (POST) or change (PUT) the amount expected for an order.

    :param led: the ledger.
    :param params: ``merchant_uid``, ``amount``, optional ``currency``.
    :param update: PUT semantics: the registration must exist.
    """
    merchant_uid = params.required("merchant_uid", max_len=40)
    amount = params.required_amount("amount")
    currency = params.currency() if params.has("currency") else None
    check_currency_amount(amount, currency or "KRW")
    exists = merchant_uid in led.prepared
    if update and not exists:
        raise not_found("사전등록된 결제정보가 존재하지 않습니다.", code=1)
    if not update and exists:
        raise refused(
            "결제정보 사전등록에 실패하였습니다(이미 등록된 merchant_uid입니다)."
        )
    record = Prepared(merchant_uid, amount, currency)
    led.prepared.put(merchant_uid, record)
    return record


def prepared(led: Ledger, merchant_uid: str) -> Prepared:
    """The registration for an order.

    :param led: the ledger.
    :param merchant_uid: the order id.
    """
    record = led.prepared.get(merchant_uid)
    if record is None:
        raise not_found("사전등록된 결제정보가 존재하지 않습니다.", code=1)
    return record


# Lookups -------------------------------------------------------------------


def get(led: Ledger, imp_uid: str) -> Payment:
    """One payment by imp_uid.

    :param led: the ledger.
    :param imp_uid: PortOne's id.
    """
    payment = led.payment(imp_uid)
    if payment is None:
        raise not_found(PAYMENT_NOT_FOUND)
    return payment


def get_many(
    led: Ledger, imp_uids: Sequence[str], merchant_uids: Sequence[str]
) -> tuple[list[Payment], int]:
    """``GET /payments``: the payments found, and 200, 207 or 404.

    A merchant_uid stands for its newest attempt.

    :param led: the ledger.
    :param imp_uids: ids asked for.
    :param merchant_uids: order ids asked for.
    """
    asked = len(imp_uids) + len(merchant_uids)
    if asked == 0:
        raise bad_request("imp_uid[] 또는 merchant_uid[] 파라미터가 필요합니다.")
    if asked > MAX_IDS:
        raise bad_request(f"한 번에 {MAX_IDS}건까지 조회할 수 있습니다.")
    found = [p for p in map(led.payment, imp_uids) if p is not None]
    for merchant_uid in merchant_uids:
        attempts = led.attempts(merchant_uid)
        if attempts:
            found.append(sort(attempts, "-started")[0])
    if not found:
        raise not_found(PAYMENT_NOT_FOUND)
    return found, 200 if len(found) == asked else 207


def sort(payments: Sequence[Payment], sorting: str | None) -> list[Payment]:
    """Order payments by ``-started`` (default), ``started``, ``-paid`` and so on.

    Ties keep the newer attempt first for descending orders.

    :param payments: the payments, oldest first.
    :param sorting: PortOne's ``sorting`` value.
    """
    sorting = sorting or "-started"
    descending = sorting.startswith("-")
    key = SORTINGS.get(sorting.lstrip("-"))
    if key is None:
        raise invalid("sorting")
    ordered = list(reversed(payments)) if descending else list(payments)
    return sorted(ordered, key=key, reverse=descending)


def check_status(status: str | None, *, allow_all: bool = False) -> str | None:
    """Refuse a ``payment_status`` PortOne does not know (HTTP 400).

    :param status: the value from the path, or None.
    :param allow_all: whether ``all`` is allowed.
    """
    if status is None or status in PAYMENT_STATUSES or (allow_all and status == "all"):
        return status
    raise bad_request(f"payment_status 값이 올바르지 않습니다: {status}")


def find(
    led: Ledger, merchant_uid: str, status: str | None, sorting: str | None
) -> Payment:
    """``/payments/find``: the first attempt by ``sorting``, optionally in a status.

    :param led: the ledger.
    :param merchant_uid: the order id.
    :param status: a payment status, or None for any.
    :param sorting: PortOne's ``sorting`` value.
    """
    check_status(status)
    candidates = [p for p in led.attempts(merchant_uid) if status in (None, p.status)]
    if not candidates:
        raise not_found(PAYMENT_NOT_FOUND)
    return sort(candidates, sorting)[0]


def page_window(params: Params) -> tuple[int, int]:
    """``page`` (from 1) and ``limit`` (default 20, at most 1000).

    :param params: the query.
    """
    page, limit = params.integer("page"), params.integer("limit")
    page = 1 if page is None else page
    limit = DEFAULT_LIMIT if limit is None else limit
    if page < 1:
        raise invalid("page")
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("limit")
    return page, limit


def page_of(items: Sequence[T], page: int, limit: int) -> list[T]:
    """The entries of one page.

    :param items: every entry, in order.
    :param page: the page, from 1.
    :param limit: entries per page.
    """
    return list(items[(page - 1) * limit : page * limit])


def find_all(
    led: Ledger, merchant_uid: str, status: str | None, sorting: str | None
) -> list[Payment]:
    """``/payments/findAll``: every attempt, optionally in a status, sorted.

    :param led: the ledger.
    :param merchant_uid: the order id.
    :param status: a payment status, or None for any.
    :param sorting: PortOne's ``sorting`` value.
    """
    check_status(status)
    attempts = led.attempts(merchant_uid)
    if not attempts:
        raise not_found(PAYMENT_NOT_FOUND)
    return sort([p for p in attempts if status in (None, p.status)], sorting)


def by_status(led: Ledger, status: str, params: Params) -> list[Payment]:
    """``/payments/status/{status}``: payments in a status within ``from``..``to``.

    The time compared is the one of the payment's status: ``started_at`` for
    ready, ``paid_at`` for paid, ``cancelled_at`` for cancelled and ``failed_at``
    for failed (for ``all``, each payment's own).

    :param led: the ledger.
    :param status: ``all`` or a payment status.
    :param params: ``from``, ``to``, ``sorting``.
    """
    check_status(status, allow_all=True)
    until = params.integer("to")
    until = led.now() if until is None else until
    since = params.integer("from")
    since = until - NINETY_DAYS if since is None else since
    if since > until or until - since > NINETY_DAYS:
        raise bad_request("조회기간(from, to)은 최대 90일입니다.")
    chosen = [
        p
        for p in led.payments.values()
        if status in ("all", p.status) and since <= _TIME_FIELDS[p.status](p) <= until
    ]
    return sort(chosen, params.text("sorting"))
