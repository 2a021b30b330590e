"""Real parts for the deferred-processing tests: brokers, sandbox, workers, gunicorn.

Every process is started and stopped here. The brokers come from the environment
(``NICEPAY_TEST_REDIS_URL``, ``NICEPAY_TEST_AMQP_URL``, set by ``.ci/run``); each
test gets a queue of its own, deleted afterwards, so that runs never share work.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import typing as t
import uuid
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from flask_nicepay import tables

from .queued_shop import ENV

ROOT = Path(__file__).resolve().parents[2]
BROKERS = {"redis": "NICEPAY_TEST_REDIS_URL", "amqp": "NICEPAY_TEST_AMQP_URL"}


def broker_url(kind: str) -> str:
    """The broker to test on; skips, saying which variable, when none is set."""
    url = os.environ.get(BROKERS[kind])
    if not url:
        pytest.skip(
            f"Celery tests on {kind} need {BROKERS[kind]} (e.g. "
            + (
                "redis://127.0.0.1:6379/0)"
                if kind == "redis"
                else "amqp://guest:guest@127.0.0.1:5672//)"
            )
        )
    return url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(check: t.Callable[[], t.Any], what: str, timeout: float = 60) -> t.Any:
    """Poll ``check`` until it returns something true; fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def sandbox_server() -> t.Iterator[str]:
    """``python -m flask_nicepay.sandbox`` on a free port; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "flask_nicepay.sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, "the sandbox exited"
        with contextlib.suppress(requests.ConnectionError):
            return requests.get(url + "/_sandbox/clock", timeout=1).ok
        return False

    try:
        wait_for(up, "the sandbox to answer", 20)
        yield url
    finally:
        stop(process)


class Shop:
    """One store's settings, and the app built from them in this process."""

    def __init__(self, directory: Path, database: str, broker: str, **extra: t.Any):
        self.settings = {
            "instance": str(directory / "instance"),
            "database": database,
            "broker": broker,
            "queue": f"nicepay-test-{uuid.uuid4().hex[:12]}",
            "signals": str(directory / "signals.txt"),
            "processing": "celery",
            **extra,
        }
        Path(self.settings["signals"]).touch()
        self.directory = directory
        self.apps: list[Flask] = []
        #: More environment for the processes started for the shop.
        self.extra_env: dict[str, str] = {}

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, ENV: json.dumps(self.settings), **self.extra_env}

    def app(self) -> Flask:
        from .queued_shop import create_app

        made = create_app(self.settings)
        self.apps.append(made)
        return made

    def signals(self) -> collections.Counter[tuple[str, str]]:
        lines = Path(self.settings["signals"]).read_text().split("\n")
        return collections.Counter(tuple(line.split()) for line in lines if line)

    def control(self, sandbox_url: str, endpoint: str, body: t.Any) -> t.Any:
        """Call the sandbox's control API."""
        answer = requests.post(sandbox_url + endpoint, json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()["response"]

    def queue_length(self, app: Flask) -> int:
        with app.extensions["celery"].connection_for_write() as conn:
            try:
                found = conn.default_channel.queue_declare(
                    self.settings["queue"], passive=True
                )
            except conn.channel_errors:  # Redis keeps no empty queue
                return 0
            return int(found.message_count)

    def purge(self, app: Flask) -> int:
        """Empty the queue at the broker: what it held is forgotten."""
        with app.extensions["celery"].connection_for_write() as conn:
            return int(conn.default_channel.queue_purge(self.settings["queue"]) or 0)

    def delete_queue(self, app: Flask) -> None:
        with (
            contextlib.suppress(Exception),
            app.extensions["celery"].connection_for_write() as conn,
        ):
            conn.connect()  # once: a broker that is not there is not waited for
            conn.default_channel.queue_delete(self.settings["queue"])


class Worker:
    """``celery -A tests.deferred.worker_app worker`` for a shop, in its own process.

    :param concurrency: prefork children.
    :param module: the module that holds the Celery app.
    """

    def __init__(
        self,
        shop: Shop,
        concurrency: int = 2,
        name: str = "w",
        module: str = "tests.deferred.worker_app",
    ) -> None:
        self.log = shop.directory / f"worker-{name}-{uuid.uuid4().hex[:6]}.log"
        command = [
            *(sys.executable, "-m", "celery", "-A", module),
            *("worker", "--pool", "prefork", "--concurrency", str(concurrency)),
            *("--queues", shop.settings["queue"], "--loglevel", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            *("--hostname", f"{name}-{uuid.uuid4().hex[:6]}@%h"),
            *("--logfile", str(self.log)),
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=shop.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own, to be killed whole
        )
        wait_for(self._ready, f"the worker to be ready (log: {self.log})", 60)

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited:\n{self.text()[-3000:]}")
        return " ready." in self.text()

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def children(self) -> list[int]:
        """The prefork children's pids (the processes that run the tasks)."""
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop(self.process, sig)


@contextlib.contextmanager
def beat(shop: Shop, module: str = "tests.deferred.worker_app") -> t.Iterator[Path]:
    """``celery beat`` for a shop, in its own process; yields its log's path."""
    log = shop.directory / f"beat-{uuid.uuid4().hex[:6]}.log"
    command = [
        *(sys.executable, "-m", "celery", "-A", module, "beat"),
        *("--schedule", str(shop.directory / "beat-schedule")),
        *("--loglevel", "INFO", "--logfile", str(log)),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=shop.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield log
    finally:
        stop(process)


@contextlib.contextmanager
def workers(
    shop: Shop, count: int = 1, concurrency: int = 2
) -> t.Iterator[list[Worker]]:
    """Start ``count`` worker processes; stop them all at the end."""
    started: list[Worker] = []
    try:
        for n in range(count):
            started.append(Worker(shop, concurrency, name=f"w{n}"))
        yield started
    finally:
        for worker in started:
            worker.stop()


@contextlib.contextmanager
def gunicorn(shop: Shop, count: int = 2) -> t.Iterator[str]:
    """The shop served by ``count`` gunicorn sync workers; yields its URL."""
    port = free_port()
    log = (shop.directory / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "--workers", str(count)),
            *("--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT)),
            "tests.deferred.queued_shop:create_app()",
        ],
        env=shop.env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, (shop.directory / "gunicorn.log").read_text()
        # A page the shop does not have: answered without touching the database.
        with contextlib.suppress(requests.ConnectionError, requests.Timeout):
            return requests.get(url + "/", timeout=10).status_code == 404
        return False

    try:
        wait_for(up, "gunicorn to answer")
        yield url
    finally:
        stop(process)
        log.close()


def outcomes(app: Flask) -> collections.Counter[str]:
    """How many inbox rows have each outcome."""
    engine = app.extensions["nicepay"].payments.engine
    query = sa.select(tables.inbox.c.outcome, sa.func.count()).group_by(
        tables.inbox.c.outcome
    )
    with engine.connect() as conn:
        return collections.Counter(dict(conn.execute(query).all()))


def settled(app: Flask) -> bool:
    """Whether no inbox row waits for a worker."""
    return outcomes(app)["received"] == 0


def history(app: Flask, uids: t.Sequence[str]) -> collections.Counter[tuple[str, str]]:
    """(merchant_uid, event) of every history row of the orders."""
    engine = app.extensions["nicepay"].payments.engine
    query = sa.select(tables.history.c.merchant_uid, tables.history.c.event).where(
        tables.history.c.merchant_uid.in_(list(uids))
    )
    with engine.connect() as conn:
        return collections.Counter(tuple(row) for row in conn.execute(query).all())
