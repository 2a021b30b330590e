"""Many workers starting at once on a database that has no tables yet.

Each collision starts 4 real processes on the same fresh database at the same
moment, several times over, on PostgreSQL (a brand-new database per round) and on
SQLite files. Every worker must come up and the tables must be there once. The
gunicorn test does what a deployment does: ``gunicorn -w 4`` on an empty
PostgreSQL, with NicePay creating its tables as each worker loads the app.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import pathlib
import secrets
import socket
import subprocess
import sys
import threading
import time
import typing as t

import pytest
import requests
import sqlalchemy as sa

from flask_nicepay import migrations
from flask_nicepay import tables
from flask_nicepay.db import CREATE_TABLES_LOCK_KEY
from flask_nicepay.db import CREATE_TABLES_LOCK_NAME
from flask_nicepay.db import create_tables
from flask_nicepay.db import make_engine

from ..databases import POSTGRES_ENV
from ..databases import postgres_url
from ..migrations import release_0_1_0
from . import fresh_start_worker

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKERS = 4
#: Fresh databases per test: one collision rarely shows a race, several do.
ROUNDS = 5
#: Upper bound on any wait below; reaching it is a failure, not a measurement.
PATIENCE = 180.0
VERSION = migrations.VERSION_TABLE


@contextlib.contextmanager
def fresh_postgres(count: int) -> t.Iterator[list[str]]:
    """URLs of ``count`` new, empty PostgreSQL databases, dropped afterwards."""
    url = postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}")
    base = sa.make_url(url)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    names = [f"nicepay_fresh_{secrets.token_hex(6)}" for _ in range(count)]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield [
            base.set(database=name).render_as_string(hide_password=False)
            for name in names
        ]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def assert_tables_once(url: str, *, versioned: bool) -> None:
    """The plugin's tables are there; an app's start also recorded, once, that
    they are at the newest revision (``create_tables`` records nothing)."""
    engine = make_engine(url)
    try:
        names = set(sa.inspect(engine).get_table_names())
        versions = []
        if versioned:
            with engine.connect() as conn:
                version = sa.table(VERSION, sa.column("version_num"))
                versions = conn.execute(sa.select(version)).all()
    finally:
        engine.dispose()
    assert names == set(tables.metadata.tables) | ({VERSION} if versioned else set())
    assert versions == ([(migrations.head(),)] if versioned else [])


def collide(urls: list[str], how: str) -> None:
    """4 processes start on each of ``urls`` in turn, all at the same moment."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(WORKERS)
    results = spawn.Queue()
    workers = [
        spawn.Process(
            target=fresh_start_worker.collide, args=(urls, how, barrier, results)
        )
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    try:
        outcomes = [results.get(timeout=PATIENCE) for _ in range(WORKERS * len(urls))]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    errors = [error for _, error in outcomes if error]
    assert not errors, f"{len(errors)} of {len(outcomes)} starts failed:\n{errors[0]}"
    for url in urls:
        assert_tables_once(url, versioned=how == "app")


def test_lock_key_is_derived_from_its_name() -> None:
    digest = hashlib.sha256(CREATE_TABLES_LOCK_NAME.encode()).digest()
    assert int.from_bytes(digest[:8], "big", signed=True) == CREATE_TABLES_LOCK_KEY


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["function", "app"])
def test_postgres_workers_start_together(how: str) -> None:
    with fresh_postgres(ROUNDS) as urls:
        collide(urls, how)


@pytest.mark.parametrize("how", ["function", "app"])
def test_sqlite_workers_start_together(how: str, tmp_path: pathlib.Path) -> None:
    collide([f"sqlite:///{tmp_path / f'fresh{n}.db'}" for n in range(ROUNDS)], how)


def made_by_0_1_0(urls: list[str]) -> list[str]:
    """``urls``, each given the tables release 0.1.0 created (no version)."""
    for url in urls:
        engine = make_engine(url)
        release_0_1_0.metadata.create_all(engine)
        engine.dispose()
    return urls


