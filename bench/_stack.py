"""A production-shaped stack on this machine, for the benchmarks.

Every piece runs for real on 127.0.0.1 and is torn down afterwards:

* :func:`postgres_database`: a fresh PostgreSQL database, dropped at the end;
* :func:`standalone_sandbox` (from ``_sandbox``): ``python -m flask_nicepay.sandbox``
  over HTTP, sending no webhook unless told where, so a benchmark delivers them;
* :func:`gunicorn`: N sync workers serving ``apps:plugin()`` or
  ``apps:handwritten()`` (see ``apps.py``), configured through the environment;
* :func:`create_orders` and :func:`pay`: orders registered through the plugin's own
  API, then paid at the sandbox as a buyer would, with no webhook sent.

The orders are made through the plugin even for the hand-written handler: both
read the same ``nicepay_orders`` rows, so both start from the same data.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import dataclasses
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

import _wire
import requests
import sqlalchemy as sa
from _sandbox import checkout
from _sandbox import free_port
from _sandbox import standalone_sandbox

if t.TYPE_CHECKING:
    from flask import Flask

    from flask_nicepay.store import Order

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "KEY",
    "SECRET",
    "Server",
    "app_environment",
    "create_orders",
    "gunicorn",
    "pay",
    "postgres_database",
    "standalone_sandbox",
]

KEY, SECRET = "bench_key", "bench_secret"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DIR = Path(__file__).resolve().parent
#: Threads that prepare and pay orders at the sandbox at once.
SETUP_THREADS = 8


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A command line described by the first line of a script's docstring."""
    return argparse.ArgumentParser(description=(doc or "").split("\n")[0])


def parse_args(
    parser: argparse.ArgumentParser, argv: t.Sequence[str] | None
) -> argparse.Namespace:
    """Add the options every stack benchmark has, then read the command line."""
    parser.add_argument("--postgres-url", default=None, help="server to work on")
    parser.add_argument("--quick", action="store_true", help="a few seconds, for CI")
    return parser.parse_args(argv)


def add_load_options(
    parser: argparse.ArgumentParser, *, orders: int, rounds: int
) -> None:
    """The load options of the scripts that race contenders under gunicorn."""
    parser.add_argument("--orders", type=int, default=orders, help="orders per round")
    parser.add_argument("--rounds", type=int, default=rounds, help="rounds each")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument(
        "--broker",
        default=os.environ.get("NICEPAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/3"),
        help="the Celery broker, for what runs in celery mode",
    )


def quick_load(args: argparse.Namespace) -> argparse.Namespace:
    """With ``--quick``, the load options cut to a few seconds' worth."""
    if args.quick:
        args.orders, args.rounds = min(args.orders, 40), 1
        args.concurrency, args.workers = min(args.concurrency, 4), 2
    return args


