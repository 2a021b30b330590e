"""A fault storm, then one reconcile: every order equals PortOne, no double refund.

Orders are paid at the standalone sandbox, which sends their webhooks itself to
gunicorn (several sync workers, fresh PostgreSQL) through each payment's
``notice_url``. Every chunk of payments meets webhook faults (one dropped, one
sent three times, one delayed an hour of sandbox time, three held and released
newest first) while a second thread keeps injecting API faults into the
plugin's lookups (500 three times in a row, 503, a timeout past the client's
read timeout, a dropped connection). Then partial refunds race each other,
three at once per order (a full refund among them for some), through
``NicePay.refund`` in this process, on an app configured like the served one,
while cancels meet faults too (500, a timeout after PortOne acted, a dropped
connection). Then faults are cleared and one reconcile runs.

Checks, after the reconcile and again once the delayed webhooks have arrived:
every order's state and amounts equal PortOne's (``GET /payments``); per order,
the ledger's succeeded refunds add up to PortOne's ``cancel_amount``, never more
than was paid; one ``pay`` transition and one receipt per paid order.

Run:  python bench/storm.py [--orders 300] [--workers 4]
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime as dt
import random
import sys
import threading
import time
import typing as t
from decimal import Decimal

import _proof
import _stack
import apps_receipts
import requests
import sqlalchemy as sa
from _sandbox import checkout
from _sandbox import webhook_log
from flask import Flask

from flask_nicepay import tables

if t.TYPE_CHECKING:
    from flask_nicepay.store import Order

#: The client's read timeout in the served app and here; a ``timeout`` fault
#: holds the answer longer.
READ_TIMEOUT = 2.0
CHUNK = 10
#: Each chunk's first deliveries: webhook fault kind, how many, extra settings.
WEBHOOK_FAULTS: tuple[tuple[str, int, dict[str, int]], ...] = (
    ("drop", 1, {}),
    ("duplicate", 1, {"copies": 3}),
    ("delay", 1, {"delay": 3600}),
    ("reorder", 3, {}),
)
LOOKUP_FAULTS = (("500", 3), ("503", 1), ("timeout", 1), ("disconnect", 1))
CANCEL_FAULTS = (("500", 1), ("timeout", 1), ("disconnect", 1))
PART = Decimal(1000)


def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = _stack.parser(__doc__)
    parser.add_argument("--orders", type=int, default=300, help="orders paid")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="payer/refund threads")
    parser.add_argument("--seed", type=int, default=1, help="fault choice seed")
    args = _stack.parse_args(parser, argv)
    if args.quick:
        args.orders = min(args.orders, 30)
    return args


class Injector:
    """A thread adding an API fault whenever the last one is used up, until stopped.

    One at a time, so that the requests in between go through: a storm, not an
    outage.
    """

    def __init__(self, sandbox_url: str, seed: int, gap: float = 0.3) -> None:
        self.url, self.gap = sandbox_url + "/_sandbox/faults", gap
        self.rng = random.Random(seed)
        self.injected: collections.Counter[str] = collections.Counter()
        self.stop = threading.Event()
        self.targets: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...] = ()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def aim(self, method: str, path: str, faults: tuple[tuple[str, int], ...]) -> None:
        """Fault these requests from now on (instead of the previous ones)."""
        self.targets = ((method, path, faults),)

    def __enter__(self) -> Injector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()
        requests.delete(self.url, timeout=10)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self.stop.wait(self.gap):
                if self.targets and not self._pending(session):
                    self._inject(session, *self.targets[0])

    def _inject(
        self,
        session: requests.Session,
        method: str,
        path: str,
        faults: tuple[tuple[str, int], ...],
    ) -> None:
        first = f"{method} {path} timeout"
        timeouts = [fault for fault in faults if fault[0] == "timeout"]
        # The fault that matters most comes first on every target: a timeout,
        # after which PortOne has acted and the answer is lost. Left to the draw,
        # a short storm (the suite runs one of 30 orders) could end without one.
        if timeouts and not self.injected[first]:
            kind, times = timeouts[0]
        else:
            kind, times = self.rng.choice(faults)
        body: dict[str, t.Any] = {"kind": kind, "path": path}
        body |= {"method": method, "times": times}
        if kind == "timeout":
            body["delay"] = READ_TIMEOUT + 0.5
        session.post(self.url, json=body, timeout=10).raise_for_status()
        self.injected[f"{method} {path} {kind}"] += 1

    def _pending(self, session: requests.Session) -> bool:
        answer = session.get(self.url, timeout=10)
        return bool(answer.json()["response"]["api"])


def pay_in_storm(
    sandbox_url: str, orders: t.Sequence[Order], notice_url: str, threads: int
) -> list[str]:
    """Pay every order, each chunk of them meeting the webhook faults first."""
    imp_uids: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for start in range(0, len(orders), CHUNK):
            for kind, times, extra in WEBHOOK_FAULTS:
                requests.post(
                    sandbox_url + "/_sandbox/webhook-faults",
                    json={"kind": kind, "times": times, **extra},
                    timeout=10,
                ).raise_for_status()
            chunk = orders[start : start + CHUNK]
            imp_uids += pool.map(
                lambda o: _pay(sandbox_url, o, notice_url), chunk, timeout=60
            )
    return imp_uids


def _pay(sandbox_url: str, order: Order, notice_url: str) -> str:
    payment = checkout(
        sandbox_url, order.merchant_uid, int(order.amount), notice_url=notice_url
    )
    if payment["status"] != "paid":
        raise SystemExit(f"the sandbox did not pay {order.merchant_uid}")
    return str(payment["imp_uid"])


def refund_race(
    app: Flask, uids: t.Sequence[str], threads: int
) -> collections.Counter[str]:
    """Three refunds at once per order: partial ones, and a full one every 5th."""
    jobs: list[tuple[str, Decimal | None]] = []
    for i, uid in enumerate(uids):
        amounts: list[Decimal | None] = [PART, PART, PART if i % 5 else None]
        jobs += [(uid, amount) for amount in amounts]
    service = app.extensions["nicepay"].payments

    def one(job: tuple[str, Decimal | None]) -> str:
        with app.app_context():
            try:
                service.refunds.refund(job[0], job[1], reason="storm")
            except Exception as exc:  # every refusal is a figure, not a crash
                return type(exc).__name__
        return "refunded"

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return collections.Counter(pool.map(one, jobs))


def main(argv: t.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    proof = _proof.Proof()
    with _proof.stack(args.postgres_url, NICEPAY_TIMEOUT=READ_TIMEOUT) as box:
        app, engine, sandbox_url = box.app, box.engine, box.sandbox_url
        began = dt.datetime.now(dt.UTC)
        orders = _stack.create_orders(app, args.orders)
        uids = [o.merchant_uid for o in orders]
        with _stack.gunicorn(_proof.SERVED, box.env, workers=args.workers) as server:
            imp_uids = _storm(args, app, sandbox_url, server.url, orders, engine)
            _reconcile(app, began)
            _compare(proof, "after the reconcile", engine, sandbox_url, uids, imp_uids)
            _release_delayed(sandbox_url, engine)
            _compare(proof, "after late webhooks", engine, sandbox_url, uids, imp_uids)
    return proof.verdict("storm")


def _storm(
    args: argparse.Namespace,
    app: Flask,
    sandbox_url: str,
    served_url: str,
    orders: list[Order],
    engine: sa.Engine,
) -> list[str]:
    clock = time.perf_counter()
    with Injector(sandbox_url, args.seed) as injector:
        injector.aim("GET", "/payments/imp_*", LOOKUP_FAULTS)
        notice = served_url + _proof.PREFIX + "/webhook"
        imp_uids = pay_in_storm(sandbox_url, orders, notice, args.threads)
        rows = _proof.settle(engine)
        paying, clock = time.perf_counter() - clock, time.perf_counter()
        injector.aim("POST", "/payments/cancel", CANCEL_FAULTS)
        refunds = refund_race(app, [o.merchant_uid for o in orders], args.threads)
        refunding = time.perf_counter() - clock
    print(
        f"storm: {len(orders)} orders, gunicorn {args.workers} sync workers, "
        "PostgreSQL, standalone sandbox over HTTP sending its own webhooks"
    )
    _print_webhooks(sandbox_url, rows)
    print("api faults injected: " + _proof.counts(injector.injected))
    print("refund attempts: " + _proof.counts(refunds))
    print(f"seconds: payments and webhooks {paying:.1f}, refunds {refunding:.1f}")
    return imp_uids


def _print_webhooks(sandbox_url: str, rows: int) -> None:
    log = webhook_log(sandbox_url)  # the last 1,000 deliveries
    kinds = collections.Counter(
        f"{d['kind']}:{d['status'] or (d['error'] and 'error')}" for d in log
    )
    print(f"webhooks (last {len(log)} in the sandbox log): " + _proof.counts(kinds))
    print(f"inbox rows after the payments: {rows}")


def _reconcile(app: Flask, since: dt.datetime) -> None:
    with app.app_context():
        report = app.extensions["nicepay"].payments.reconciler.reconcile(since=since)
    print(
        f"reconcile: {report.orders} orders, {report.api_calls} lookups, "
        f"{report.applied} changed, {report.unchanged} unchanged, "
        f"{len(report.errors)} errors"
    )


def _release_delayed(sandbox_url: str, engine: sa.Engine) -> None:
    """Move the sandbox clock past the delay; the held webhooks arrive late."""
    requests.post(
        sandbox_url + "/_sandbox/clock", json={"advance": 3700}, timeout=10
    ).raise_for_status()
    requests.post(sandbox_url + "/_sandbox/webhooks/deliver", timeout=60)
    print(f"inbox rows after late webhooks: {_proof.settle(engine)}")


# -- the comparison ------------------------------------------------------------------


def expected_state(payment: t.Mapping[str, t.Any]) -> str:
    """The order state PortOne's payment stands for."""
    status = payment["status"]
    if status != "cancelled":
        return str(status)
    whole = Decimal(payment["cancel_amount"]) >= Decimal(payment["amount"])
    return "cancelled" if whole else "partially_cancelled"


