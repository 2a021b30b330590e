"""``bench/webhook.py --celery``: the webhook route in celery mode.

Three measurements, on the same gunicorn, PostgreSQL and standalone sandbox as the
inline benchmark, with Redis as the broker:

1. **Intake**: first deliveries answered per second by the plugin's webhook route
   in celery mode (it records the row, hands it to the broker and answers; no
   worker runs) against the hand-written inline handler, in interleaved rounds.
   Target: >= 3x.
2. **End to end**: fresh orders' webhooks delivered while 1, 2 and 4 Celery worker
   processes (one prefork child each) run, timed from the first delivery to the
   last notification processed.
3. **Arrival to signal**: for the 2-worker run, the time from the inbox row's
   ``received_at`` to the ``payment_paid`` signal in the worker, p50 and p99.

Every order must end paid with one history row and one signal.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
import uuid
from pathlib import Path

import _stack
import apps
import sqlalchemy as sa
from flask import Flask

INTAKE_TARGET = 3.0
WORKER_COUNTS = (1, 2, 4)


def main(args: argparse.Namespace, checks: t.Any) -> None:
    with (
        _stack.postgres_database(args.postgres_url) as database,
        _stack.standalone_sandbox(_stack.KEY, _stack.SECRET) as sandbox_url,
        tempfile.TemporaryDirectory(prefix="nicepay-bench-celery-") as tmp,
    ):
        signals = Path(tmp, "signals.txt")
        signals.touch()
        env = {
            **_stack.app_environment(sandbox_url, database),
            "BENCH_BROKER": args.broker,
            "BENCH_QUEUE": f"nicepay-bench-{uuid.uuid4().hex[:8]}",
            "BENCH_SIGNALS": str(signals),
        }
        maker = apps.plugin(_stack.app_environment(sandbox_url, database))
        with (
            _stack.gunicorn("apps_celery:plugin()", env, workers=args.workers) as web,
            _stack.gunicorn("apps:handwritten()", env, workers=args.workers) as hand,
        ):
            uids = _intake(maker, sandbox_url, web.url, hand.url, args, checks)
            # The intake rounds left their rows for the workers; drain them first.
            with _workers(env, 4, Path(tmp)):
                _wait_settled(maker)
            uids += _end_to_end(
                maker, sandbox_url, web.url, env, Path(tmp), args, checks
            )
        _check_signals(maker, uids, signals, checks)


def _intake(
    maker: Flask,
    sandbox_url: str,
    web: str,
    hand: str,
    args: argparse.Namespace,
    checks: t.Any,
) -> list[str]:
    """Interleaved rounds of both; returns the orders the plugin took."""
    urls = {"celery": web + "/nicepay/webhook", "handwritten": hand + "/hook"}
    taken: list[str] = []
    rates: dict[str, list[float]] = {who: [] for who in urls}
    p50: dict[str, list[float]] = {who: [] for who in urls}
    for warm in (True,) + (False,) * args.rounds:
        for who, url in urls.items():
            count = args.workers * args.concurrency if warm else args.orders
            bodies = _stack.pay(sandbox_url, _stack.create_orders(maker, count))
            if who == "celery":
                taken += [body["merchant_uid"] for body in bodies]
            load = _stack.deliver(url, bodies, concurrency=args.concurrency)
            checks.expect(load.all_ok, f"{who} intake: statuses {load.statuses}")
            want = "received" if who == "celery" else "applied"
            checks.expect(
                load.outcomes[want] == count, f"{who} intake: {load.outcomes}"
            )
            if not warm:
                rates[who].append(load.rate)
                p50[who].append(_stack.percentile(load.latencies, 0.5) * 1000)
    print(
        f"intake: {args.orders} first deliveries a round, {args.rounds} rounds, "
        f"{args.concurrency} clients, gunicorn {args.workers} sync workers, "
        "PostgreSQL, Redis, no Celery worker running"
    )
    for who in urls:
        print(
            f"  {who:<12} {statistics.median(rates[who]):>8.1f} webhooks/s  "
            f"p50 {statistics.median(p50[who]):.1f} ms"
        )
    ratio = statistics.median(rates["celery"]) / statistics.median(rates["handwritten"])
    print(
        f"ratio celery intake/handwritten inline: {ratio:.2f} "
        f"(target >= {INTAKE_TARGET})"
    )
    return taken


def _end_to_end(
    maker: Flask,
    sandbox_url: str,
    web: str,
    env: dict[str, str],
    tmp: Path,
    args: argparse.Namespace,
    checks: t.Any,
) -> list[str]:
    """Each worker count in turn; returns the orders paid."""
    taken: list[str] = []
    print(
        f"end to end: {args.orders} fresh orders' webhooks at once, "
        "from the first delivery to the last notification processed"
    )
    url = web + "/nicepay/webhook"
    for count in WORKER_COUNTS:
        warm = _stack.pay(sandbox_url, _stack.create_orders(maker, 4 * count))
        orders = _stack.create_orders(maker, args.orders)
        bodies = _stack.pay(sandbox_url, orders)
        taken += [body["merchant_uid"] for body in warm + bodies]
        with _workers(env, count, tmp):
            # Each worker's first task fetches a token and opens its connections.
            _stack.deliver(url, warm, concurrency=len(warm))
            _wait_settled(maker)
            began = time.time()
            load = _stack.deliver(url, bodies, concurrency=args.concurrency)
            _wait_settled(maker)
            seconds = time.time() - began
        checks.expect(load.all_ok, f"end to end: statuses {load.statuses}")
        rate = len(bodies) / seconds
        line = f"  {count} worker{'s' if count > 1 else ' '} {rate:>8.1f} payments/s"
        if count == 2:
            waits = _arrival_to_signal(maker, [o.merchant_uid for o in orders], env)
            p50, p99 = (_stack.percentile(waits, q) * 1000 for q in (0.5, 0.99))
            line += f"  arrival to signal p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        print(line, flush=True)
    return taken


@contextlib.contextmanager
def _workers(env: dict[str, str], count: int, tmp: Path) -> t.Iterator[None]:
    """``count`` Celery worker processes, one prefork child each, until done."""
    started = []
    logs = []
    for n in range(count):
        log = tmp / f"worker-{count}-{n}-{uuid.uuid4().hex[:4]}.log"
        logs.append(log)
        started.append(
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "apps_celery:celery_app"),
                    *("worker", "--pool", "prefork", "--concurrency", "1"),
                    *("--queues", env["BENCH_QUEUE"], "--loglevel", "WARNING"),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
                    *("--hostname", f"bench{n}-{uuid.uuid4().hex[:6]}@%h"),
                    *("--logfile", str(log)),
                ],
                cwd=_stack.BENCH_DIR,
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        )
    time.sleep(3)  # the workers connect and load the app
    for process in started:
        if process.poll() is not None:
            raise SystemExit(f"a Celery worker exited; see {logs}")
    try:
        yield
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=60)


def _wait_settled(maker: Flask, timeout: float = 600) -> None:
    engine = maker.extensions["nicepay"].payments.engine
    query = sa.text("SELECT count(*) FROM nicepay_inbox WHERE outcome = 'received'")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if not conn.execute(query).scalar_one():
                return
        time.sleep(0.02)
    raise SystemExit("the workers did not process every notification in time")


def _arrival_to_signal(
    maker: Flask, uids: list[str], env: dict[str, str]
) -> list[float]:
    """Seconds from each order's inbox row to its ``payment_paid`` signal."""
    sent = {}
    for line in Path(env["BENCH_SIGNALS"]).read_text().splitlines():
        uid, moment = line.split()
        sent[uid] = float(moment)
    engine = maker.extensions["nicepay"].payments.engine
    query = sa.text(
        "SELECT hint_merchant_uid, min(received_at) FROM nicepay_inbox "
        "WHERE hint_merchant_uid = ANY(:uids) GROUP BY hint_merchant_uid"
    )
    with engine.connect() as conn:
        arrived = dict(conn.execute(query, {"uids": uids}).all())
    return [sent[uid] - _epoch(arrived[uid]) for uid in uids if uid in sent]


def _epoch(moment: dt.datetime | str) -> float:
    """A moment the plugin stored (UTC), as seconds since the epoch."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _check_signals(
    maker: Flask, taken: list[str], signals: Path, checks: t.Any
) -> None:
    """Every order paid, with one history row; one signal per order the plugin took."""
    lines = signals.read_text().splitlines()
    uids = [line.split()[0] for line in lines]
    checks.expect(len(uids) == len(set(uids)), "a payment_paid signal was sent twice")
    checks.expect(set(uids) == set(taken), "celery mode: a signal missing")
    engine = maker.extensions["nicepay"].payments.engine
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.text("SELECT state, count(*) FROM nicepay_orders GROUP BY state")
            ).all()
        )
        most = conn.execute(
            sa.text(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n "
                "FROM nicepay_history GROUP BY merchant_uid) AS per_order"
            )
        ).scalar_one()
    checks.expect(set(states) == {"paid"}, f"celery mode: orders {states}")
    checks.expect(most <= 1, f"celery mode: {most} history rows for one order")
    print(
        f"celery mode: {len(uids)} signals, orders {states}, "
        f"at most {most} history row each"
    )
