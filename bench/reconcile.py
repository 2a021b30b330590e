"""Reconcile 10,000 open orders: batched multi-lookups against one lookup per order.

Both runs start from identical copies of one SQLite file holding the open orders,
and ask the same standalone sandbox (a separate process, real sockets), where one
order in a hundred was paid without the shop hearing of it. The batched run asks
PortOne about 100 orders per call; the other run asks about one order per call.
API calls are counted on the wire, by the session that sends them.

Run:  python bench/reconcile.py [--orders 10000] [--paid-every 100]
Targets: batched at most 101 API calls (token included), at least 10x faster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
import typing as t
from decimal import Decimal
from pathlib import Path

import requests
import sqlalchemy as sa
from _sandbox import checkout
from _sandbox import standalone_sandbox

from flask_nicepay import tables
from flask_nicepay.db import make_engine
from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.portone import PortOneClient

KEY, SECRET = "bench_key", "bench_secret"
MAX_CALLS, MIN_RATIO = 101, 10.0


class CountingSession(requests.Session):
    """A session that counts the HTTP requests it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def request(self, *args: t.Any, **kwargs: t.Any) -> requests.Response:  # type: ignore[override]
        self.calls += 1
        return super().request(*args, **kwargs)


def seed(path: Path, orders: int, paid_every: int, base_url: str) -> int:
    """Write the open orders; pay some of them at PortOne only. Returns how many."""
    engine = make_engine(f"sqlite:///{path}")
    tables.metadata.create_all(engine)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "merchant_uid": f"recon-{i:05d}",
            "state": OrderState.READY.value,
            "version": 1,
            "amount": Decimal(10_000),
            "currency": "KRW",
            "name": "bench",
            "origin": "checkout",
            "paid_amount": Decimal(0),
            "cancelled_amount": Decimal(0),
            "late_payment": False,
            "prepared": True,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(orders)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(tables.orders), rows)
    paid = 0
    for i in range(0, orders, paid_every):
        checkout(base_url, f"recon-{i:05d}", 10_000)
        paid += 1
    engine.dispose()
    return paid


def run(path: Path, base_url: str, batch_size: int) -> tuple[int, float, int, int]:
    """Reconcile the file at ``path``; returns (API calls, seconds, applied, paid)."""
    session = CountingSession()
    client = PortOneClient(KEY, SECRET, base_url=base_url, session=session)
    engine = make_engine(f"sqlite:///{path}")
    service = Payments(client=client, engine=engine, sender=object())
    started = time.perf_counter()
    report = service.reconciler.reconcile(batch_size=batch_size)
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        paid = conn.execute(
            sa.select(sa.func.count())
            .select_from(tables.orders)
            .where(tables.orders.c.state == OrderState.PAID.value)
        ).scalar_one()
    engine.dispose()
    assert not report.errors, report.errors[:3]
    return session.calls, elapsed, report.applied, int(paid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--paid-every", type=int, default=100)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="nicepay-bench-"))
    with standalone_sandbox(KEY, SECRET) as base_url:
        seed_file = workdir / "seed.db"
        paid = seed(seed_file, args.orders, args.paid_every, base_url)
        batched_file, single_file = workdir / "batched.db", workdir / "single.db"
        shutil.copy(seed_file, batched_file)
        shutil.copy(seed_file, single_file)
        batched = run(batched_file, base_url, batch_size=100)
        single = run(single_file, base_url, batch_size=1)
    shutil.rmtree(workdir)

    print(f"open orders: {args.orders}, paid at PortOne only: {paid}")
    print(f"{'':22}{'API calls':>10}{'seconds':>10}{'orders/s':>10}{'healed':>8}")
    for label, (calls, seconds, applied, now_paid) in (
        ("batched (100 per call)", batched),
        ("one lookup per order", single),
    ):
        rate = args.orders / seconds
        print(f"{label:22}{calls:>10}{seconds:>10.2f}{rate:>10.0f}{applied:>8}")
        assert now_paid == paid, f"{label}: {now_paid} paid, expected {paid}"
    call_ratio = single[0] / batched[0]
    speedup = single[1] / batched[1]
    print(f"API calls: {call_ratio:.1f}x fewer (target: at most {MAX_CALLS} calls)")
    print(f"time     : {speedup:.1f}x faster (target: at least {MIN_RATIO:.0f}x)")
    ok = batched[0] <= MAX_CALLS and speedup >= MIN_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