def _compare(
    proof: _proof.Proof,
    when: str,
    engine: sa.Engine,
    sandbox_url: str,
    uids: list[str],
    imp_uids: list[str],
) -> None:
    truth = _proof.sandbox_payments(sandbox_url, imp_uids)
    local = _orders(engine, uids)
    ledger = _ledger(engine)
    differ, over, twice, open_rows = [], 0, 0, 0
    for imp_uid in imp_uids:
        payment = truth[imp_uid]
        row = local[payment["merchant_uid"]]
        refunded = ledger.get((row.merchant_uid, "succeeded"), Decimal(0))
        open_rows += sum(
            1
            for k in ledger
            if k[0] == row.merchant_uid and k[1] in ("pending", "unknown")
        )
        mine = (row.state, row.imp_uid, row.paid_amount, row.cancelled_amount)
        theirs = (
            expected_state(payment),
            imp_uid,
            Decimal(payment["amount"]),
            Decimal(payment["cancel_amount"]),
        )
        if mine != theirs:
            differ.append(f"{row.merchant_uid} {mine} != {theirs}")
        twice += refunded != Decimal(payment["cancel_amount"])
        over += refunded > Decimal(payment["amount"])
    states = collections.Counter(row.state for row in local.values())
    print(f"{when}: order states {dict(sorted(states.items()))}")
    proof.expect(
        not differ, f"{when}: {len(differ)} orders differ from PortOne {differ[:3]}"
    )
    proof.expect(
        twice == 0,
        f"{when}: {twice} orders whose succeeded refunds != PortOne's cancel_amount",
    )
    proof.expect(over == 0, f"{when}: {over} orders refunded above the paid amount")
    print(f"{when}: {open_rows} refund rows still open (unknown/pending)")
    pays = _proof.per_order(engine, tables.history, uids, event="pay")
    proof.expect(
        _proof.exactly_one(pays, len(uids)),
        f"{when}: pay history rows per order {dict(pays)}",
    )
    receipts = _proof.per_order(engine, apps_receipts.receipt_rows, uids, event="pay")
    proof.expect(
        _proof.exactly_one(receipts, len(uids)),
        f"{when}: pay receipts per order {dict(receipts)}",
    )


def _orders(engine: sa.Engine, uids: list[str]) -> dict[str, t.Any]:
    c = tables.orders.c
    query = sa.select(
        c.merchant_uid, c.state, c.imp_uid, c.paid_amount, c.cancelled_amount
    )
    with engine.connect() as conn:
        rows = conn.execute(query.where(c.merchant_uid.in_(uids))).all()
    return {row.merchant_uid: row for row in rows}


def _ledger(engine: sa.Engine) -> dict[tuple[str, str], Decimal]:
    c = tables.refunds.c
    query = sa.select(
        c.merchant_uid, c.status, sa.func.sum(c.amount, type_=sa.BigInteger)
    ).group_by(c.merchant_uid, c.status)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    # The sum of a Money column comes back as hundredths.
    return {(uid, status): Decimal(total) / 100 for uid, status, total in rows}


if __name__ == "__main__":
    sys.exit(main())
