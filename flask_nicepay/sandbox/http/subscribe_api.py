"""The ``/subscribe`` half of the V1 REST API: billing keys and schedules (§6).

Routes are added to the blueprint of :mod:`.api`, so one registration serves both.
The schedule range lookups answer PortOne's paged object ``{total, previous,
next, list}``, as the official clients parse them (portone-v1.md §6.6).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from ..engine import billing_keys
from ..engine import schedules
from ..engine.payment_attempts import page_of
from ..engine.payment_attempts import page_window
from ..model.record_store import Ledger
from ..model.records import Schedule
from .rest_api import bp
from .rest_api import ok
from .rest_api import query_params
from .rest_api import run
from .serialize import customer_json
from .serialize import paged
from .serialize import payment_json
from .serialize import schedule_json


def _schedule_json(led: Ledger, record: Schedule) -> dict[str, Any]:
    payment = led.payment(record.imp_uid) if record.imp_uid else None
    return schedule_json(record, payment)


# Billing keys --------------------------------------------------------------


@bp.post("/subscribe/customers/<customer_uid>")
def register_customer(customer_uid: str) -> Response:
    """Issue (or replace) a billing key."""
    query = query_params()
    return ok(
        run(lambda led: customer_json(billing_keys.register(led, customer_uid, query)))
    )


@bp.get("/subscribe/customers/<customer_uid>")
def get_customer(customer_uid: str) -> Response:
    """A billing key, card masked."""
    return ok(run(lambda led: customer_json(billing_keys.customer(led, customer_uid))))


@bp.delete("/subscribe/customers/<customer_uid>")
def delete_customer(customer_uid: str) -> Response:
    """Delete a billing key; a ``reason`` query is accepted and not needed."""
    return ok(run(lambda led: customer_json(billing_keys.delete(led, customer_uid))))


@bp.get("/subscribe/customers")
def get_customers() -> Response:
    """Several billing keys by ``customer_uid[]``: 200, 207 or 404."""
    uids = query_params().texts("customer_uid")

    def lookup(led: Ledger) -> tuple[list[dict[str, Any]], int]:
        found, status = billing_keys.customers(led, uids)
        return [customer_json(c) for c in found], status

    found, status = run(lookup)
    return ok(found, status)


@bp.get("/subscribe/customers/<customer_uid>/payments")
def customer_payments(customer_uid: str) -> Response:
    """Payments made with a billing key, paged."""
    page, limit = page_window(query_params())

    def lookup(led: Ledger) -> dict[str, Any]:
        made = billing_keys.customer_payments(led, customer_uid)
        chosen = [payment_json(p) for p in page_of(made, page, limit)]
        return paged(chosen, len(made), page, limit)

    return ok(run(lookup))


@bp.get("/subscribe/customers/<customer_uid>/schedules")
@bp.get("/subscribe/payments/schedule/customers/<customer_uid>")
def customer_schedules(customer_uid: str) -> Response:
    """A customer's schedules in a ``from``..``to`` range, paged."""
    return _search(customer_uid)


# Payments with a key -------------------------------------------------------


@bp.post("/subscribe/payments/onetime")
def onetime() -> Response:
    """A key-in payment, optionally storing a billing key."""
    query = query_params()
    return ok(run(lambda led: payment_json(billing_keys.onetime(led, query))))


@bp.post("/subscribe/payments/again")
def again() -> Response:
    """A payment with a stored billing key."""
    query = query_params()
    return ok(run(lambda led: payment_json(billing_keys.again(led, query))))


@bp.post("/subscribe/payments/foreign")
def foreign() -> Response:
    """A key-in payment with a foreign card: card number and expiry only."""
    query = query_params()
    return ok(run(lambda led: payment_json(billing_keys.foreign(led, query))))


# Schedules -----------------------------------------------------------------


@bp.post("/subscribe/payments/schedule")
def schedule() -> Response:
    """Schedule payments for a billing key."""
    query = query_params()
    return ok(
        run(
            lambda led: [_schedule_json(led, s) for s in schedules.schedule(led, query)]
        )
    )


@bp.post("/subscribe/payments/unschedule")
def unschedule() -> Response:
    """Revoke pending schedules."""
    query = query_params()
    return ok(
        run(
            lambda led: [
                _schedule_json(led, s) for s in schedules.unschedule(led, query)
            ]
        )
    )


@bp.get("/subscribe/payments/schedule")
def search_schedules() -> Response:
    """Schedules in a ``schedule_from``..``schedule_to`` range, paged."""
    return _search(None)


@bp.get("/subscribe/payments/schedule/<merchant_uid>")
def get_schedule(merchant_uid: str) -> Response:
    """One schedule."""
    return ok(run(lambda led: _schedule_json(led, schedules.get(led, merchant_uid))))


@bp.put("/subscribe/payments/schedule/<merchant_uid>")
def reschedule(merchant_uid: str) -> Response:
    """Move a pending schedule to another time."""
    query = query_params()
    return ok(
        run(
            lambda led: _schedule_json(
                led, schedules.reschedule(led, merchant_uid, query)
            )
        )
    )


@bp.post("/subscribe/payments/schedule/<merchant_uid>/reschedule")
def rearm_schedule(merchant_uid: str) -> Response:
    """Schedule a revoked or failed schedule again."""
    query = query_params()
    return ok(
        run(lambda led: _schedule_json(led, schedules.rearm(led, merchant_uid, query)))
    )


def _search(customer_uid: str | None) -> Response:
    query = query_params()
    page, limit = page_window(query)

    def lookup(led: Ledger) -> dict[str, Any]:
        found = schedules.search(led, query, customer_uid=customer_uid)
        chosen = [_schedule_json(led, s) for s in page_of(found, page, limit)]
        return paged(chosen, len(found), page, limit)

    return ok(run(lookup))
