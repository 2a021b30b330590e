"""A change that loses its race writes nothing, however it is sent.

On PostgreSQL the swap, the history rows and the write that goes with them (a
notification's outcome) are one statement (``flask_nicepay.fused``); elsewhere they
are one transaction. Either way a swap that finds the row moved on must leave no
history row and no outcome behind, and the decision taken again on the fresh row
writes each once.
"""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_nicepay import OrderState
from flask_nicepay import tables
from flask_nicepay.inbox import Outcome
from flask_nicepay.store import Plan

from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import state


@on_both_databases
def test_a_change_that_loses_its_race_leaves_no_history_and_no_outcome(
    app: Flask,
) -> None:
    payments = state(app).payments
    uid = new_order(app)
    entry_id = payments.inbox.record("webhook", body=b"{}")
    decided: list[int] = []

    def decide(conn: t.Any, order: t.Any) -> Plan:
        decided.append(order.version)
        if len(decided) == 1:  # another writer moves the row on after our read
            with payments.engine.begin() as other:
                other.execute(
                    sa.update(tables.orders)
                    .where(tables.orders.c.merchant_uid == uid)
                    .values(version=tables.orders.c.version + 1)
                )
        return Plan(events=("fail",), detail="declined")

    def finish(conn: t.Any, applied: t.Any) -> None:
        payments.inbox.finish(entry_id, Outcome.APPLIED, connection=conn)

    def fuse(applied: t.Any) -> t.Any:
        return payments.inbox.outcome_write(entry_id, Outcome.APPLIED)

    applied = payments.store.apply(
        uid, decide, source="webhook", inbox_id=entry_id, finish=finish, fuse=fuse
    )

    assert decided == [decided[0], decided[0] + 1]  # decided again on the fresh row
    assert applied.changed and applied.order.state is OrderState.FAILED
    assert applied.order == get_order(app, uid)
    [row] = payments.orders.history(uid)
    assert (row.event, row.detail, row.inbox_id) == ("fail", "declined", entry_id)
    entry = payments.inbox.get(entry_id)
    assert entry is not None
    assert (entry.outcome, entry.attempts) == ("applied", 1)  # written once


@on_both_databases
def test_a_hook_that_shares_the_transaction_sees_the_change_and_can_undo_it(
    app: Flask,
) -> None:
    """With an ``on_transition`` hook the change is a transaction again: the hook
    writes in it, and a hook that raises leaves nothing written."""
    payments = state(app).payments
    uid = new_order(app)
    seen: list[str] = []

    def hook(conn: t.Any, transition: t.Any) -> None:
        count = sa.select(sa.func.count()).select_from(tables.history)
        seen.append(f"{transition.event}:{conn.execute(count).scalar_one()}")
        if transition.event == "fail":
            raise RuntimeError("the store's own write failed")

    payments.store.on_transition = hook
    try:

        def decide(conn: t.Any, order: t.Any) -> Plan:
            return Plan(events=("fail",))

        with pytest.raises(RuntimeError, match="own write failed"):
            payments.store.apply(uid, decide, source="api", fuse=lambda _: None)
    finally:
        payments.store.on_transition = None

    assert seen == ["fail:1"]  # the history row was written in the hook's transaction
    assert get_order(app, uid).state is OrderState.READY
    assert payments.orders.history(uid) == []
