"""Race every door at once: one transition, one signal, one receipt per order.

N orders are paid at the standalone sandbox (no webhook sent). Then, against
gunicorn with several sync workers on a fresh PostgreSQL database, every order
gets at the same moment its webhook several times, the PC completion
(``POST /nicepay/complete``) and the mobile return (``GET /nicepay/return``),
interleaved across orders so that each order's requests land on different
workers together. The app is ``apps_receipts:receipts()``: the store writes a
receipt row in the transaction of each change and a signal row on
``payment_paid``, in tables without a unique constraint.

Checks: every order is paid, with exactly one ``pay`` history row, one receipt
row and one signal row; no answer was 5xx. Exits 1 when a check fails.

Run:  python bench/race.py [--orders 500] [--webhooks 3] [--workers 4]
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
import typing as t

import _proof
import _stack
import apps_receipts

from flask_nicepay import tables


def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = _stack.parser(__doc__)
    parser.add_argument("--orders", type=int, default=500, help="orders raced")
    parser.add_argument("--webhooks", type=int, default=3, help="webhooks per order")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--group", type=int, default=4, help="orders mixed together")
    parser.add_argument("--seed", type=int, default=1, help="shuffle seed")
    args = _stack.parse_args(parser, argv)
    if args.quick:
        args.orders, args.concurrency = min(args.orders, 40), min(args.concurrency, 8)
    return args


def interleave(
    bodies: t.Sequence[t.Mapping[str, str]], webhooks: int, group: int, seed: int
) -> list[_proof.Hit]:
    """Every order's hits, shuffled together with its neighbours' ``group`` orders.

    Threads take hits in list order, so the hits of one group are in flight at
    once: each order races itself on several workers, and other orders too.
    """
    rng = random.Random(seed)
    hits: list[_proof.Hit] = []
    for start in range(0, len(bodies), group):
        batch = [
            hit
            for body in bodies[start : start + group]
            for hit in [_proof.webhook(body)] * webhooks
            + [_proof.completion(body), _proof.mobile_return(body)]
        ]
        rng.shuffle(batch)
        hits.extend(batch)
    return hits


def main(argv: t.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    proof = _proof.Proof()
    with _proof.stack(args.postgres_url) as box:
        engine = box.engine
        orders = _stack.create_orders(box.app, args.orders)
        bodies = _stack.pay(box.sandbox_url, orders)
        hits = interleave(bodies, args.webhooks, args.group, args.seed)
        with _stack.gunicorn(_proof.SERVED, box.env, workers=args.workers) as server:
            began = time.perf_counter()
            answers = _proof.fire(server.url, hits, concurrency=args.concurrency)
            seconds = time.perf_counter() - began
        _report(args, answers, seconds)
        _check(proof, engine, [o.merchant_uid for o in orders], answers, len(hits))
    return proof.verdict("race")


def _report(
    args: argparse.Namespace, answers: list[_proof.Answer], seconds: float
) -> None:
    print(
        f"race: {args.orders} orders x ({args.webhooks} webhooks + completion + "
        f"return) = {len(answers)} requests, {args.concurrency} clients, gunicorn "
        f"{args.workers} sync workers, PostgreSQL, standalone sandbox over HTTP"
    )
    print(f"answered in {seconds:.1f}s ({len(answers) / seconds:.0f} requests/s)")
    print(f"statuses: {_proof.statuses_line(answers)}")
    outcomes = collections.Counter(
        f"{a.hit.kind}:{a.body.get('outcome')}"
        for a in answers
        if isinstance(a.body, dict)
    )
    print("outcomes: " + ", ".join(f"{k}={n}" for k, n in sorted(outcomes.items())))


def _check(
    proof: _proof.Proof,
    engine: t.Any,
    uids: list[str],
    answers: list[_proof.Answer],
    sent: int,
) -> None:
    total = len(uids)
    proof.expect(len(answers) == sent, f"{len(answers)} of {sent} requests answered")
    failed = sum(1 for a in answers if a.status == 0)
    proof.expect(failed == 0, f"{failed} requests without an answer")
    errors = _proof.server_errors(answers)
    proof.expect(errors == 0, f"{errors} answers of 5xx")
    states = _proof.states(engine, uids)
    proof.expect(states == {"paid": total}, f"order states {dict(states)}")
    facts = {
        "pay history rows": (tables.history, {"event": "pay"}),
        "receipt rows": (apps_receipts.receipt_rows, {"event": "pay"}),
        "signal rows": (apps_receipts.signal_rows, {}),
    }
    for what, (table, where) in facts.items():
        counts = _proof.per_order(engine, table, uids, **where)
        proof.expect(
            _proof.exactly_one(counts, total),
            f"{what} per order {dict(sorted(counts.items()))} (want 1 for all {total})",
        )


if __name__ == "__main__":
    sys.exit(main())