def postgres_admin_url(option: str | None = None) -> str:
    """The server to make databases on: ``option``, the test URL, or the default."""
    return option or os.environ.get("NICEPAY_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


@contextlib.contextmanager
def postgres_database(admin_url: str | None = None) -> t.Iterator[str]:
    """Create ``nicepay_bench_<random>``; yield its URL; drop it WITH (FORCE).

    :param admin_url: a database URL on the server; see :func:`postgres_admin_url`.
    """
    url = sa.make_url(postgres_admin_url(admin_url))
    name = f"nicepay_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # FORCE: a worker killed mid-test may still hold a connection.
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def app_environment(sandbox_url: str, database_url: str) -> dict[str, str]:
    """The ``NICEPAY_*`` settings both apps read: the sandbox, its keys, the DB."""
    return {
        "NICEPAY_SANDBOX_URL": sandbox_url,
        "NICEPAY_IMP_KEY": KEY,
        "NICEPAY_IMP_SECRET": SECRET,
        "NICEPAY_DATABASE_URI": database_url,
    }


# -- gunicorn -----------------------------------------------------------------------

#: Written next to the server's log: each worker says when its app is loaded.
_HOOKS = """\
import pathlib

def post_worker_init(worker):
    pathlib.Path({ready!r}, str(worker.pid)).touch()
"""


@dataclasses.dataclass(frozen=True)
class Server:
    """A running gunicorn: its URL, its master's pid and where it logs."""

    url: str
    pid: int
    log: Path
    ready_dir: Path

    def worker_pids(self) -> list[int]:
        """The master's live children (its workers), read from ``/proc``."""
        return sorted(pid for pid, parent in _parents() if parent == self.pid)

    def ready_workers(self) -> set[int]:
        """Workers that have loaded the app, live ones only."""
        live = set(self.worker_pids())
        return {int(p.name) for p in self.ready_dir.iterdir()} & live


def _parents() -> t.Iterator[tuple[int, int]]:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(entry.path, "stat").read_text()
            # The command name may hold spaces and parentheses: split after it.
            fields = stat[stat.rindex(")") + 2 :].split()
            yield int(entry.name), int(fields[1])


@contextlib.contextmanager
def gunicorn(
    app: str, env: t.Mapping[str, str], *, workers: int = 4, timeout: float = 30
) -> t.Iterator[Server]:
    """Serve ``app`` (``"apps:plugin()"``) with ``workers`` sync workers.

    Yields once every worker has loaded the app and the server answers; stops it
    with SIGTERM and waits for it to exit.

    :param app: a gunicorn app spec, resolved in the ``bench`` directory.
    :param env: extra environment variables (the app's configuration).
    :param workers: how many sync worker processes.
    :param timeout: seconds to wait for the workers to start.
    """
    with tempfile.TemporaryDirectory(prefix="nicepay-bench-") as tmp:
        ready_dir = Path(tmp, "ready")
        ready_dir.mkdir()
        hooks = Path(tmp, "hooks.py")
        hooks.write_text(_HOOKS.format(ready=str(ready_dir)))
        port = free_port()
        log = Path(tmp, "gunicorn.log")
        process = _start(app, env, workers, port, hooks, log)
        server = Server(f"http://127.0.0.1:{port}", process.pid, log, ready_dir)
        try:
            _wait_for(server, process, workers, timeout)
            yield server
        finally:
            _stop(process)


def _start(
    app: str, env: t.Mapping[str, str], workers: int, port: int, hooks: Path, log: Path
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--pythonpath",
        str(BENCH_DIR),
        "--config",
        str(hooks),
        "--error-logfile",
        str(log),
        app,
    ]
    return subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(
    server: Server, process: subprocess.Popen[bytes], workers: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{_tail(server.log)}")
        if len(server.ready_workers()) >= workers and _answers(server.url):
            return
        time.sleep(0.05)
    raise SystemExit(f"gunicorn did not start in {timeout}s:\n{_tail(server.log)}")


def _answers(url: str) -> bool:
    try:
        requests.get(url + "/", timeout=2)
    except requests.ConnectionError:
        return False
    return True


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text().splitlines()[-lines:])
    return "(no log)"


# -- orders -------------------------------------------------------------------------


def create_orders(app: Flask, count: int, *, amount: int = 10_000) -> list[Order]:
    """Register ``count`` orders through the plugin, amounts prepared at PortOne.

    :param app: a plugin app (``apps.plugin(env)``) on the benchmark's database.
    :param count: how many orders.
    :param amount: the first order's amount; each next one costs one won more,
        so a webhook applied to the wrong order would not verify.
    """

    def one(i: int) -> Order:
        with app.app_context():
            order = app.extensions["nicepay"].payments.orders.create(
                amount=amount + i, name="bench"
            )
            return t.cast("Order", order)

    with concurrent.futures.ThreadPoolExecutor(SETUP_THREADS) as pool:
        orders = list(pool.map(one, range(count)))
    if not all(order.prepared for order in orders):
        raise SystemExit("some orders were not prepared at the sandbox")
    return orders


def pay(sandbox_url: str, orders: t.Sequence[Order]) -> list[dict[str, str]]:
    """Pay each order at the sandbox as the buyer; no webhook is sent.

    :returns: the webhook bodies PortOne would send, in the order of ``orders``.
    """
    sessions: dict[int, requests.Session] = {}

    def one(order: Order) -> dict[str, str]:
        session = sessions.setdefault(threading.get_ident(), requests.Session())
        payment = checkout(
            sandbox_url, order.merchant_uid, int(order.amount), session=session
        )
        if payment["status"] != "paid":
            raise SystemExit(f"the sandbox did not pay {order.merchant_uid}: {payment}")
        return {
            "imp_uid": payment["imp_uid"],
            "merchant_uid": order.merchant_uid,
            "status": "paid",
        }

    with concurrent.futures.ThreadPoolExecutor(SETUP_THREADS) as pool:
        bodies = list(pool.map(one, orders))
    for session in sessions.values():
        session.close()
    return bodies


# -- load -----------------------------------------------------------------------------


@dataclasses.dataclass
class Load:
    """What one batch of webhooks came to, as the senders saw it."""

    seconds: float
    latencies: list[float]
    statuses: collections.Counter[int]
    outcomes: collections.Counter[str]

    @property
    def rate(self) -> float:
        """Webhooks answered per second."""
        return len(self.latencies) / self.seconds

    @property
    def all_ok(self) -> bool:
        """Whether every answer was 2xx."""
        return all(200 <= status < 300 for status in self.statuses)


def deliver(
    url: str, bodies: t.Sequence[t.Mapping[str, str]], *, concurrency: int
) -> Load:
    """POST every body as JSON from ``concurrency`` threads (see ``_wire``).

    Every request is encoded first; the clock runs from the moment every thread is
    ready to the last answer.
    """
    wires = [_wire.json_post(url, body) for body in bodies]
    results, seconds = in_threads(
        wires, lambda wire: _wire.exchange(*wire), concurrency
    )
    return Load(
        seconds,
        [r[0] for r in results],
        collections.Counter(r[1] for r in results),
        collections.Counter(_wire.outcome(r[2]) for r in results),
    )


_DONE = object()
_Item = t.TypeVar("_Item")
_Result = t.TypeVar("_Result")


def in_threads(
    items: t.Sequence[_Item], work: t.Callable[[_Item], _Result], concurrency: int
) -> tuple[list[_Result], float]:
    """``work`` on every item, taken in list order by ``concurrency`` threads.

    The threads start together, once all are ready.

    :returns: the results, and the seconds from that start to the last result.
    """
    jobs, lock, results = iter(items), threading.Lock(), []
    began: list[float] = []
    start = threading.Barrier(
        concurrency, action=lambda: began.append(time.perf_counter())
    )

    def worker() -> None:
        start.wait()
        while True:
            with lock:
                item = next(jobs, _DONE)
            if item is _DONE:
                return
            results.append(work(t.cast(_Item, item)))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - began[0]


def percentile(values: t.Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (``fraction`` from 0 to 1)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]
