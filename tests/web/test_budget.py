"""The webhook's database budget: one delivery, counted statement by statement.

Persist before process needs the inbox row committed before PortOne is asked: one
statement that commits by itself. The order is read on its own too (the
compare-and-swap, not a lock, makes the write safe): after the fetch on SQLite, and
on PostgreSQL in the very statement that records the row. One short transaction
then swaps it (building the row as written, not reading it back) and writes its
history and the inbox outcome.
A duplicate changes nothing, so it opens no transaction at all. Nothing is read
twice. These counts are the budget of ``../shared/design.md``; if one grows,
this fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
import typing as t
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine

from flask_nicepay import OrderState
from flask_nicepay import db
from flask_nicepay import signals
from flask_nicepay import testing
from flask_nicepay.store import Plan

from .webshop import PORTONE_IP
from .webshop import get_order
from .webshop import inbox
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import state

ALONE, IN_TRANSACTION = "alone", "in a transaction"


@dataclasses.dataclass
class Counted:
    """Statements sent (``VERB table``, and whether each committed by itself) and
    the transactions opened around statements."""

    statements: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    transactions: int = 0


def _alone(conn: t.Any) -> bool:
    options = conn.get_execution_options()
    return bool(options.get("isolation_level") == "AUTOCOMMIT" or options.get(db.ALONE))


def _shape(statement: str) -> str:
    """``VERB table``; for a statement with ``WITH`` clauses, each clause's then
    the main statement's, joined by ``+``."""
    if statement.split()[0].upper() == "WITH":
        clauses = re.findall(
            r"\bAS \s*\((INSERT INTO|UPDATE|DELETE FROM) (\w+)", statement
        )
        inner = [f"{verb.split()[0]} {table}" for verb, table in clauses]
        main = statement[_end_of_clauses(statement) :]
        return " + ".join([*inner, _shape(main)])
    words = statement.split()
    verb = words[0].upper()
    table = {"INSERT": 2, "UPDATE": 1, "DELETE": 2}.get(verb)
    if table is None:
        joined = [w for i, w in enumerate(words) if words[i - 1].upper() == "JOIN"]
        after_from = [w for i, w in enumerate(words) if words[i - 1].upper() == "FROM"]
        named = joined or after_from
        return f"{verb} {named[0] if named else '?'}"
    return f"{verb} {words[table]}"


def _end_of_clauses(statement: str) -> int:
    """Where the main statement begins: after the last clause's closing bracket."""
    depth, end = 0, 0
    for at, char in enumerate(statement):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                end = at + 1
                rest = statement[end:].lstrip()
                if not rest.startswith(","):
                    return end
    return end


@contextlib.contextmanager
def counting(engine: Engine) -> t.Iterator[Counted]:
    counted = Counted()

    def on_statement(conn: t.Any, cursor: t.Any, statement: str, *_: t.Any) -> None:
        if not statement.upper().startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE
            where = ALONE if _alone(conn) else IN_TRANSACTION
            counted.statements.append((_shape(statement), where))

    def on_begin(conn: t.Any) -> None:
        if not _alone(conn):
            counted.transactions += 1

    sa.event.listen(engine, "before_cursor_execute", on_statement)
    sa.event.listen(engine, "begin", on_begin)
    try:
        yield counted
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_statement)
        sa.event.remove(engine, "begin", on_begin)


def _paid_order(app: Flask) -> dict[str, str]:
    """A webhook's body for an order paid at PortOne, not yet delivered."""
    uid = new_order(app)
    payment = testing.pay(uid, deliver=False, app=app)
    return {"imp_uid": payment["imp_uid"], "merchant_uid": uid, "status": "paid"}


def _hook(client: FlaskClient, body: dict[str, str]) -> int:
    environ = {"REMOTE_ADDR": PORTONE_IP}
    response = client.post("/nicepay/webhook", json=body, environ_base=environ)
    return response.status_code


