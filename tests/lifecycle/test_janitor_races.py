"""Several janitors, each a process of its own, run every pass at once on the same
backlog, on a SQLite file and on PostgreSQL: each order moves once and is
signalled once, PortOne is asked about each claimed row at most once, and a run
after them all changes nothing."""

from __future__ import annotations

import collections
import multiprocessing
import os
import signal
import time
import typing as t
import urllib.parse

import flask
import pytest
from sqlalchemy.engine import Engine

from flask_nicepay import signals
from flask_nicepay.inbox import Hint
from flask_nicepay.payments import Payments
from flask_nicepay.portone import NoResponseError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.store import utcnow

from ..web.webshop import paid_by_key_in
from . import janitor_worker
from .test_races import PROCESSES
from .test_races import db_url
from .test_races import in_processes
from .test_races import served_sandbox as served_sandbox

#: Orders per duty in the backlog.
EACH = 3


class Backlog:
    """What a bad day left: per duty, orders and what must become of them."""

    def __init__(self, sandbox: Sandbox, payments: Payments) -> None:
        self.sandbox, self.payments = sandbox, payments
        #: merchant_uid -> (the events its history must end with, its signal)
        self.expected: dict[str, tuple[list[str], str]] = {}
        #: Payments whose automatic cancel must be sent again, exactly once.
        self.refused: list[str] = []

    def paid(self, amount: int = 20_000) -> tuple[str, str]:
        uid = self.payments.orders.create(amount=amount, name="청소").merchant_uid
        imp_uid = self.sandbox.checkout(merchant_uid=uid, amount=amount)["imp_uid"]
        self.payments.reconciler.sync(imp_uid=imp_uid)  # its webhook, heard
        return uid, imp_uid

    def left_received(self) -> None:
        """A console cancel whose webhook was recorded and never processed."""
        uid, imp_uid = self.paid()
        self.sandbox.console_cancel(imp_uid)
        self.payments.inbox.record("webhook", hint=Hint(imp_uid, uid, "cancelled"))
        self.expected[uid] = (["pay", "cancel"], "payment_cancelled")

    def failed(self) -> None:
        """A console cancel whose webhook failed: PortOne could not be asked."""
        uid, imp_uid = self.paid()
        self.sandbox.console_cancel(imp_uid)
        self.sandbox.inject_fault("503", path=f"/payments/{imp_uid}", times=10)
        received = self.payments.notifications.receive(
            "webhook", Hint(imp_uid, uid, "cancelled")
        )
        assert received.outcome == "error"
        self.sandbox.clear_faults()
        self.expected[uid] = (["pay", "cancel"], "payment_cancelled")

    def unheard(self) -> None:
        """Paid in the window, its webhook lost: the order is still ready."""
        uid = self.payments.orders.create(amount=15_000, name="청소").merchant_uid
        self.sandbox.checkout(merchant_uid=uid, amount=15_000)
        self.expected[uid] = (["pay"], "payment_paid")

    def overdue_vbank(self) -> None:
        uid = self.payments.orders.create(amount=30_000, name="청소").merchant_uid
        due = int(self.sandbox.moment().timestamp()) + 120
        issued = self.sandbox.checkout(
            merchant_uid=uid, amount=30_000, pay_method="vbank", vbank_due=due
        )
        self.payments.reconciler.sync(imp_uid=issued["imp_uid"])
        self.expected[uid] = (["issue_vbank", "expire"], "vbank_expired")

    def refund_unanswered(self) -> None:
        """A refund PortOne made without a word, and no lookup since."""
        uid, imp_uid = self.paid()
        box = self.sandbox
        box.before_next_request(
            lambda: box.inject_fault("503", path=f"/payments/{imp_uid}", times=10),
            path=f"/payments/{imp_uid}",
        )
        box.inject_fault("timeout", path="/payments/cancel", delay=1.5)
        with pytest.raises(NoResponseError):
            self.payments.refunds.refund(uid, 5_000)
        box.clear_faults()
        [row] = self.payments.orders.refunds_of(uid)
        assert row.status == "unknown"
        self.expected[uid] = (["pay", "cancel_partially"], "payment_cancelled")

    def refused_auto_cancel(self) -> None:
        """A payment of the wrong amount whose automatic cancel PortOne refused."""
        uid = self.payments.orders.create(amount=40_000, name="청소").merchant_uid
        imp_uid = paid_by_key_in(self.payments.client, uid, 1_000)
        self.sandbox.inject_fault("500", path="/payments/cancel")
        self.payments.reconciler.sync(imp_uid=imp_uid)
        self.sandbox.clear_faults()
        [row] = self.payments.orders.refunds_of(uid)
        assert (row.source, row.status) == ("auto", "failed")
        self.refused.append(imp_uid)


def build(sandbox: Sandbox, payments: Payments) -> Backlog:
    backlog = Backlog(sandbox, payments)
    for _ in range(EACH):
        backlog.left_received()
        backlog.failed()
        backlog.unheard()
        backlog.overdue_vbank()
        backlog.refund_unanswered()
        backlog.refused_auto_cancel()
    return backlog


