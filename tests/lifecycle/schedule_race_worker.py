"""Runs in a separate process: one worker repairing the schedule gaps at once.

Used by test_schedule_races.py; its own interpreter, engine and client, as a
periodic job on another host would have.
"""

from __future__ import annotations

import datetime as dt
import traceback
import typing as t

from flask_nicepay.db import make_engine
from flask_nicepay.payments import Payments
from flask_nicepay.portone import PortOneClient


def repair(db_url: str, portone_url: str, barrier: t.Any, results: t.Any) -> None:
    """Compare, wait for the others, then repair every gap found."""
    try:
        engine = make_engine(db_url)
        client = PortOneClient("race_key", "race_secret", base_url=portone_url)
        billing = Payments(client=client, engine=engine, sender=object()).billing
        billing.book.grace = dt.timedelta(0)  # the gaps were made just now
        gaps = billing.compare_schedules()
        barrier.wait(timeout=60)
        repairs = billing.repair_schedules(gaps, revoke_unknown=True)
        engine.dispose()
        results.put(
            {
                "found": len(gaps),
                "actions": [[a.value for a in r.actions] for r in repairs],
                "left": [r.gap.merchant_uid for r in repairs if not r.fixed],
                "error": None,
            }
        )
    except BaseException:
        results.put({"error": traceback.format_exc()})