FIRST_DELIVERY = [
    ("INSERT nicepay_inbox", ALONE),  # committed before PortOne is asked
    ("SELECT nicepay_orders", ALONE),
    ("UPDATE nicepay_orders", IN_TRANSACTION),  # compare-and-swap
    ("INSERT nicepay_history", IN_TRANSACTION),
    ("UPDATE nicepay_inbox", IN_TRANSACTION),  # the outcome, with the change
]
DUPLICATE = [
    ("INSERT nicepay_inbox", ALONE),
    ("SELECT nicepay_orders", ALONE),
    ("UPDATE nicepay_inbox", ALONE),
]
# PostgreSQL reads the order in the statement that records the row, and writes the
# change, its history and the outcome as one statement (flask_nicepay.fused).
RECORD_AND_READ = ("INSERT nicepay_inbox + SELECT nicepay_orders", ALONE)
FUSED = (
    "UPDATE nicepay_orders + INSERT nicepay_history + UPDATE nicepay_inbox"
    " + SELECT swapped",
    ALONE,
)
BUDGETS = {
    "sqlite": {"first": FIRST_DELIVERY, "duplicate": DUPLICATE},
    "postgresql": {
        "first": [RECORD_AND_READ, FUSED],
        "duplicate": [RECORD_AND_READ, DUPLICATE[2]],
    },
}
#: Transactions a first delivery opens: none where the change is one statement.
FIRST_TRANSACTIONS = {"sqlite": 1, "postgresql": 0}


@on_both_databases
def test_a_first_delivery_costs_one_transaction_and_no_read_twice(
    app: Flask, client: FlaskClient
) -> None:
    body = _paid_order(app)
    engine = state(app).payments.engine

    with counting(engine) as first:
        assert _hook(client, body) == 200

    assert first.statements == BUDGETS[engine.dialect.name]["first"]
    assert first.transactions == FIRST_TRANSACTIONS[engine.dialect.name]
    assert get_order(app, body["merchant_uid"]).state is OrderState.PAID
    [entry] = inbox(app, merchant_uid=body["merchant_uid"])
    assert (entry.outcome, entry.imp_uid, entry.attempts) == (
        "applied",
        body["imp_uid"],
        1,
    )
    assert entry.dedupe_key


@on_both_databases
def test_a_duplicate_costs_no_transaction(app: Flask, client: FlaskClient) -> None:
    body = _paid_order(app)
    engine = state(app).payments.engine
    assert _hook(client, body) == 200

    with counting(engine) as again:
        assert _hook(client, body) == 200

    assert again.statements == BUDGETS[engine.dialect.name]["duplicate"]
    assert again.transactions == 0
    outcomes = [e.outcome for e in inbox(app, merchant_uid=body["merchant_uid"])]
    assert outcomes == ["applied", "noop"]
    assert len(state(app).payments.orders.history(body["merchant_uid"])) == 1


@on_both_databases
def test_the_outcome_commits_with_the_order_or_not_at_all(
    app: Flask, client: FlaskClient
) -> None:
    """A failure inside the write transaction leaves neither the order nor the
    inbox outcome half-written: the row says ``error`` and can be replayed."""
    body = _paid_order(app)
    engine = state(app).payments.engine

    def refuse_history(conn: t.Any, cursor: t.Any, statement: str, *_: t.Any) -> None:
        if "INSERT INTO nicepay_history" in statement:  # alone, or with the change
            raise RuntimeError("history table unavailable")

    sa.event.listen(engine, "before_cursor_execute", refuse_history)
    try:
        with pytest.raises(RuntimeError, match="history table unavailable"):
            _hook(client, body)  # a 500 outside TESTING; PortOne retries it
    finally:
        sa.event.remove(engine, "before_cursor_execute", refuse_history)

    assert get_order(app, body["merchant_uid"]).state is OrderState.READY
    [entry] = inbox(app, merchant_uid=body["merchant_uid"])
    assert entry.outcome == "error"
    assert "history table unavailable" in (entry.error or "")

    replayed = state(app).payments.notifications.replay(entry.id)
    assert replayed.outcome == "applied"
    assert get_order(app, body["merchant_uid"]).state is OrderState.PAID


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
@pytest.mark.postgres
def test_only_the_row_still_to_process_commits_without_waiting_for_the_disk(
    app: Flask, client: FlaskClient
) -> None:
    """The received row commits asynchronously; the outcome that ends its
    processing, and every later transaction on the connection, wait for the WAL."""
    body = _paid_order(app)
    engine = state(app).payments.engine
    seen: list[str] = []

    def on_statement(conn: t.Any, cursor: t.Any, statement: str, *_: t.Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", on_statement)
    try:
        assert _hook(client, body) == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_statement)
    insert, *rest = seen
    assert "set_config" in insert and "synchronous_commit" in insert
    assert not any("set_config" in statement for statement in rest)
    with engine.connect() as conn:  # the same pooled connection, handed out again
        setting = conn.exec_driver_sql("show synchronous_commit").scalar_one()
    assert setting == "on"
    [entry] = inbox(app, merchant_uid=body["merchant_uid"])
    assert entry.outcome == "applied"


