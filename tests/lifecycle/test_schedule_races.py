"""Four processes repair the same schedule gaps at once, on a SQLite file and on
PostgreSQL: PortOne ends with one schedule per order, as the order says, and each
order moves once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.engine import Engine

from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.portone import Card
from flask_nicepay.portone import NoResponseError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import ScheduleRequest
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.schedule_book import GapKind

from . import schedule_race_worker
from .test_races import PROCESSES
from .test_races import db_url
from .test_races import in_processes
from .test_races import served_sandbox  # noqa: F401  (a fixture)

DAY = dt.timedelta(days=1)


def _every_kind(sandbox: Sandbox, payments: Payments) -> dict[str, str]:
    """One gap of each kind; their merchant_uids by what happened to them."""
    billing, client = payments.billing, payments.client
    billing.issue_key("race-sch", Card("4242-4242-4242-4242", "2030-12", "900101"))
    now = dt.datetime.now(dt.UTC)
    revoked, ran, repriced = billing.schedule(
        "race-sch", [(now + d * DAY, 9_900, "구독") for d in (5, 1, 6)]
    )
    sandbox.inject_fault("disconnect", path="/subscribe/payments/schedule")
    with pytest.raises(NoResponseError):
        billing.schedule("race-sch", [(now + 7 * DAY, 9_900, "구독")])
    made = {o.merchant_uid for o in (revoked, ran, repriced)}
    [lost] = [o for o in billing.orders_of("race-sch") if o["merchant_uid"] not in made]
    client.unschedule(merchant_uids=[revoked.merchant_uid, repriced.merchant_uid])
    stray = ScheduleRequest(
        merchant_uid="race-stray", schedule_at=now + 4 * DAY, amount=1
    )
    cheaper = ScheduleRequest(
        merchant_uid=repriced.merchant_uid, schedule_at=now + 6 * DAY, amount=1000
    )
    client.schedule("race-sch", [stray, cheaper])
    sandbox.advance_clock(2 * 86400)  # no webhook URL: the run goes unheard
    return {
        "revoked": revoked.merchant_uid,
        "ran": ran.merchant_uid,
        "repriced": repriced.merchant_uid,
        "lost": lost["merchant_uid"],
        "stray": "race-stray",
    }


@pytest.mark.slow
def test_processes_repairing_the_same_gaps_end_in_one_place(
    db_engine: Engine,
    served_sandbox: tuple[Sandbox, str],  # noqa: F811
) -> None:
    sandbox, url = served_sandbox
    client = PortOneClient("race_key", "race_secret", base_url=url)
    payments = Payments(client=client, engine=db_engine, sender=object())
    payments.billing.book.grace = dt.timedelta(0)  # the gaps are made just now
    uids = _every_kind(sandbox, payments)
    assert {g.kind for g in payments.billing.compare_schedules()} == set(GapKind)

    reports = in_processes(
        schedule_race_worker.repair, (db_url(db_engine), url), PROCESSES
    )
    assert [r["left"] for r in reports] == [[]] * PROCESSES
    assert payments.billing.compare_schedules() == []
    for name in ("revoked", "repriced", "lost"):
        schedule = client.get_schedule(uids[name])
        assert (schedule.schedule_status, schedule.amount) == ("scheduled", 9_900)
        assert payments.orders.get(uids[name]).state is OrderState.READY  # type: ignore[union-attr]
    assert client.get_schedule("race-stray").schedule_status == "revoked"
    ran = payments.orders.history(uids["ran"])
    assert [(h["from_state"], h["to_state"]) for h in ran] == [("ready", "paid")]
    client.close()
