"""Scheduled payments: schedule, unschedule, reschedule, the lookups, execution (§6.6).

A schedule runs when the sandbox clock reaches ``schedule_at`` (see
:meth:`Sandbox.run_due_schedules`): it pays like ``again`` with
``customer_uid_usage: "payment.scheduled"`` and, unlike ``again``, sends a webhook
for a decline too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from ..model import cards
from ..model.record_store import Ledger
from ..model.records import Buyer
from ..model.records import Schedule
from ..model.sandbox_errors import SandboxError
from ..model.sandbox_errors import bad_request
from ..model.sandbox_errors import not_found
from ..model.sandbox_errors import refused
from ..model.values import Params
from ..model.values import check_currency_amount
from ..model.values import invalid
from ..model.values import missing
from .billing_keys import UNKNOWN_BUYER
from .billing_keys import charge
from .billing_keys import key_setting
from .billing_keys import named_setting
from .billing_keys import read_card
from .billing_keys import store_key
from .payment_attempts import ALREADY_PAID
from .payment_attempts import Order
from .payment_attempts import custom_data_text
from .payment_attempts import setting_of

NO_CUSTOMER: Final = "등록된 고객정보가 없습니다."
CARD_CHECK_FAILED: Final = "카드정보 확인에 실패하였습니다."
NOTHING_TO_REVOKE: Final = "취소할 예약결제 기록이 존재하지 않습니다."
NOT_PENDING: Final = "이미 실행되었거나 취소된 예약결제입니다."
NOT_REARMABLE: Final = "취소되었거나 결제에 실패한 예약결제만 다시 예약할 수 있습니다."
PAST_TIME: Final = "예약 시각(schedule_at)은 현재 시각 이후여야 합니다."
SCHEDULE_STATUSES: Final = ("scheduled", "executed", "revoked")
#: Longest range a schedule search covers ("3 months").
MAX_RANGE: Final = 92 * 86400


def schedule_not_found(merchant_uid: str) -> Exception:
    """The answer for a merchant_uid without a schedule (HTTP 404).

    :param merchant_uid: the order id.
    """
    return not_found(
        f"요청하신 merchant_uid({merchant_uid})로 등록된 예약결제 정보를 "
        "찾을 수 없습니다.",
        code=1,
    )


def schedule(led: Ledger, params: Params) -> list[Schedule]:
    """``POST /subscribe/payments/schedule``.

    Every schedule is checked before any is stored, so a refusal stores nothing.
    Each schedule keeps the PG setting it will pay through: the one
    ``channel_key`` (or a ``pg`` naming a setting exactly) names, else the one
    that issued the key.

    :param led: the ledger.
    :param params: ``customer_uid``, ``schedules`` and optional card data.
    """
    customer_uid = params.required("customer_uid")
    items = params.objects("schedules")
    if not items:
        raise missing("schedules")
    profile, chosen = None, named_setting(led, params)
    if params.has("card_number"):
        try:
            profile = read_card(params, led.now())
        except cards.CardRejected as rejected:
            raise refused(f"{CARD_CHECK_FAILED} {rejected.reason}") from None
    elif customer_uid not in led.customers:
        raise refused(NO_CUSTOMER)
    created = [_read(led, customer_uid, item) for item in items]
    _check_unique(led, created)
    if profile is not None:
        given = Buyer.read(params, "customer_")
        existing = led.customers.get(customer_uid)
        details = given.or_else(existing.details) if existing else given
        store_key(led, customer_uid, profile, params, details, setting_of(led, params))
    owner = led.customers.get(customer_uid)
    for record in created:
        record.pg_setting = chosen or (key_setting(led, owner) if owner else None)
        if owner is not None:
            record.buyer = record.buyer.or_else(owner.details)
            record.customer_id = owner.customer_id
        led.schedules.put(record.merchant_uid, record)
    return created


def _read(led: Ledger, customer_uid: str, item: Params) -> Schedule:
    amount = item.required_amount("amount")
    currency = item.currency()
    check_currency_amount(amount, currency)
    schedule_at = item.integer("schedule_at")
    if schedule_at is None:
        raise missing("schedule_at")
    if schedule_at <= led.now():
        raise refused(PAST_TIME)
    return Schedule(
        customer_uid=customer_uid,
        merchant_uid=item.required("merchant_uid", max_len=40),
        schedule_at=schedule_at,
        amount=amount,
        currency=currency,
        name=item.text("name", max_len=40),
        buyer=Buyer.read(item),
        custom_data=custom_data_text(item.raw("custom_data")),
        notice_urls=tuple(item.texts("notice_url")),
        card_quota=item.integer("card_quota") or 0,
        tax_free=item.amount("tax_free") or Decimal(0),
        vat_amount=item.amount("vat_amount"),
        inserted=led.now(),
    )


def _check_unique(led: Ledger, created: list[Schedule]) -> None:
    seen: set[str] = set()
    for record in created:
        uid = record.merchant_uid
        existing = led.schedules.get(uid)
        if uid in seen or (
            existing is not None and existing.schedule_status != "revoked"
        ):
            raise refused(f"이미 예약결제가 등록된 merchant_uid입니다: {uid}")
        if led.paid_attempt(uid) is not None:
            raise refused(ALREADY_PAID)
        seen.add(uid)


def unschedule(led: Ledger, params: Params) -> list[Schedule]:
    """``POST /subscribe/payments/unschedule``: revoke pending schedules.

    :param led: the ledger.
    :param params: ``customer_uid`` and/or ``merchant_uid`` (a string or a list).
    """
    customer_uid = params.text("customer_uid")
    merchant_uids = set(params.texts("merchant_uid"))
    if customer_uid is None and not merchant_uids:
        raise refused(NOTHING_TO_REVOKE)
    chosen = [
        s
        for s in led.schedules.values()
        if s.schedule_status == "scheduled"
        and customer_uid in (None, s.customer_uid)
        and (not merchant_uids or s.merchant_uid in merchant_uids)
    ]
    if not chosen:
        raise refused(NOTHING_TO_REVOKE)
    for record in chosen:
        record.schedule_status, record.revoked_at = "revoked", led.now()
        led.schedules.mark_final(record.merchant_uid)
    return chosen


def get(led: Ledger, merchant_uid: str) -> Schedule:
    """``GET /subscribe/payments/schedule/{merchant_uid}``.

    :param led: the ledger.
    :param merchant_uid: the order id.
    """
    record = led.schedules.get(merchant_uid)
    if record is None:
        raise schedule_not_found(merchant_uid)
    return record


def reschedule(led: Ledger, merchant_uid: str, params: Params) -> Schedule:
    """``PUT /subscribe/payments/schedule/{merchant_uid}``: move a pending schedule.

    :param led: the ledger.
    :param merchant_uid: the order id.
    :param params: ``schedule_at``.
    """
    record = get(led, merchant_uid)
    schedule_at = params.integer("schedule_at")
    if schedule_at is None:
        raise missing("schedule_at")
    if record.schedule_status != "scheduled":
        raise SandboxError(400, 1, NOT_PENDING)
    if schedule_at <= led.now():
        raise SandboxError(400, 1, PAST_TIME)
    record.schedule_at = schedule_at
    return record


def rearm(led: Ledger, merchant_uid: str, params: Params) -> Schedule:
    """``POST /subscribe/payments/schedule/{merchant_uid}/reschedule``: schedule a
    revoked schedule, or one whose payment failed, again at a new time.

    :param led: the ledger.
    :param merchant_uid: the order id.
    :param params: ``schedule_at``.
    """
    record = get(led, merchant_uid)
    schedule_at = params.integer("schedule_at")
    if schedule_at is None:
        raise missing("schedule_at")
    failed = record.schedule_status == "executed" and record.payment_status == "failed"
    if record.schedule_status != "revoked" and not failed:
        raise SandboxError(400, 1, NOT_REARMABLE)
    if schedule_at <= led.now():
        raise SandboxError(400, 1, PAST_TIME)
    if led.paid_attempt(merchant_uid) is not None:
        raise refused(ALREADY_PAID)
    record.schedule_status, record.schedule_at = "scheduled", schedule_at
    record.revoked_at = record.executed_at = 0
    record.imp_uid = record.payment_status = record.fail_reason = None
    led.schedules.put(merchant_uid, record)  # pending again: no longer final
    return record


def search(
    led: Ledger, params: Params, *, customer_uid: str | None = None
) -> list[Schedule]:
    """The range lookups, by ``schedule_at``.

    ``GET /subscribe/payments/schedule`` sends ``schedule_from``/``schedule_to``/
    ``schedule_status``; the by-customer lookups send ``from``/``to``/
    ``schedule-status`` (hyphenated, as PortOne spells it).

    :param led: the ledger.
    :param params: the query.
    :param customer_uid: restrict to one customer (the by-customer lookups).
    """
    by_customer = customer_uid is not None
    since, until = _range(
        params,
        "from" if by_customer else "schedule_from",
        "to" if by_customer else "schedule_to",
    )
    status = params.text("schedule-status" if by_customer else "schedule_status")
    if status is not None and status not in SCHEDULE_STATUSES:
        raise invalid("schedule_status")
    sorting = params.text("sorting") or "-scheduled"
    if sorting not in ("scheduled", "-scheduled"):
        raise invalid("sorting")
    chosen = [
        s
        for s in led.schedules.values()
        if since <= s.schedule_at <= until
        and status in (None, s.schedule_status)
        and customer_uid in (None, s.customer_uid)
    ]
    chosen.sort(key=lambda s: s.schedule_at, reverse=sorting == "-scheduled")
    return chosen


def _range(params: Params, since_key: str, until_key: str) -> tuple[int, int]:
    since, until = params.integer(since_key), params.integer(until_key)
    if since is None:
        raise missing(since_key)
    if until is None:
        raise missing(until_key)
    if since > until or until - since > MAX_RANGE:
        raise bad_request("조회기간은 최대 3개월(92일)입니다.")
    return since, until


def run_due(led: Ledger) -> list[Schedule]:
    """Execute every pending schedule whose time has come, earliest first.

    :param led: the ledger.
    """
    now = led.now()
    due = [
        s
        for s in led.schedules.values()
        if s.schedule_status == "scheduled" and s.schedule_at <= now
    ]
    due.sort(key=lambda s: s.schedule_at)
    for record in due:
        execute(led, record)
    return due


def execute(led: Ledger, record: Schedule) -> Schedule:
    """Pay a schedule now, as ``again`` would, and send its webhook.

    A key deleted since scheduling, or an order paid some other way meanwhile,
    makes a ``failed`` payment rather than a silent skip.

    :param led: the ledger.
    :param record: the pending schedule.
    """
    customer = led.customers.get(record.customer_uid)
    setting = record.pg_setting or (
        key_setting(led, customer) if customer else led.pg_settings.default("api")
    )
    failure = None
    if customer is None:
        failure = UNKNOWN_BUYER
    elif led.paid_attempt(record.merchant_uid) is not None:
        failure = ALREADY_PAID
    payment = charge(
        led,
        _order_of(record),
        customer.card if customer else None,
        customer_uid=record.customer_uid,
        usage="payment.scheduled",
        quota=record.card_quota,
        setting=setting,
        failure=failure,
    )
    if payment.status == "failed":
        led.notify(payment, "failed")
    record.schedule_status, record.executed_at = "executed", led.now()
    record.imp_uid, record.payment_status = payment.imp_uid, payment.status
    record.fail_reason = payment.fail_reason
    led.schedules.mark_final(record.merchant_uid)
    return record


def _order_of(record: Schedule) -> Order:
    return Order(
        record.merchant_uid,
        record.amount,
        record.currency,
        record.name,
        record.buyer,
        record.custom_data,
        record.notice_urls,
        record.tax_free,
        record.vat_amount,
    )