@contextlib.contextmanager
def isolation_switches(engine: Engine) -> t.Iterator[list[str]]:
    """Every isolation level the dialect sets on a connection, in order."""
    seen: list[str] = []
    dialect = engine.dialect
    real = dialect.set_isolation_level

    def counted(dbapi_connection: t.Any, level: t.Any) -> None:
        seen.append(str(level))
        real(dbapi_connection, level)

    dialect.set_isolation_level = counted  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del dialect.set_isolation_level


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
@pytest.mark.postgres
def test_the_request_connection_switches_to_autocommit_once(
    app: Flask, client: FlaskClient
) -> None:
    """Statements that commit alone share one switch to autocommit per request
    (on PostgreSQL the order's change is one of them), and the pool sets the
    connection back."""
    body = _paid_order(app)
    engine = state(app).payments.engine
    default = engine.dialect.default_isolation_level

    with isolation_switches(engine) as first:
        assert _hook(client, body) == 200
    with isolation_switches(engine) as again:
        assert _hook(client, body) == 200

    assert again == ["AUTOCOMMIT", default]  # the second: at check-in
    assert first == ["AUTOCOMMIT", default]  # the change is one statement too
    with engine.connect() as conn:  # the same pooled connection, handed out again
        assert conn.connection.dbapi_connection.autocommit is False  # type: ignore[union-attr]
    outcomes = [e.outcome for e in inbox(app, merchant_uid=body["merchant_uid"])]
    assert outcomes == ["applied", "noop"]


ORDER_SIGNALS = (
    signals.payment_paid,
    signals.vbank_issued,
    signals.payment_cancelled,
)


def _fields(order: t.Any) -> dict[str, str]:
    """Every field as its repr: a time in another zone, or an amount with another
    exponent, differs here though it would compare equal."""
    return {f.name: repr(getattr(order, f.name)) for f in dataclasses.fields(order)}


@on_both_databases
def test_the_order_a_change_hands_out_is_the_order_as_stored(app: Flask) -> None:
    """The swap reads nothing back: the order each signal carries is built from the
    row as read and the values written. It must be the very row a read gives:
    times in UTC, amounts as stored, the new version, the new state."""
    handed_out: list[tuple[dict[str, str], dict[str, str]]] = []

    def compare(sender: Flask, order: t.Any, **extra: t.Any) -> None:
        stored = get_order(app, order.merchant_uid)
        handed_out.append((_fields(order), _fields(stored)))

    for signal in ORDER_SIGNALS:
        signal.connect(compare, app)
    try:
        card = new_order(app, 30_000)
        testing.pay(card, app=app)
        with app.app_context():
            state(app).extension.refund(card, Decimal("10000.00"), reason="part")
            state(app).extension.refund(card)
        bank = new_order(app, 41_000)
        testing.pay(bank, pay_method="vbank", app=app)
        testing.deposit(bank, app=app)
    finally:
        for signal in ORDER_SIGNALS:
            signal.disconnect(compare, app)

    assert len(handed_out) == 5  # paid, cancelled (part, full), issued, paid
    for signalled, stored in handed_out:
        assert signalled == stored


@on_both_databases
def test_values_written_come_back_as_a_read_gives_them(app: Flask) -> None:
    """A time written in another zone and an amount written with cents are handed
    out as a read of the row gives them (UTC; the amount's stored hundredths)."""
    uid = new_order(app, 30_000)
    seoul = dt.timezone(dt.timedelta(hours=9))
    paid_at = dt.datetime(2026, 12, 2, 9, 30, tzinfo=seoul)
    updates = {"paid_at": paid_at, "paid_amount": Decimal("30000.00")}

    def decide(conn: t.Any, order: t.Any) -> Plan:
        return Plan(updates=updates)

    applied = state(app).payments.store.apply(uid, decide, source="api")

    assert applied.changed
    assert _fields(applied.order) == _fields(get_order(app, uid))
    assert applied.order.paid_at.tzinfo == dt.UTC
