"""Webhooks per second: the plugin's route against a hand-written handler.

Both run under gunicorn (sync workers) on a fresh PostgreSQL database and look the
payment up at a standalone sandbox over HTTP; see ``apps.py`` for the two. A third
contender, the floor (``apps_floor.py``), is the plugin's design written by hand in
the fewest statements: it keeps every delivery and its outcome as the plugin does,
so the floor against the hand-written handler is what the invariants themselves
cost, and the plugin against the floor is the plugin's own cost. The load is the
same for all: C threads writing prepared requests to sockets (``_wire.py``), the
webhooks of freshly paid orders (first deliveries), then the same webhooks again
(duplicates). Rounds alternate between the contenders, each on fresh orders, so
that machine noise hits them alike.

The run also checks the results: after the first deliveries every order is paid
(with exactly one history row, for the plugin and the floor), and every answer was
2xx. It exits 1 when a check fails; the speed targets are reported, never enforced.

Run:  python bench/webhook.py [--orders 1000] [--rounds 3] [--concurrency 16]
      [--explain] [--celery [--broker redis://127.0.0.1:6379/3]]
Targets: plugin/hand-written >= 0.75 for first deliveries, >= 0.9 for duplicates.

``--celery`` measures the route in celery mode instead (``_celery_mode.py``): its
intake against the hand-written inline handler (target >= 3x), end-to-end
throughput with 1, 2 and 4 Celery workers, and the time from a webhook's arrival
to its signal.

``--explain`` measures both again on the same database set to
``synchronous_commit = off``: commits then return before the log reaches the disk.
The hand-written handler commits nothing for a duplicate, while the plugin must
make the inbox row of every notification durable before it answers (an answered
notification is never lost). The second table shows how much of the gap that one
wait for the disk is.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import statistics
import sys
import typing as t

import _celery_mode
import _stack
import apps
import sqlalchemy as sa
from flask import Flask

TARGETS = {"first": 0.75, "duplicate": 0.9}
CONTENDERS = {"plugin": "/nicepay/webhook", "handwritten": "/hook", "floor": "/hook"}
APPS = {
    "plugin": "apps:plugin()",
    "handwritten": "apps:handwritten()",
    "floor": "apps_floor:floor()",
}
#: What each contender answers when it applies a webhook, and for a duplicate.
APPLIED = {"plugin": "applied", "handwritten": "applied", "floor": "applied"}
DUPLICATE = {"plugin": "noop", "handwritten": "duplicate", "floor": "duplicate"}
#: The contenders that keep a history row per transition and an inbox row per hit.
RECORDING = ("plugin", "floor")


@dataclasses.dataclass
class Tally:
    """Every round of one contender and kind of delivery."""

    loads: list[_stack.Load] = dataclasses.field(default_factory=list)

    def rate(self) -> float:
        return statistics.median(load.rate for load in self.loads)

    def latency(self, fraction: float) -> float:
        every = [x for load in self.loads for x in load.latencies]
        return _stack.percentile(every, fraction) * 1000


class Checks:
    """Correctness failures found along the way."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            print(f"CHECK FAILED: {what}", flush=True)


def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = _stack.parser(__doc__)
    _stack.add_load_options(parser, orders=1000, rounds=3)
    parser.add_argument(
        "--explain",
        action="store_true",
        help="measure again with commits that do not wait for the disk",
    )
    parser.add_argument(
        "--celery", action="store_true", help="the route in celery mode instead"
    )
    return _stack.quick_load(_stack.parse_args(parser, argv))


