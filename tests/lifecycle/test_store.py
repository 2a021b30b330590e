"""The compare-and-swap store on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import typing as t
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from flask_nicepay import tables
from flask_nicepay.machine import InvalidTransitionError
from flask_nicepay.machine import OrderState
from flask_nicepay.store import Order
from flask_nicepay.store import Plan
from flask_nicepay.store import Store
from flask_nicepay.store import Transition
from flask_nicepay.store import UnknownOrderError


def new_order(store: Store, uid: str = "order-1", amount: str = "10000") -> Order:
    return store.create_order(
        merchant_uid=uid,
        amount=Decimal(amount),
        currency="KRW",
        name="x",
        origin="checkout",
    )


def pay(conn: Connection, order: Order) -> Plan | None:
    if order.state is OrderState.PAID:
        return None
    return Plan(events=("pay",), updates={"paid_amount": order.amount})


def test_money_and_times_round_trip_exactly(db_engine: Engine) -> None:
    store = Store(db_engine)
    usd = store.create_order(
        merchant_uid="usd-1",
        amount=Decimal("10.99"),
        currency="USD",
        name="x",
        origin="checkout",
    )
    assert usd.amount == Decimal("10.99")
    krw = new_order(store, "krw-1", "1234567890")
    assert krw.amount == Decimal(1_234_567_890)
    assert krw.created_at.tzinfo is not None
    with pytest.raises(Exception, match="2 decimals"):
        new_order(store, "bad-1", "1.005")
    with pytest.raises(Exception, match="aware"):
        store.create_order(
            merchant_uid="naive-1",
            amount=Decimal(1),
            currency="KRW",
            name="x",
            origin="checkout",
            paid_at=dt.datetime(2026, 1, 1),
        )


def test_merchant_uid_is_unique(db_engine: Engine) -> None:
    store = Store(db_engine)
    new_order(store)
    with pytest.raises(IntegrityError):
        new_order(store)


def test_apply_writes_state_version_and_history(db_engine: Engine) -> None:
    store = Store(db_engine)
    created = new_order(store)
    applied = store.apply("order-1", pay, source="webhook", inbox_id=7)

    assert applied.changed
    assert applied.order.state is OrderState.PAID
    assert applied.order.version == created.version + 1
    [transition] = applied.transitions
    assert (transition.event, transition.from_state, transition.to_state) == (
        "pay",
        OrderState.READY,
        OrderState.PAID,
    )
    [row] = store.history("order-1")
    assert (row["event"], row["source"], row["inbox_id"]) == ("pay", "webhook", 7)

    again = store.apply("order-1", pay, source="webhook")
    assert not again.changed and again.transitions == ()
    assert len(store.history("order-1")) == 1


def test_illegal_plan_writes_nothing(db_engine: Engine) -> None:
    store = Store(db_engine)
    new_order(store)
    with pytest.raises(InvalidTransitionError):
        store.apply(
            "order-1",
            lambda c, o: Plan(events=("cancel",), updates={"name": "y"}),
            source="api",
        )
    order = store.get("order-1")
    assert order is not None and order.state is OrderState.READY and order.name == "x"
    with pytest.raises(UnknownOrderError):
        store.apply("nope", pay, source="api")


def test_hook_runs_in_the_transaction_and_can_veto(db_engine: Engine) -> None:
    seen: list[str] = []

    def shop_update(conn: Connection, transition: Transition) -> None:
        # The store's own table would be updated here, on the same connection.
        count = conn.execute(
            sa.select(sa.func.count()).select_from(tables.history)
        ).scalar()
        seen.append(f"{transition.event}:{count}")
        if transition.order.merchant_uid == "veto":
            raise RuntimeError("shop refused")

    store = Store(db_engine, on_transition=shop_update)
    new_order(store)
    store.apply("order-1", pay, source="api")
    assert seen == ["pay:1"]  # the history row is already written, uncommitted

    new_order(store, "veto")
    with pytest.raises(RuntimeError, match="shop refused"):
        store.apply("veto", pay, source="api")
    vetoed = store.get("veto")
    assert vetoed is not None and vetoed.state is OrderState.READY
    assert store.history("veto") == []


def test_losing_a_race_retakes_the_decision(pg_engine: Engine) -> None:
    """On PostgreSQL two writers really interleave: the loser's UPDATE matches no
    row, and it decides again on the winner's result."""
    store = Store(pg_engine)
    new_order(store)
    calls: list[OrderState] = []

    def decide(conn: Connection, order: Order) -> Plan | None:
        calls.append(order.state)
        if len(calls) == 1:
            # Another process pays the order between our read and our write.
            rival = threading.Thread(
                target=store.apply, args=("order-1", pay), kwargs={"source": "rival"}
            )
            rival.start()
            rival.join()
        return pay(conn, order)

    applied = store.apply("order-1", decide, source="webhook")

    assert calls == [OrderState.READY, OrderState.PAID]
    assert applied.transitions == () and applied.order.state is OrderState.PAID
    assert [(h["event"], h["source"]) for h in store.history("order-1")] == [
        ("pay", "rival")
    ]


def test_many_threads_one_transition(db_engine: Engine) -> None:
    store = Store(db_engine)
    new_order(store)
    barrier = threading.Barrier(12)
    won: list[tuple[Transition, ...]] = []

    def deliver() -> None:
        barrier.wait()
        won.append(store.apply("order-1", pay, source="webhook").transitions)

    threads = [threading.Thread(target=deliver) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(len(w) for w in won) == [0] * 11 + [1]
    assert len(store.history("order-1")) == 1


def test_iter_orders_in_batches(db_engine: Engine) -> None:
    store = Store(db_engine)
    for i in range(7):
        new_order(store, f"o-{i}")
    store.apply("o-3", pay, source="api")
    batches = list(store.iter_orders(states=[OrderState.READY], batch_size=3))
    assert [len(b) for b in batches] == [3, 3]
    assert "o-3" not in {o.merchant_uid for b in batches for o in b}
    recent = list(store.iter_orders(updated_since=store.get("o-3").updated_at))  # type: ignore[union-attr]
    assert [o.merchant_uid for b in recent for o in b] == ["o-3"]


def test_rows_can_be_read_by_a_store_sharing_the_database(db_engine: Engine) -> None:
    store = Store(db_engine)
    new_order(store)
    with db_engine.connect() as conn:
        row: t.Any = conn.execute(
            sa.select(tables.orders.c.state, tables.orders.c.amount)
        ).one()
    assert row.state == "ready" and row.amount == Decimal(10_000)