@pytest.mark.postgres
def test_postgres_workers_upgrade_a_0_1_0_database_together() -> None:
    """Each start upgrades the tables; the workers take turns, one upgrades."""
    with fresh_postgres(ROUNDS) as urls:
        collide(made_by_0_1_0(urls), "app")


def test_sqlite_workers_upgrade_a_0_1_0_database_together(
    tmp_path: pathlib.Path,
) -> None:
    urls = [f"sqlite:///{tmp_path / f'old{n}.db'}" for n in range(ROUNDS)]
    collide(made_by_0_1_0(urls), "app")


def wait_until(condition: t.Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _waiting_for_lock(conn: sa.Connection) -> bool:
    query = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())"
    )
    return bool(conn.execute(query).scalar_one())


@pytest.mark.postgres
def test_postgres_creation_waits_for_the_lock_holder() -> None:
    """Nothing is looked at or created before the lock is ours."""
    with fresh_postgres(1) as [url]:
        engine = make_engine(url)
        failures: list[BaseException] = []

        def create() -> None:
            try:
                create_tables(engine, tables.metadata)
            except BaseException as exc:  # reported by the test thread
                failures.append(exc)

        with engine.connect() as holder, holder.begin():
            holder.execute(
                sa.select(sa.func.pg_advisory_xact_lock(CREATE_TABLES_LOCK_KEY))
            )
            creator = threading.Thread(target=create)
            creator.start()
            with engine.connect() as watcher:
                wait_until(
                    lambda: _waiting_for_lock(watcher) or not creator.is_alive(),
                    "the creator to queue",
                )
                assert creator.is_alive(), "created tables without waiting"
                assert sa.inspect(watcher).get_table_names() == []
        creator.join(timeout=PATIENCE)
        engine.dispose()
        assert not failures and not creator.is_alive()
        assert_tables_once(url, versioned=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> set[int]:
    found = set()
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name (in parentheses) may hold spaces; ppid comes after.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def _serve(
    url: str, ready: pathlib.Path, log: t.IO[bytes]
) -> tuple[subprocess.Popen[bytes], int]:
    """``gunicorn -w 4`` on the app module, and the port it listens on."""
    port = _free_port()
    env = {
        **os.environ,
        "NICEPAY_FRESH_DATABASE_URI": url,
        "NICEPAY_FRESH_READY_DIR": str(ready),
    }
    command = [sys.executable, "-m", "gunicorn", "-w", str(WORKERS)]
    command += ["-b", f"127.0.0.1:{port}", "tests.lifecycle.fresh_start_app:app"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    return server, port


def _check_gunicorn(url: str, tmp_path: pathlib.Path) -> None:
    ready = tmp_path / f"ready-{secrets.token_hex(4)}"
    ready.mkdir()
    log_path = ready.with_suffix(".log")
    with log_path.open("wb") as log:
        server, port = _serve(url, ready, log)
        try:
            wait_until(
                lambda: (
                    server.poll() is not None or len(list(ready.iterdir())) == WORKERS
                ),
                "every worker to load the app",
            )
            assert server.poll() is None, log_path.read_text()
            answer = requests.get(
                f"http://127.0.0.1:{port}/nicepay/orders/nope/status",
                timeout=30,
            )
            assert answer.status_code == 404
            workers = _children(server.pid)
            assert workers == {int(p.name) for p in ready.iterdir()}
            assert len(workers) == WORKERS and server.poll() is None
        finally:
            server.terminate()
            server.wait(timeout=60)
    assert_tables_once(url, versioned=True)


@pytest.mark.postgres
@pytest.mark.slow
def test_gunicorn_workers_start_on_an_empty_postgres(tmp_path: pathlib.Path) -> None:
    with fresh_postgres(3) as urls:
        for url in urls:
            _check_gunicorn(url, tmp_path)
