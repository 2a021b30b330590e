"""Runs in a separate process: one janitor (a cron job on another host, or a
Celery worker) running every pass at the same moment as the others.

Used by test_janitor_races.py.
"""

from __future__ import annotations

import datetime as dt
import traceback
import typing as t

from flask_nicepay import signals
from flask_nicepay.db import make_engine
from flask_nicepay.inbox import Hint
from flask_nicepay.janitor_policy import JanitorPolicy
from flask_nicepay.payments import Payments
from flask_nicepay.portone import PortOneClient
from flask_nicepay.store import utcnow

#: The signals a janitor's work can send.
HEARD = ("payment_paid", "payment_cancelled", "vbank_expired", "payment_failed")
#: No waiting: the backlog is due at once, so every janitor wants all of it.
EAGER = JanitorPolicy(
    grace=dt.timedelta(0),
    refund_grace=dt.timedelta(0),
    backoff=(dt.timedelta(0),),
    batch_size=4,
)


def run(
    db_url: str, portone_url: str, ahead: float, barrier: t.Any, results: t.Any
) -> None:
    """Run the janitor twice, after every janitor is ready.

    :param ahead: seconds the sandbox's clock, which the backlog was made by,
        runs ahead of the real one.
    """
    heard: list[tuple[str, str]] = []
    try:
        sender = object()
        client = PortOneClient("race_key", "race_secret", base_url=portone_url)
        payments = Payments(
            client=client,
            engine=make_engine(db_url),
            sender=sender,
            janitor=EAGER,
            clock=lambda: utcnow() + dt.timedelta(seconds=ahead),
        )
        for name in HEARD:

            def on(_: t.Any, *, order: t.Any, _name: str = name, **data: t.Any) -> None:
                heard.append((_name, order.merchant_uid))

            getattr(signals, name).connect(on, sender=sender, weak=False)
        client.fetch_token()  # connect before the start line, not after it
        barrier.wait(timeout=60)
        reports = [payments.janitor.run().as_dict() for _ in range(2)]
        payments.engine.dispose()
        results.put({"heard": heard, "reports": reports, "error": None})
    except BaseException:
        results.put({"heard": heard, "error": traceback.format_exc()})


def receive(db_url: str, portone_url: str, imp_uid: str, merchant_uid: str) -> None:
    """A shop worker taking a webhook; killed by the test while PortOne is slow."""
    client = PortOneClient("race_key", "race_secret", base_url=portone_url)
    payments = Payments(client=client, engine=make_engine(db_url), sender=object())
    payments.notifications.receive("webhook", Hint(imp_uid, merchant_uid, "paid"))
