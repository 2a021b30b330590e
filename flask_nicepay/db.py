"""Database engines that behave the same on SQLite and PostgreSQL.

Correctness comes from compare-and-swap writes, which work on every database. What
this module adds is SQLite's share of the bargain: a write transaction starts with
``BEGIN IMMEDIATE``, so two writers queue on the busy timeout instead of one of them
failing halfway through; file databases run in WAL mode so readers never wait for a
writer. :func:`create_tables` lets many processes start on a fresh database at
once: they take turns (:func:`schema_transaction`), and only the first creates
anything. A process forked from one that used an engine (a Celery prefork child,
``gunicorn --preload``) starts with an empty pool: two processes never share one
database connection.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import typing as t
import weakref

import sqlalchemy as sa
from sqlalchemy import MetaData
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

#: Execution option that marks a connection as about to write.
WRITE = "nicepay_write"
#: Execution option: SQLite statements run with no BEGIN, each committing itself.
ALONE = "nicepay_alone"
#: Seconds a pooled connection may sit idle before it is pinged at checkout.
PING_AFTER_IDLE = 1.0
_IDLE_SINCE = "nicepay_idle_since"
#: Seconds a SQLite writer waits for another one before giving up.
SQLITE_BUSY_TIMEOUT = 30.0
#: Name of the PostgreSQL advisory lock that table creation holds.
CREATE_TABLES_LOCK_NAME = "flask-nicepay:create-tables"
#: Its key: the first 8 bytes of the SHA-256 of the name, as a signed 64-bit
#: integer (``pg_advisory_xact_lock`` takes a ``bigint``). Fixed, so every version
#: of the plugin and every host queues on the same lock.
CREATE_TABLES_LOCK_KEY = -7661470891582259547


def make_engine(url: str | sa.URL, **kwargs: t.Any) -> Engine:
    """Create an engine for ``url``, tuned for concurrent use where needed.

    :param url: a SQLAlchemy database URL, such as ``sqlite:///shop.db`` or
        ``postgresql+psycopg://user@host/db``.
    :param kwargs: passed on to :func:`sqlalchemy.create_engine`. Other databases
        than SQLite get a pooled connection pinged when it was idle (see
        :data:`PING_AFTER_IDLE`); ``pool_pre_ping=True`` pings at every checkout.
    """
    url = sa.make_url(url)
    if url.get_backend_name() != "sqlite":
        engine = sa.create_engine(url, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            _ping_when_idle(engine)
        _fresh_pool_after_fork(engine)
        return engine
    memory = url.database in (None, "", ":memory:")
    connect_args = kwargs.setdefault("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT)
    connect_args.setdefault("check_same_thread", False)
    if memory:
        # One shared connection, or every new connection sees an empty database.
        kwargs.setdefault("poolclass", StaticPool)
    engine = sa.create_engine(url, **kwargs)
    _teach_sqlite_transactions(engine, wal=not memory)
    if not memory:  # a database in memory is the one connection's, fork or not
        _fresh_pool_after_fork(engine)
    return engine


def _fresh_pool_after_fork(engine: Engine) -> None:
    """Give a forked child a pool of its own, as SQLAlchemy's pooling docs advise.

    The parent's connections stay open for the parent (``close=False``); the
    child would otherwise write on the parent's sockets, and both would read
    each other's answers.
    """
    alive = weakref.ref(engine)

    def in_child() -> None:
        engine = alive()
        if engine is not None:
            engine.dispose(close=False)

    os.register_at_fork(after_in_child=in_child)


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before handing it out if it sat idle a while.

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip on every
    request, when the connection was in use a few milliseconds ago. A connection
    idle for :data:`PING_AFTER_IDLE` seconds (the database may have restarted,
    or a proxy dropped it) is pinged, and replaced if it does not answer; one in
    steady use is not.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: t.Any, record: t.Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: t.Any, record: t.Any, proxy: t.Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return  # just connected, or just used
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and hands out a new one.
            raise sa.exc.DisconnectionError(str(exc)) from exc


def _teach_sqlite_transactions(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: t.Any, record: t.Any) -> None:
        # Let SQLAlchemy's "begin" event decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            _use_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(ALONE, False):
            return  # each statement commits by itself (see autocommit())
        immediate = options.get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _use_wal(cursor: t.Any) -> None:
    """Switch a new SQLite file to WAL, waiting for other processes doing the same.

    Changing the journal mode needs the file to itself, and SQLite answers "database
    is locked" at once, without its busy timeout, while another process holds it:
    several workers opening a new file together would otherwise fail at start-up.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def writing(connection: Connection) -> Connection:
    """Mark ``connection`` as a writer before its transaction begins."""
    return connection.execution_options(**{WRITE: True})


@contextlib.contextmanager
def write_transaction(bind: Engine | Connection) -> t.Iterator[Connection]:
    """A transaction that will write: committed on success, rolled back on error.

    Use it instead of ``engine.begin()`` for anything that writes. On SQLite a
    transaction that reads first and writes later can otherwise fail at once with
    "database is locked" when another writer is active, instead of waiting.

    :param bind: an engine (a connection is checked out for the transaction), or
        a connection with no transaction open, to run it on.
    """
    if isinstance(bind, Connection):
        if in_autocommit(bind):  # see keep_autocommit(): a real transaction now
            bind.execution_options(isolation_level=bind.default_isolation_level)
        with writing(bind).begin():
            yield bind
        return
    with bind.connect() as conn, writing(conn).begin():
        yield conn


