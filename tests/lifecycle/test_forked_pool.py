"""A process forked after the engine was used opens connections of its own.

A Celery prefork child (or a ``gunicorn --preload`` worker) is forked from a
process that already talked to the database. Sharing the parent's pooled
connection would mix both processes' statements on one socket; the child must get
a fresh one, and the parent must keep its own.
"""

from __future__ import annotations

import multiprocessing

from sqlalchemy.engine import Engine


def _identity(engine: Engine) -> tuple[int, int]:
    """The pooled connection: the driver object's id and, on PostgreSQL, its
    backend's pid."""
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        backend = 0
        if engine.dialect.name == "postgresql":
            backend = int(conn.exec_driver_sql("select pg_backend_pid()").scalar_one())
        return id(raw), backend


def _in_child(engine: Engine, answers: multiprocessing.SimpleQueue[object]) -> None:
    answers.put(_identity(engine))


def test_a_forked_child_never_uses_the_parents_connection(db_engine: Engine) -> None:
    before = _identity(db_engine)  # the connection now waits in the pool
    fork = multiprocessing.get_context("fork")
    answers: multiprocessing.SimpleQueue[object] = fork.SimpleQueue()
    child = fork.Process(target=_in_child, args=(db_engine, answers))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    in_child = answers.get()
    assert in_child[0] != before[0]
    if db_engine.dialect.name == "postgresql":
        assert in_child[1] != before[1]
    assert _identity(db_engine) == before  # the parent keeps its connection
    answers.close()
