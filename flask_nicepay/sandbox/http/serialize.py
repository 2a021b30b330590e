"""The JSON shapes of PortOne's objects, each with its complete key list.

PortOne answers every key of an object on every answer, with ``null`` for strings
that do not apply, ``0`` for unset times and counters, ``[]`` for empty lists and
``false`` for flags; clients index into them without checking. Each function here
builds one shape in the order of the key tuple next to it, and a test holds the
tuples to portone-v1.md §3.2, §6.1 and §6.6.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import Final

from ..model.codes import API_MID
from ..model.codes import BANKS
from ..model.records import Buyer
from ..model.records import Cancellation
from ..model.records import CardUse
from ..model.records import Customer
from ..model.records import Payment
from ..model.records import Prepared
from ..model.records import Schedule
from ..model.records import Vbank
from ..model.values import json_amount

PAYMENT_KEYS: Final = (
    "imp_uid", "merchant_uid", "pay_method", "channel", "pg_provider",
    "emb_pg_provider", "pg_tid", "pg_id", "escrow", "apply_num", "bank_code",
    "bank_name", "card_code", "card_name", "card_issuer_code", "card_issuer_name",
    "card_publisher_code", "card_publisher_name", "card_quota", "card_number",
    "card_type", "vbank_code", "vbank_name", "vbank_num", "vbank_holder",
    "vbank_date", "vbank_issued_at", "name", "amount", "cancel_amount", "currency",
    "buyer_name", "buyer_email", "buyer_tel", "buyer_addr", "buyer_postcode",
    "custom_data", "user_agent", "status", "started_at", "paid_at", "failed_at",
    "cancelled_at", "fail_reason", "cancel_reason", "receipt_url", "cancel_history",
    "cancel_receipt_urls", "cash_receipt_issued", "customer_uid",
    "customer_uid_usage", "sandbox", "deposit_history", "promotion",
)  # fmt: skip
CANCEL_KEYS: Final = (
    "pg_tid", "amount", "cancelled_at", "reason", "receipt_url", "cancellation_id",
)  # fmt: skip
CUSTOMER_KEYS: Final = (
    "customer_uid", "pg_provider", "pg_id", "customer_id", "card_name", "card_code",
    "card_number", "card_type", "card_issuer_code", "card_issuer_name",
    "card_publisher_code", "card_publisher_name", "customer_name", "customer_email",
    "customer_tel", "customer_addr", "customer_postcode", "inserted", "updated",
    "sandbox",
)  # fmt: skip
SCHEDULE_KEYS: Final = (
    "customer_uid", "merchant_uid", "imp_uid", "pg_provider", "pg_id",
    "customer_id", "schedule_at", "executed_at", "revoked_at", "amount", "currency",
    "name", "buyer_name", "buyer_email", "buyer_tel", "buyer_addr",
    "buyer_postcode", "custom_data", "schedule_status", "payment_status",
    "fail_reason", "promotion_id",
)  # fmt: skip
PAGED_KEYS: Final = ("total", "previous", "next", "list")


def payment_json(payment: Payment) -> dict[str, Any]:
    """A Payment (``PaymentAnnotation``).

    :param payment: the record.
    """
    return {
        "imp_uid": payment.imp_uid,
        "merchant_uid": payment.merchant_uid,
        "pay_method": payment.pay_method,
        "channel": payment.channel,
        "pg_provider": payment.pg_provider,
        "emb_pg_provider": payment.emb_pg_provider,
        "pg_tid": payment.pg_tid,
        "pg_id": payment.pg_id,
        "escrow": payment.escrow,
        "apply_num": payment.card.apply_num if payment.card else None,
        "bank_code": payment.bank_code,
        "bank_name": BANKS.get(payment.bank_code or ""),
        **_card_json(payment.card),
        **_vbank_json(payment.vbank),
        "name": payment.name,
        "amount": json_amount(payment.amount),
        "cancel_amount": json_amount(payment.cancel_amount),
        "currency": payment.currency,
        **buyer_json(payment.buyer, "buyer_"),
        "custom_data": payment.custom_data,
        "user_agent": payment.user_agent,
        **_lifecycle_json(payment),
        "cash_receipt_issued": False,
        "customer_uid": payment.customer_uid,
        "customer_uid_usage": payment.customer_uid_usage,
        "sandbox": payment.sandbox,
        "deposit_history": [],
        "promotion": None,
    }


def _lifecycle_json(payment: Payment) -> dict[str, Any]:
    return {
        "status": payment.status,
        "started_at": payment.started_at,
        "paid_at": payment.paid_at,
        "failed_at": payment.failed_at,
        "cancelled_at": payment.cancelled_at,
        "fail_reason": payment.fail_reason,
        "cancel_reason": payment.cancel_reason,
        "receipt_url": payment.receipt_url,
        "cancel_history": [cancel_json(c) for c in payment.cancellations],
        "cancel_receipt_urls": [c.receipt_url for c in payment.cancellations],
    }


def _card_json(card: CardUse | None) -> dict[str, Any]:
    profile = card.profile if card else None
    return {
        "card_code": profile.card_code if profile else None,
        "card_name": profile.card_name if profile else None,
        "card_issuer_code": None,
        "card_issuer_name": None,
        "card_publisher_code": None,
        "card_publisher_name": None,
        "card_quota": card.quota if card else 0,
        "card_number": profile.card_number if profile else None,
        "card_type": profile.card_type if profile else None,
    }


def _vbank_json(vbank: Vbank | None) -> dict[str, Any]:
    return {
        "vbank_code": vbank.code if vbank else None,
        "vbank_name": vbank.name if vbank else None,
        "vbank_num": vbank.num if vbank else None,
        "vbank_holder": vbank.holder if vbank else None,
        "vbank_date": vbank.date if vbank else 0,
        "vbank_issued_at": vbank.issued_at if vbank else 0,
    }


def cancel_json(cancel: Cancellation) -> dict[str, Any]:
    """One ``cancel_history`` item (``PaymentCancelAnnotation``).

    :param cancel: the record.
    """
    return {
        "pg_tid": cancel.pg_tid,
        "amount": json_amount(cancel.amount),
        "cancelled_at": cancel.cancelled_at,
        "reason": cancel.reason,
        "receipt_url": cancel.receipt_url,
        "cancellation_id": cancel.cancellation_id,
    }


def buyer_json(buyer: Buyer, prefix: str) -> dict[str, str | None]:
    """The five buyer (or customer) fields under a prefix.

    :param buyer: the details.
    :param prefix: ``buyer_`` or ``customer_``.
    """
    return {
        prefix + "name": buyer.name,
        prefix + "email": buyer.email,
        prefix + "tel": buyer.tel,
        prefix + "addr": buyer.addr,
        prefix + "postcode": buyer.postcode,
    }


def customer_json(customer: Customer) -> dict[str, Any]:
    """A billing key (``CustomerAnnotation``); the card number is masked.

    :param customer: the record.
    """
    card = customer.card
    return {
        "customer_uid": customer.customer_uid,
        "pg_provider": customer.pg_provider,
        "pg_id": customer.pg_id,
        "customer_id": customer.customer_id,
        "card_name": card.card_name,
        "card_code": card.card_code,
        "card_number": card.card_number,
        "card_type": card.card_type,
        "card_issuer_code": None,
        "card_issuer_name": None,
        "card_publisher_code": None,
        "card_publisher_name": None,
        **buyer_json(customer.details, "customer_"),
        "inserted": customer.inserted,
        "updated": customer.updated,
        "sandbox": customer.sandbox,
    }


def schedule_json(schedule: Schedule, payment: Payment | None) -> dict[str, Any]:
    """A schedule (``ScheduleResultAnnotation``).

    :param schedule: the record.
    :param payment: the payment it produced, when it still exists, so that a later
        cancel shows as ``payment_status: "cancelled"``.
    """
    return {
        "customer_uid": schedule.customer_uid,
        "merchant_uid": schedule.merchant_uid,
        "imp_uid": schedule.imp_uid,
        **_schedule_pg(schedule, payment),
        "customer_id": schedule.customer_id,
        "schedule_at": schedule.schedule_at,
        "executed_at": schedule.executed_at,
        "revoked_at": schedule.revoked_at,
        "amount": json_amount(schedule.amount),
        "currency": schedule.currency,
        "name": schedule.name,
        **buyer_json(schedule.buyer, "buyer_"),
        "custom_data": schedule.custom_data,
        "schedule_status": schedule.schedule_status,
        "payment_status": payment.status if payment else schedule.payment_status,
        "fail_reason": schedule.fail_reason,
        "promotion_id": None,
    }


def _schedule_pg(schedule: Schedule, payment: Payment | None) -> dict[str, str]:
    # The payment's once it ran; before, the setting it will pay through.
    if payment is not None:
        return {"pg_provider": payment.pg_provider, "pg_id": payment.pg_id}
    setting = schedule.pg_setting
    if setting is None:  # not seen: every schedule keeps one when scheduled
        return {"pg_provider": "nice", "pg_id": API_MID}
    return {"pg_provider": setting.pg_provider, "pg_id": setting.mid}


def prepared_json(prepared: Prepared) -> dict[str, Any]:
    """A ``/payments/prepare`` registration.

    :param prepared: the record.
    """
    return {
        "merchant_uid": prepared.merchant_uid,
        "amount": json_amount(prepared.amount),
        "currency": prepared.currency,
    }


def paged(items: Sequence[Any], total: int, page: int, limit: int) -> dict[str, Any]:
    """PortOne's paged object; ``previous`` and ``next`` are 0 when there is none.

    :param items: this page's serialized entries.
    :param total: how many entries all pages hold.
    :param page: this page's number, from 1.
    :param limit: entries per page.
    """
    return {
        "total": total,
        "previous": page - 1 if page > 1 else 0,
        "next": page + 1 if page * limit < total else 0,
        "list": list(items),
    }