@contextlib.contextmanager
def connection(bind: Engine | Connection) -> t.Iterator[Connection]:
    """``bind`` itself if it is a connection, else one checked out of its pool."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as conn:
        yield conn


@contextlib.contextmanager
def autocommit(conn: Connection) -> t.Iterator[Connection]:
    """Run statements on ``conn`` that each commit by themselves, no BEGIN.

    For a single write, or reads that need no snapshot: on PostgreSQL a statement
    costs one round trip instead of three (``BEGIN``, the statement, ``COMMIT``).
    On SQLite (an engine from :func:`make_engine`) no ``BEGIN`` is sent either.

    :param conn: a connection with no transaction open.
    """
    if in_autocommit(conn):
        with _committing(conn):  # kept so by keep_autocommit(): nothing to switch
            yield conn
    elif conn.dialect.name == "postgresql":
        # The driver's own switch: SQLAlchemy's isolation level would be set and
        # reset through its execution options (twice each, with the pool's
        # check-in), several times the Python work, for a statement or two.
        driver: t.Any = conn.connection.driver_connection
        driver.autocommit = True
        try:
            with _committing(conn):  # BEGIN is not sent; COMMIT ends nothing
                yield conn
        finally:
            with contextlib.suppress(Exception):  # a connection that broke
                driver.autocommit = False
    else:
        conn.execution_options(**{ALONE: True})
        try:
            with _committing(conn):
                yield conn
        finally:
            conn.execution_options(**{ALONE: False})


@contextlib.contextmanager
def _committing(conn: Connection) -> t.Iterator[None]:
    try:
        yield
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def keep_autocommit(conn: Connection) -> None:
    """Leave ``conn`` in autocommit until :func:`write_transaction` needs a real one.

    For a connection that serves one request and is then returned to the pool,
    which sets it back to the engine's isolation level. On PostgreSQL each switch
    of the isolation level costs Python work twice (once when made, once undone
    at check-in), and :func:`autocommit` switches there and back around every
    statement: a request that runs several statements alone pays for one switch
    instead. Elsewhere this does nothing; :func:`autocommit` is cheap there.

    :param conn: a connection with no transaction open.
    """
    if conn.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT")


def in_autocommit(conn: Connection) -> bool:
    """Whether statements on ``conn`` commit by themselves (PostgreSQL's
    ``AUTOCOMMIT`` isolation level)."""
    options = conn.get_execution_options()
    return bool(options.get("isolation_level") == "AUTOCOMMIT")


def execute_alone(
    bind: Engine | Connection, statement: t.Any, params: t.Mapping[str, t.Any]
) -> sa.CursorResult[t.Any]:
    """Run one statement that needs no other in its transaction; see
    :func:`autocommit`.

    :param bind: an engine, or a connection with no transaction open.
    """
    with connection(bind) as conn, autocommit(conn):
        return conn.execute(statement, params)


def create_tables(engine: Engine, metadata: MetaData) -> None:
    """Create the tables of ``metadata`` that are missing, one process at a time.

    Several gunicorn workers starting on an empty database would otherwise all see
    no tables and all create them; PostgreSQL then refuses the second ``CREATE
    TABLE`` of a name (``pg_type_typname_nsp_index``) and that worker dies. Here
    the check and the creation happen in one transaction that first takes a lock
    (:func:`schema_transaction`), so the next process waits, then sees the tables
    and creates nothing.

    :param engine: the database; on SQLite, an engine from :func:`make_engine`
        (its write transactions begin with ``BEGIN IMMEDIATE``).
    :param metadata: the tables to create, such as ``flask_nicepay.tables.metadata``.
    """
    with schema_transaction(engine) as conn:
        metadata.create_all(conn)


@contextlib.contextmanager
def schema_transaction(engine: Engine) -> t.Iterator[Connection]:
    """A transaction for changing the schema, held by one process at a time.

    On PostgreSQL it first takes the advisory lock ``CREATE_TABLES_LOCK_KEY``,
    on SQLite the write lock (``BEGIN IMMEDIATE``), before anything is looked at:
    whoever comes next waits, then sees what the holder committed. Other
    databases get a plain transaction.

    :param engine: the database; on SQLite, an engine from :func:`make_engine`.
    """
    backend = engine.dialect.name
    if backend == "sqlite":
        with write_transaction(engine) as conn:
            yield conn
        return
    with engine.connect() as conn:
        if backend == "postgresql":
            # READ COMMITTED whatever the engine's default: each statement after
            # the lock must see what the previous holder committed, which a
            # snapshot taken before the wait (REPEATABLE READ) would not.
            conn = conn.execution_options(isolation_level="READ COMMITTED")
        with conn.begin():
            if backend == "postgresql":
                lock = sa.func.pg_advisory_xact_lock(CREATE_TABLES_LOCK_KEY)
                conn.execute(sa.select(lock))
            yield conn