def listen(sandbox: Sandbox) -> list[str]:
    """Every id each payment lookup at PortOne names, one entry per naming."""
    named: list[str] = []

    @sandbox.app.before_request
    def note() -> None:
        path = flask.request.path
        if flask.request.method != "GET" or not path.startswith("/payments"):
            return
        query = urllib.parse.parse_qs(flask.request.query_string.decode())
        named.extend(query.get("imp_uid[]", []) + query.get("merchant_uid[]", []))
        tail = path.removeprefix("/payments").removeprefix("/find").strip("/")
        if tail:
            named.append(tail)

    return named


@pytest.mark.slow
def test_janitors_at_once_do_each_duty_once(
    db_engine: Engine, served_sandbox: tuple[Sandbox, str]
) -> None:
    sandbox, url = served_sandbox
    client = PortOneClient("race_key", "race_secret", base_url=url, timeout=(1, 1))
    payments = Payments(
        client=client, engine=db_engine, sender=object(), clock=sandbox.moment
    )
    named = listen(sandbox)
    backlog = build(sandbox, payments)
    sandbox.advance_clock(86_400)  # the accounts' deadlines pass
    named.clear()  # only what the janitors ask counts

    ahead = (sandbox.moment() - utcnow()).total_seconds()
    args = (db_url(db_engine), url, ahead)
    reports = in_processes(janitor_worker.run, args, PROCESSES)

    heard = collections.Counter(h for r in reports for h in map(tuple, r["heard"]))
    assert heard == {(signal, uid): 1 for uid, (_, signal) in backlog.expected.items()}
    for uid, (history, _) in backlog.expected.items():
        assert [h["event"] for h in payments.orders.history(uid)] == history
    asked = collections.Counter(named)
    # A mismatched order is open: the orders pass asks about it, and the refunds
    # pass once more, for the checksum of the cancel it sends again.
    assert {asked.pop(imp_uid) for imp_uid in backlog.refused} == {2}
    assert max(asked.values()) == 1, asked.most_common(3)
    claimed = sum(
        p["counts"].get("claimed", 0)
        for r in reports
        for run in r["reports"]
        for p in run.values()
    )
    # One row per order, claimed once; a refused cancel's order and its refund row.
    assert claimed == len(backlog.expected) + len(backlog.refused)
    for imp_uid in backlog.refused:  # sent again by one janitor, accepted once
        assert sandbox.cancel_checksums(imp_uid) == [1_000]
    sent_again = sum(
        p["counts"].get("sent_again_succeeded", 0)
        for r in reports
        for run in r["reports"]
        for p in run.values()
    )
    assert sent_again == len(backlog.refused)
    last = Payments(
        client=client,
        engine=db_engine,
        sender=object(),
        clock=sandbox.moment,
        janitor=janitor_worker.EAGER,
    )
    assert last.janitor.run().as_dict() == _nothing(last)


@pytest.mark.slow
def test_a_row_left_by_a_killed_worker_is_finished_once(
    db_engine: Engine, served_sandbox: tuple[Sandbox, str]
) -> None:
    sandbox, url = served_sandbox
    client = PortOneClient("race_key", "race_secret", base_url=url)
    payments = Payments(
        client=client, engine=db_engine, sender=object(), clock=sandbox.moment
    )
    uid = payments.orders.create(amount=12_000, name="청소").merchant_uid
    imp_uid = sandbox.checkout(merchant_uid=uid, amount=12_000)["imp_uid"]
    sandbox.inject_fault("slow", path=f"/payments/{imp_uid}", delay=30)
    worker = multiprocessing.get_context("spawn").Process(
        target=janitor_worker.receive, args=(db_url(db_engine), url, imp_uid, uid)
    )
    worker.start()
    deadline = time.monotonic() + 60
    while not payments.inbox.search(merchant_uid=uid):  # recorded, then asking
        assert time.monotonic() < deadline and worker.is_alive()
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(t.cast(int, worker.pid), signal.SIGKILL)
    worker.join(timeout=30)
    sandbox.clear_faults()
    [entry] = payments.inbox.search(merchant_uid=uid)
    assert entry.outcome == "received"
    sandbox.advance_clock(360)
    paid: list[str] = []
    signals.payment_paid.connect(
        lambda _, **kw: paid.append(kw["order"].merchant_uid),
        sender=payments.sender,
        weak=False,
    )

    janitors = [payments.janitor.stale_inbox() for _ in range(2)]

    assert [j.counts for j in janitors] == [{"claimed": 1, "applied": 1}, {}]
    assert [h["event"] for h in payments.orders.history(uid)] == ["pay"]
    assert paid == [uid]


def _nothing(payments: Payments) -> dict[str, t.Any]:
    """What a run that finds nothing to do reports."""
    empty: dict[str, t.Any] = {"counts": {}, "errors": []}
    orders = {"orders": 0, "applied": 0, "unchanged": 0, "not_at_portone": 0}
    return {
        "stale_inbox": empty,
        "failed_inbox": {"counts": {"given_up": 0}, "errors": []},
        "open_orders": {"counts": {**orders, "lookups": 0}, "errors": []},
        "vbanks": empty,
        "refunds": empty,
        "subscriptions": {"counts": {"failed": 0}, "errors": []},
    }