def main(argv: t.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    checks = Checks()
    if args.celery:
        _celery_mode.main(args, checks)
        return _verdict(checks)
    with (
        _stack.postgres_database(args.postgres_url) as database,
        _stack.standalone_sandbox(_stack.KEY, _stack.SECRET) as sandbox_url,
    ):
        env = _stack.app_environment(sandbox_url, database)
        maker = apps.plugin(env)  # creates the tables before any worker starts
        tallies = _measure(maker, sandbox_url, env, args, checks)
        _table(tallies, args)
        unflushed = None
        if args.explain:
            _without_flush_wait(database, args)
            print(
                "\nThe same, with commits that do not wait for the WAL flush "
                "(synchronous_commit=off on this database; not a setting to "
                "deploy, it shows what the durable inbox costs):"
            )
            unflushed = _measure(maker, sandbox_url, env, args, checks)
            _table(unflushed, args)
    verdict = _verdict(checks)
    _ratios(tallies, "")
    if unflushed is not None:
        _ratios(unflushed, ", commits not waiting for the disk")
    return verdict


def _measure(
    maker: Flask,
    sandbox_url: str,
    env: dict[str, str],
    args: argparse.Namespace,
    checks: Checks,
) -> dict[tuple[str, str], Tally]:
    """Every contender under gunicorn, in interleaved rounds."""
    tallies = {
        (who, kind): Tally() for who in CONTENDERS for kind in ("first", "duplicate")
    }
    with contextlib.ExitStack() as servers:
        urls = {
            who: servers.enter_context(
                _stack.gunicorn(APPS[who], env, workers=args.workers)
            ).url
            for who in CONTENDERS
        }
        for who in CONTENDERS:  # each worker: a token, a pooled connection
            _round(maker, sandbox_url, urls, who, args, None, checks)
        for _ in range(args.rounds):
            for who in CONTENDERS:
                _round(maker, sandbox_url, urls, who, args, tallies, checks)
    return tallies


def _without_flush_wait(database: str, args: argparse.Namespace) -> None:
    """Make new sessions on ``database`` commit without waiting for the disk."""
    name = sa.make_url(database).database
    admin = sa.create_engine(
        _stack.postgres_admin_url(args.postgres_url), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    admin.dispose()


def _round(
    maker: Flask,
    sandbox_url: str,
    urls: dict[str, str],
    who: str,
    args: argparse.Namespace,
    tallies: dict[tuple[str, str], Tally] | None,
    checks: Checks,
) -> None:
    """Pay fresh orders, deliver their webhooks, then deliver them again."""
    count = args.orders if tallies else args.workers * args.concurrency
    orders = _stack.create_orders(maker, count)
    bodies = _stack.pay(sandbox_url, orders)
    url = urls[who] + CONTENDERS[who]
    first = _stack.deliver(url, bodies, concurrency=args.concurrency)
    _check_first(maker, who, first, [o.merchant_uid for o in orders], checks)
    again = _stack.deliver(url, bodies, concurrency=args.concurrency)
    _check_duplicates(who, again, len(bodies), checks)
    if tallies is not None:
        tallies[who, "first"].loads.append(first)
        tallies[who, "duplicate"].loads.append(again)


def _check_first(
    maker: Flask, who: str, load: _stack.Load, uids: list[str], checks: Checks
) -> None:
    checks.expect(load.all_ok, f"{who} first deliveries: statuses {load.statuses}")
    applied = load.outcomes[APPLIED[who]]
    checks.expect(
        applied == len(uids), f"{who} first deliveries: outcomes {load.outcomes}"
    )
    states, histories = _order_facts(maker, uids)
    checks.expect(
        states == {"paid": len(uids)}, f"{who}: orders after first deliveries {states}"
    )
    if who in RECORDING:  # the hand-written handler keeps no history
        checks.expect(
            histories == {1: len(uids)},
            f"{who}: history rows per order {histories} (want exactly one each)",
        )


def _check_duplicates(who: str, load: _stack.Load, count: int, checks: Checks) -> None:
    checks.expect(load.all_ok, f"{who} duplicates: statuses {load.statuses}")
    checks.expect(
        load.outcomes[DUPLICATE[who]] == count,
        f"{who} duplicates: outcomes {load.outcomes}",
    )


def _order_facts(
    maker: Flask, uids: list[str]
) -> tuple[collections.Counter[str], collections.Counter[int]]:
    """The orders' states, and how many have 0, 1, 2... history rows."""
    engine = maker.extensions["nicepay"].payments.engine
    orders = sa.table("nicepay_orders", sa.column("merchant_uid"), sa.column("state"))
    history = sa.table("nicepay_history", sa.column("merchant_uid"))
    rows = sa.func.count(history.c.merchant_uid)
    query = (
        sa.select(orders.c.state, rows)
        .select_from(
            orders.outerjoin(history, history.c.merchant_uid == orders.c.merchant_uid)
        )
        .where(orders.c.merchant_uid.in_(uids))
        .group_by(orders.c.merchant_uid, orders.c.state)
    )
    with engine.connect() as conn:
        found = conn.execute(query).all()
    return (
        collections.Counter(str(state) for state, _ in found),
        collections.Counter(int(n) for _, n in found),
    )


def _table(tallies: dict[tuple[str, str], Tally], args: argparse.Namespace) -> None:
    print(
        f"webhooks: {args.orders} orders a round, {args.rounds} rounds each, "
        f"{args.concurrency} clients, gunicorn {args.workers} sync workers, "
        "PostgreSQL, standalone sandbox over HTTP"
    )
    print(
        f"{'contender':<12} {'kind':<10} {'webhooks/s':>10} {'p50 ms':>8} {'p99 ms':>8}"
    )
    for (who, kind), tally in tallies.items():
        print(
            f"{who:<12} {kind:<10} {tally.rate():>10.1f} "
            f"{tally.latency(0.5):>8.1f} {tally.latency(0.99):>8.1f}"
        )


def _ratios(tallies: dict[tuple[str, str], Tally], label: str) -> None:
    def ratio(who: str, against: str, kind: str) -> float:
        return tallies[who, kind].rate() / tallies[against, kind].rate()

    first, again = (ratio("plugin", "handwritten", kind) for kind in TARGETS)
    print(
        f"ratio plugin/handwritten{label}: first deliveries {first:.2f} "
        f"(target >= {TARGETS['first']}), duplicates {again:.2f} "
        f"(target >= {TARGETS['duplicate']})"
    )
    first, again = (ratio("floor", "handwritten", kind) for kind in TARGETS)
    print(
        f"ratio floor/handwritten{label} (the most the design allows here): "
        f"first deliveries {first:.2f}, duplicates {again:.2f}"
    )
    first, again = (ratio("plugin", "floor", kind) for kind in TARGETS)
    print(
        f"ratio plugin/floor{label} (the plugin's own cost): "
        f"first deliveries {first:.2f}, duplicates {again:.2f}"
    )


def _verdict(checks: Checks) -> int:
    if checks.failures:
        print(f"correctness: {len(checks.failures)} check(s) FAILED")
        return 1
    print("correctness: ok (every order paid, one history row each, every answer 2xx)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
