"""One payment, every door at once: the webhook several times, the PC completion and
the mobile return, from many threads and from several processes, on a SQLite file
and on PostgreSQL. Exactly one paid transition, one signal, no error."""

from __future__ import annotations

import multiprocessing
import threading
import typing as t

import flask
import pytest
from sqlalchemy.engine import Engine

from flask_nicepay import signals
from flask_nicepay.inbox import Hint
from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.portone import Card
from flask_nicepay.portone import CardError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import serve

from . import race_worker

DOORS = ["webhook", "webhook", "pc", "webhook", "mobile", "webhook"]


def paid_payment(sandbox: Sandbox, service: Payments) -> tuple[str, str]:
    uid = service.orders.create(amount=45_000, name="경쟁").merchant_uid
    return sandbox.checkout(merchant_uid=uid, amount=45_000)["imp_uid"], uid


def assert_paid_once(service: Payments, uid: str, deliveries: int) -> None:
    order = service.orders.get(uid)
    assert order is not None and order.state is OrderState.PAID
    assert [h["event"] for h in service.orders.history(uid)] == ["pay"]
    entries = service.inbox.search(merchant_uid=uid)
    assert len(entries) == deliveries
    assert sorted(e.outcome for e in entries) == ["applied"] + ["noop"] * (
        deliveries - 1
    )


def test_threads(db_engine: Engine) -> None:
    sandbox = Sandbox(imp_key="race_key", imp_secret="race_secret")
    sender = object()
    client = PortOneClient(
        "race_key", "race_secret", base_url=sandbox.base_url, session=sandbox.session()
    )
    service = Payments(client=client, engine=db_engine, sender=sender)
    imp_uid, uid = paid_payment(sandbox, service)
    sent: list[str] = []
    signals.payment_paid.connect(
        lambda _, **kw: sent.append(kw["order"].merchant_uid), sender=sender, weak=False
    )
    doors = DOORS * 4
    barrier = threading.Barrier(len(doors))
    errors: list[BaseException] = []

    def knock(kind: str) -> None:
        barrier.wait()
        try:
            service.notifications.receive(kind, Hint(imp_uid, uid, "paid"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=knock, args=(kind,)) for kind in doors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sent == [uid]
    assert_paid_once(service, uid, len(doors))


@pytest.fixture
def served_sandbox() -> t.Iterator[tuple[Sandbox, str]]:
    sandbox = Sandbox(imp_key="race_key", imp_secret="race_secret")
    with serve(sandbox, port=0) as url:
        yield sandbox, url


def db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.mark.slow
def test_processes(db_engine: Engine, served_sandbox: tuple[Sandbox, str]) -> None:
    sandbox, url = served_sandbox
    client = PortOneClient("race_key", "race_secret", base_url=url)
    service = Payments(client=client, engine=db_engine, sender=object())
    imp_uid, uid = paid_payment(sandbox, service)
    args = (db_url(db_engine), url, imp_uid, uid, DOORS)
    reports = in_processes(race_worker.deliver, args, PROCESSES)

    assert sum(len(r["sent"]) for r in reports) == 1
    assert_paid_once(service, uid, PROCESSES * len(DOORS))


PROCESSES = 4


def in_processes(
    target: t.Callable[..., None], args: tuple[t.Any, ...], count: int
) -> list[dict[str, t.Any]]:
    """Run ``target(*args, barrier, results)`` in ``count`` spawned processes at
    once; their reports, each checked free of errors."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count)
    results = context.Queue()
    workers = [
        context.Process(target=target, args=(*args, barrier, results))
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert [r["error"] for r in reports] == [None] * count
    assert all(w.exitcode == 0 for w in workers)
    return reports


@pytest.mark.slow
def test_processes_charging_one_merchant_uid_charge_once(
    db_engine: Engine, served_sandbox: tuple[Sandbox, str]
) -> None:
    """Four workers charge a billing key with the same merchant_uid at once: one
    charge at PortOne, and every other worker gets MerchantUidInUseError."""
    sandbox, url = served_sandbox
    client = PortOneClient("race_key", "race_secret", base_url=url)
    service = Payments(client=client, engine=db_engine, sender=object())
    service.billing.issue_key(
        "race-cust", Card("4242-4242-4242-4242", "2030-12", "900101", "12")
    )
    before = sandbox.payments_count()
    args = (db_url(db_engine), url, "race-cust", "race-once")
    reports = in_processes(race_worker.charge, args, PROCESSES)

    assert sorted(r["outcome"] for r in reports) == ["in use"] * 3 + ["paid"]
    assert sandbox.payments_count() == before + 1
    order = service.orders.get("race-once")
    assert order is not None and order.state is OrderState.PAID


KEY_IN_SUBMISSIONS = 6


@pytest.mark.slow
def test_processes_paying_one_order_by_key_in_call_portone_once(
    db_engine: Engine, served_sandbox: tuple[Sandbox, str]
) -> None:
    """Six workers submit the key-in form of one order at once (a double click,
    two tabs, two hosts): one call reaches PortOne, one payment; the others are
    turned away while it runs, or find the order paid."""
    sandbox, url = served_sandbox
    client = PortOneClient("race_key", "race_secret", base_url=url)
    service = Payments(client=client, engine=db_engine, sender=object())
    uid = service.orders.create(amount=45_000, name="키인 경쟁").merchant_uid
    # A first try PortOne could not authenticate: the order stays ready, and its
    # claim is over, so every worker below has to swap it, not insert it.
    refused = Card("4000-0000-0000-0002", "2030-12", "900101", "12")
    with pytest.raises(CardError):
        service.billing.pay_order_key_in(uid, refused)
    # The answer is held a while, as a card company's approval takes time.
    sandbox.inject_fault(
        "slow", path="/subscribe/payments/onetime", delay=0.5, times=10
    )
    calls: list[str] = []

    def count(sender: t.Any, **extra: t.Any) -> None:
        if flask.request.path == "/subscribe/payments/onetime":
            calls.append(flask.request.path)

    flask.request_started.connect(count)
    try:
        reports = in_processes(
            race_worker.pay_key_in, (db_url(db_engine), url, uid), KEY_IN_SUBMISSIONS
        )
    finally:
        flask.request_started.disconnect(count)

    assert len(calls) == 1
    assert sandbox.payments_count() == 1
    outcomes = sorted(r["outcome"] for r in reports)
    assert set(outcomes) <= {"paid", "in progress"} and "paid" in outcomes
    order = service.orders.get(uid)
    assert order is not None and order.state is OrderState.PAID
    assert [h["event"] for h in service.orders.history(uid)] == ["pay"]
