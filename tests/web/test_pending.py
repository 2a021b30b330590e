"""Whether a notification about an order still waits: read through an index.

The confirming page asks it at every poll in celery mode. A row not yet processed
knows its order only from the hint, so the question must not read every waiting
row: with a backlog (a broker outage, a burst) each buyer's poll would.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flask_nicepay import tables
from flask_nicepay.inbox import Inbox

BACKLOG = 3000


def _row(n: int, merchant_uid: str, outcome: str) -> dict[str, t.Any]:
    return {
        "kind": "webhook",
        "received_at": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        "body": b"{}",
        "body_truncated": False,
        "hint_imp_uid": f"imp_{n}",
        "hint_merchant_uid": merchant_uid,
        "outcome": outcome,
        "attempts": 0,
    }


def _plan(engine: Engine, inbox: Inbox, merchant_uid: str) -> tuple[bool, str]:
    ran: list[tuple[str, t.Any]] = []

    def keep(conn: t.Any, cursor: t.Any, statement: str, params: t.Any, *_: t.Any):
        if "FROM nicepay_inbox" in statement:
            ran.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        waiting = inbox.waiting(merchant_uid)
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    [(statement, params)] = ran
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE nicepay_inbox")  # as a database in use has
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            return waiting, "\n".join(str(row[-1]) for row in rows)
        rows = conn.exec_driver_sql("EXPLAIN " + statement, params)
        return waiting, "\n".join(str(row[0]) for row in rows)


def test_a_waiting_notification_is_found_by_its_order_not_by_a_scan(
    db_engine: Engine,
) -> None:
    backlog = [_row(n, f"np-other-{n}", "received") for n in range(BACKLOG)]
    mine = [_row(-1, "np-mine", "received"), _row(-2, "np-done", "applied")]
    with db_engine.begin() as conn:
        conn.execute(sa.insert(tables.inbox), backlog + mine)
    inbox = Inbox(db_engine, clock=lambda: dt.datetime.now(dt.UTC))
    waiting, plan = _plan(db_engine, inbox, "np-mine")
    assert waiting
    assert "ix_nicepay_inbox_waiting" in plan, plan
    assert _plan(db_engine, inbox, "np-done")[0] is False
    assert _plan(db_engine, inbox, "np-nobody")[0] is False
