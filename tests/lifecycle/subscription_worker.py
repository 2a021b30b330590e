"""Runs in a separate process: a shop worker that hears a renewal's result, or
runs the subscriptions' due work, at the same moment as the others.

Used by test_subscription_races.py.
"""

from __future__ import annotations

import traceback
import typing as t

from flask_nicepay import signals
from flask_nicepay.db import make_engine
from flask_nicepay.inbox import Hint
from flask_nicepay.payments import Payments
from flask_nicepay.portone import PortOneClient


def _payments(db_url: str, portone_url: str, heard: list[str]) -> Payments:
    sender = object()
    client = PortOneClient("race_key", "race_secret", base_url=portone_url)
    payments = Payments(client=client, engine=make_engine(db_url), sender=sender)

    def on_renewed(_: t.Any, **data: t.Any) -> None:
        heard.append(data["order"].merchant_uid)

    signals.subscription_renewed.connect(on_renewed, sender=sender, weak=False)
    client.fetch_token()  # connect before the start line, not after it
    return payments


def deliver(
    db_url: str,
    portone_url: str,
    imp_uid: str,
    merchant_uid: str,
    barrier: t.Any,
    results: t.Any,
) -> None:
    """The renewal's webhook, three times, after all workers are ready."""
    heard: list[str] = []
    try:
        payments = _payments(db_url, portone_url, heard)
        barrier.wait(timeout=60)
        for _ in range(3):
            payments.notifications.receive(
                "webhook", Hint(imp_uid, merchant_uid, "paid")
            )
        payments.engine.dispose()
        results.put({"heard": heard, "error": None})
    except BaseException:
        results.put({"heard": heard, "error": traceback.format_exc()})


def run_due(db_url: str, portone_url: str, barrier: t.Any, results: t.Any) -> None:
    """One pass of the due work, after all workers are ready."""
    heard: list[str] = []
    try:
        payments = _payments(db_url, portone_url, heard)
        barrier.wait(timeout=60)
        report = payments.subscriptions.run_due()
        payments.engine.dispose()
        results.put({"heard": heard, "done": report.done, "error": None})
    except BaseException:
        results.put({"heard": heard, "error": traceback.format_exc()})


def follow(
    db_url: str, portone_url: str, merchant_uid: str, barrier: t.Any, results: t.Any
) -> None:
    """Follow a paid charge's result, as the process that wrote it would, after
    all workers are ready: only a compare-and-swap keeps them apart."""
    heard: list[str] = []
    try:
        payments = _payments(db_url, portone_url, heard)
        order = payments.orders.get(merchant_uid)
        assert order is not None
        barrier.wait(timeout=60)
        payments.subscriptions.follow("pay", order)
        payments.engine.dispose()
        results.put({"heard": heard, "error": None})
    except BaseException:
        results.put({"heard": heard, "error": traceback.format_exc()})
