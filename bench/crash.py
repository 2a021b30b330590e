"""Workers SIGKILLed mid-request, then the heal: nothing lost, nothing twice.

N orders are paid at the standalone sandbox (no webhook sent). Their webhooks
(twice each), PC completions and mobile returns go to gunicorn (several sync
workers, fresh PostgreSQL) from many threads while another thread SIGKILLs a
random worker every so often; gunicorn starts a new one each time. Every
request carries a nonce (in the JSON body, or the return's query string), so
its inbox row can be found. Then the heal, in this process on an app
configured like the served one: ``replay_failed`` (the rows a dead worker left
``received``, and any ``error``), then one reconcile.

Checks: every request answered 2xx or 3xx has its inbox row; after the heal
every order is paid with exactly one ``pay`` history row and one receipt, no
inbox row is left to replay, and no answer was 5xx. Signals are counted, not
checked: one sent by a worker killed between its commit and its signal is
gone (signals follow the commit; they are not an outbox).

Run:  python bench/crash.py [--orders 1000] [--kill-every 0.5] [--workers 4]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import random
import re
import secrets
import signal
import string
import sys
import threading
import time
import typing as t

import _proof
import _stack
import apps_receipts
import sqlalchemy as sa
from flask import Flask

from flask_nicepay import tables

NONCE = re.compile(rb"crash[a-z]{16}")


def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = _stack.parser(__doc__)
    parser.add_argument("--orders", type=int, default=1000, help="orders paid")
    parser.add_argument("--webhooks", type=int, default=2, help="webhooks per order")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument(
        "--kill-every", type=float, default=0.5, help="seconds between SIGKILLs"
    )
    parser.add_argument("--seed", type=int, default=1, help="shuffle and kill seed")
    args = _stack.parse_args(parser, argv)
    if args.quick:
        args.orders, args.concurrency = min(args.orders, 60), min(args.concurrency, 8)
        args.kill_every = min(args.kill_every, 0.3)
    return args


def nonce() -> str:
    """A marker of letters only: the inbox masks long runs of digits."""
    return "crash" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))


def hits_for(
    bodies: t.Sequence[t.Mapping[str, str]], webhooks: int, seed: int
) -> list[_proof.Hit]:
    """Each order's webhooks, completion and return, each with its own nonce."""
    hits: list[_proof.Hit] = []
    for body in bodies:
        hits += [_proof.webhook({**body, "nonce": nonce()}) for _ in range(webhooks)]
        hits.append(_proof.completion(body, nonce=nonce()))
        hits.append(_proof.mobile_return(body, nonce=nonce()))
    random.Random(seed).shuffle(hits)
    return hits


def marker(hit: _proof.Hit) -> str:
    """The nonce a hit carries."""
    return str((hit.json or hit.params or {})["nonce"])


class Killer:
    """A thread that SIGKILLs a random worker of ``server`` periodically.

    Only while all ``workers`` are up: one dies at a time, so the others keep
    serving however slowly the machine starts a new one.
    """

    def __init__(
        self, server: _stack.Server, workers: int, every: float, seed: int
    ) -> None:
        self.server, self.workers, self.every = server, workers, every
        self.rng = random.Random(seed)
        self.killed: list[int] = []
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Killer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            ready = sorted(self.server.ready_workers())
            if len(ready) < self.workers:
                continue
            victim = self.rng.choice(ready)
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                continue
            self.killed.append(victim)


