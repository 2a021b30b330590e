"""Runs in a separate process: one shop worker delivering notifications at once.

Used by test_races.py; a real process with its own interpreter, engine, client and
signal receivers, as a gunicorn worker on another host would be.
"""

from __future__ import annotations

import traceback
import typing as t

from flask_nicepay import signals
from flask_nicepay.db import make_engine
from flask_nicepay.inbox import Hint
from flask_nicepay.payments import Payments
from flask_nicepay.portone import PortOneClient


def deliver(
    db_url: str,
    portone_url: str,
    imp_uid: str,
    merchant_uid: str,
    kinds: list[str],
    barrier: t.Any,
    results: t.Any,
) -> None:
    """Deliver each of ``kinds`` for one payment, after all workers are ready."""
    sent: list[str] = []
    outcomes: list[str] = []
    try:
        engine = make_engine(db_url)
        client = PortOneClient("race_key", "race_secret", base_url=portone_url)
        sender = object()
        service = Payments(client=client, engine=engine, sender=sender)

        def on_paid(_: t.Any, **data: t.Any) -> None:
            sent.append("payment-paid")

        signals.payment_paid.connect(on_paid, sender=sender)
        client.fetch_token()  # connect before the start line, not after it
        barrier.wait(timeout=60)
        for kind in kinds:
            received = service.notifications.receive(
                kind, Hint(imp_uid, merchant_uid, "paid")
            )
            outcomes.append(str(received.outcome))
        engine.dispose()
        results.put({"sent": sent, "outcomes": outcomes, "error": None})
    except BaseException:
        results.put(
            {"sent": sent, "outcomes": outcomes, "error": traceback.format_exc()}
        )


def charge(
    db_url: str,
    portone_url: str,
    customer_uid: str,
    merchant_uid: str,
    barrier: t.Any,
    results: t.Any,
) -> None:
    """Charge a billing key under ``merchant_uid``, after all workers are ready."""
    from flask_nicepay import MerchantUidInUseError

    try:
        engine = make_engine(db_url)
        client = PortOneClient("race_key", "race_secret", base_url=portone_url)
        payments = Payments(client=client, engine=engine, sender=object())
        client.fetch_token()
        barrier.wait(timeout=60)
        try:
            order = payments.billing.charge(
                customer_uid, 9_900, "월 구독", merchant_uid=merchant_uid
            )
            outcome = str(order.state.value)
        except MerchantUidInUseError:
            outcome = "in use"
        engine.dispose()
        results.put({"outcome": outcome, "error": None})
    except BaseException:
        results.put({"outcome": None, "error": traceback.format_exc()})


def pay_key_in(
    db_url: str,
    portone_url: str,
    merchant_uid: str,
    barrier: t.Any,
    results: t.Any,
) -> None:
    """Pay one existing order by key-in, after all workers are ready."""
    from flask_nicepay.key_in import PaymentInProgressError
    from flask_nicepay.portone import Card

    card = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
    try:
        engine = make_engine(db_url)
        client = PortOneClient("race_key", "race_secret", base_url=portone_url)
        payments = Payments(client=client, engine=engine, sender=object())
        client.fetch_token()
        barrier.wait(timeout=60)
        try:
            order = payments.billing.pay_order_key_in(merchant_uid, card)
            outcome = str(order.state.value)
        except PaymentInProgressError:
            outcome = "in progress"
        engine.dispose()
        results.put({"outcome": outcome, "error": None})
    except BaseException:
        results.put({"outcome": None, "error": traceback.format_exc()})
