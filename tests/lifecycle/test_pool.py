"""The connection pool pings a connection that sat idle, and only that one."""

from __future__ import annotations

import time
import typing as t

import pytest
import sqlalchemy as sa

from flask_nicepay import db

from ..databases import fresh_postgres_engine
from ..databases import postgres_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def idle_soon(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.05)
    return 0.1


def _backend_pid(conn: sa.Connection) -> int:
    return int(conn.exec_driver_sql("select pg_backend_pid()").scalar_one())


def test_a_connection_dropped_while_idle_is_replaced(idle_soon: float) -> None:
    fresh_postgres_engine().dispose()  # skips without PostgreSQL
    engine = db.make_engine(t.cast(str, postgres_url()), pool_size=1)
    admin = db.make_engine(t.cast(str, postgres_url()), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            dropped = _backend_pid(conn)
        with admin.connect() as conn:
            conn.execute(sa.select(sa.func.pg_terminate_backend(dropped)))
        time.sleep(idle_soon)

        with engine.connect() as conn:
            assert _backend_pid(conn) != dropped
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_in_steady_use_is_not_pinged(
    idle_soon: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_postgres_engine().dispose()
    engine = db.make_engine(t.cast(str, postgres_url()), pool_size=1)
    pings: list[object] = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(
        engine.dialect, "do_ping", lambda conn: pings.append(conn) or ping(conn)
    )
    try:
        for _ in range(5):
            with engine.connect() as conn:
                conn.exec_driver_sql("select 1")
        assert pings == []

        time.sleep(idle_soon)
        with engine.connect() as conn:
            conn.exec_driver_sql("select 1")
        assert len(pings) == 1
    finally:
        engine.dispose()