def main(argv: t.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    proof = _proof.Proof()
    with _proof.stack(args.postgres_url) as box:
        app, engine = box.app, box.engine
        began = dt.datetime.now(dt.UTC)
        orders = _stack.create_orders(app, args.orders)
        uids = [o.merchant_uid for o in orders]
        bodies = _stack.pay(box.sandbox_url, orders)
        with _stack.gunicorn(_proof.SERVED, box.env, workers=args.workers) as server:
            clock = time.perf_counter()
            with Killer(server, args.workers, args.kill_every, args.seed) as killer:
                answers: list[_proof.Answer] = []
                # A short run on a busy machine can end before a kill lands
                # mid-request; send everything again (fresh nonces) until one has.
                for seed in range(args.seed, args.seed + 3):
                    hits = hits_for(bodies, args.webhooks, seed)
                    answers += _proof.fire(
                        server.url, hits, concurrency=args.concurrency
                    )
                    if any(answer.status == 0 for answer in answers):
                        break
            seconds = time.perf_counter() - clock
            restarted = _proof.wait_for_workers(server, args.workers)
        _report(args, answers, seconds, killer.killed, restarted)
        _check_kept(proof, engine, answers)
        left = _outcomes(engine)
        print("inbox before the heal: " + _proof.counts(left))
        _heal(app, began)
        _check_healed(proof, engine, uids)
    return proof.verdict("crash")


def _report(
    args: argparse.Namespace,
    answers: list[_proof.Answer],
    seconds: float,
    killed: list[int],
    restarted: bool,
) -> None:
    print(
        f"crash: {args.orders} orders x ({args.webhooks} webhooks + completion + "
        f"return) = {len(answers)} requests, {args.concurrency} clients, gunicorn "
        f"{args.workers} sync workers, PostgreSQL, standalone sandbox over HTTP"
    )
    print(
        f"{len(killed)} workers SIGKILLed in {seconds:.1f}s (one every "
        f"{args.kill_every}s); all {args.workers} back afterwards: {restarted}"
    )
    print(f"statuses (0 = connection lost): {_proof.statuses_line(answers)}")


def _check_kept(
    proof: _proof.Proof, engine: sa.Engine, answers: list[_proof.Answer]
) -> None:
    kept = _inbox_nonces(engine)
    answered = [a for a in answers if 200 <= a.status < 400]
    missing = [a for a in answered if marker(a.hit) not in kept]
    proof.expect(
        not missing,
        f"{len(answered) - len(missing)} of {len(answered)} requests answered "
        f"2xx/3xx have their inbox row",
    )
    lost = sum(1 for a in answers if a.status == 0)
    # Without a lost request no kill landed mid-request, and nothing was proved.
    proof.expect(lost > 0, f"{lost} requests lost their worker mid-request (want > 0)")
    print(
        f"{lost} requests lost with their worker; "
        f"{sum(1 for a in answers if a.status == 0 and marker(a.hit) in kept)} "
        "of them had reached the inbox"
    )
    errors = _proof.server_errors(answers)
    proof.expect(errors == 0, f"{errors} answers of 5xx")


def _inbox_nonces(engine: sa.Engine) -> set[str]:
    query = sa.select(tables.inbox.c.body, tables.inbox.c.path)
    found: set[str] = set()
    with engine.connect() as conn:
        for body, path in conn.execute(query):
            for data in (body or b"", (path or "").encode()):
                found.update(m.decode() for m in NONCE.findall(data))
    return found


def _outcomes(engine: sa.Engine) -> collections.Counter[str]:
    c = tables.inbox.c
    query = sa.select(c.outcome, sa.func.count()).group_by(c.outcome)
    with engine.connect() as conn:
        return collections.Counter({str(o): int(n) for o, n in conn.execute(query)})


def _heal(app: Flask, since: dt.datetime) -> None:
    service = app.extensions["nicepay"].payments
    with app.app_context():
        replayed = service.notifications.replay_failed()
        report = service.reconciler.reconcile(since=since)
    outcomes = collections.Counter(str(r.outcome) for r in replayed)
    print(f"heal: {len(replayed)} inbox rows replayed ({_proof.counts(outcomes)})")
    print(
        f"heal: reconcile of {report.orders} orders, {report.applied} changed, "
        f"{len(report.errors)} errors"
    )


def _check_healed(proof: _proof.Proof, engine: sa.Engine, uids: list[str]) -> None:
    total = len(uids)
    states = _proof.states(engine, uids)
    proof.expect(
        states == {"paid": total}, f"after the heal: order states {dict(states)}"
    )
    for what, table in (
        ("pay history rows", tables.history),
        ("pay receipts", apps_receipts.receipt_rows),
    ):
        counts = _proof.per_order(engine, table, uids, event="pay")
        proof.expect(
            _proof.exactly_one(counts, total),
            f"after the heal: {what} per order {dict(sorted(counts.items()))}",
        )
    left = _outcomes(engine)
    replayable = {k: n for k, n in left.items() if k in ("received", "error")}
    proof.expect(
        not replayable, f"after the heal: inbox {dict(left)} (none received/error)"
    )
    signals = _proof.per_order(engine, apps_receipts.signal_rows, uids)
    print(
        f"signal rows per order: {dict(sorted(signals.items()))} "
        "(0 = the worker died between its commit and its signal)"
    )


if __name__ == "__main__":
    sys.exit(main())
