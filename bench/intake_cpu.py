"""Where a webhook's CPU goes: web-process CPU per request, side by side.

Four apps, each under the same gunicorn (sync workers) on a fresh PostgreSQL
database with the standalone sandbox, take the same first deliveries from the same
client, in interleaved rounds:

* ``trivial``: a Flask route that reads the JSON body and answers (Flask and
  gunicorn alone);
* ``recorded``: the plugin's webhook route in celery mode with the hand-off to the
  relay replaced by nothing (the row recorded, nothing queued; a measurement
  only);
* ``celery``: the plugin's webhook route in celery mode (recorded, then handed to
  the relay, which publishes to Redis in batches);
* ``handwritten``: the hand-written inline handler of ``bench/webhook.py`` (the
  PortOne lookup, the amount checked, one UPDATE).

For each it prints webhooks/s and the CPU its gunicorn workers spent per request
(user + system, from ``/proc``; the relay's thread included), then what each step
adds and the ratio of the hand-written handler's CPU to celery intake's, which
bounds ``bench/webhook.py --celery``'s intake ratio on a machine whose cores are
all busy. PostgreSQL's, the sandbox's and the client's CPU are not counted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import typing as t
import uuid
from pathlib import Path

import _stack
import apps
import celery

CONTENDERS = {
    "trivial": "apps:trivial()",
    "recorded": "apps_celery:plugin_without_hand_off()",
    "celery": "apps_celery:plugin()",
    "handwritten": "apps:handwritten()",
}
PATHS = {"handwritten": "/hook"}
OUTCOMES = {"trivial": "received", "handwritten": "applied"}


def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = _stack.parser(__doc__)
    _stack.add_load_options(parser, orders=2000, rounds=2)
    return _stack.quick_load(_stack.parse_args(parser, argv))


def main(argv: t.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    failures: list[str] = []
    with (
        _stack.postgres_database(args.postgres_url) as database,
        _stack.standalone_sandbox(_stack.KEY, _stack.SECRET) as sandbox_url,
        tempfile.TemporaryDirectory(prefix="nicepay-bench-cpu-") as tmp,
    ):
        base = _stack.app_environment(sandbox_url, database)
        env = {
            **base,
            "BENCH_BROKER": args.broker,
            "BENCH_QUEUE": f"nicepay-bench-{uuid.uuid4().hex[:8]}",
            "BENCH_SIGNALS": str(Path(tmp, "signals.txt")),
        }
        maker = apps.plugin(base)  # creates the tables before any worker starts
        try:
            costs, rates = _measure(maker, sandbox_url, env, args, failures)
        finally:  # what the celery app queued, which no worker will take
            with celery.Celery(broker=args.broker).connection_for_write() as conn:
                conn.default_channel.queue_delete(env["BENCH_QUEUE"])
    _report(costs, rates, args)
    for failure in failures:
        print(f"CHECK FAILED: {failure}")
    print("correctness: " + ("ok" if not failures else "FAILED"))
    return 1 if failures else 0


def _measure(
    maker: t.Any,
    sandbox_url: str,
    env: dict[str, str],
    args: argparse.Namespace,
    failures: list[str],
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Interleaved rounds; CPU ms per request and webhooks/s, by app."""
    costs: dict[str, list[float]] = {who: [] for who in CONTENDERS}
    rates: dict[str, list[float]] = {who: [] for who in CONTENDERS}
    with contextlib.ExitStack() as stack:
        servers = {
            who: stack.enter_context(_stack.gunicorn(spec, env, workers=args.workers))
            for who, spec in CONTENDERS.items()
        }
        for warm in (True,) + (False,) * args.rounds:
            for who, server in servers.items():
                count = args.workers * args.concurrency if warm else args.orders
                bodies = _stack.pay(sandbox_url, _stack.create_orders(maker, count))
                url = server.url + PATHS.get(who, "/nicepay/webhook")
                before = _cpu_seconds(server.worker_pids())
                load = _stack.deliver(url, bodies, concurrency=args.concurrency)
                spent = _cpu_seconds(server.worker_pids()) - before
                want = OUTCOMES.get(who, "received")
                if not load.all_ok or load.outcomes[want] != count:
                    failures.append(f"{who}: {load.statuses} {load.outcomes}")
                if not warm:
                    costs[who].append(spent * 1000 / count)
                    rates[who].append(load.rate)
    return costs, rates


def _cpu_seconds(pids: t.Iterable[int]) -> float:
    """User and system CPU of these processes, all their threads, in seconds."""
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _report(
    costs: dict[str, list[float]],
    rates: dict[str, list[float]],
    args: argparse.Namespace,
) -> None:
    cpu = {who: statistics.median(values) for who, values in costs.items()}
    print(
        f"{args.orders} first deliveries a round, {args.rounds} rounds, "
        f"{args.concurrency} clients, gunicorn {args.workers} sync workers, "
        "PostgreSQL, Redis"
    )
    print(f"{'app':<12} {'webhooks/s':>11} {'web CPU ms/request':>19}")
    for who in CONTENDERS:
        print(f"{who:<12} {statistics.median(rates[who]):>11.1f} {cpu[who]:>19.2f}")
    print(
        f"recording the row adds {cpu['recorded'] - cpu['trivial']:.2f} ms, "
        f"the hand-off {cpu['celery'] - cpu['recorded']:.2f} ms"
    )
    print(
        f"CPU ratio handwritten/celery intake: {cpu['handwritten'] / cpu['celery']:.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
