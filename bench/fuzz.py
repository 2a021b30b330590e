"""Hostile requests at every route over real sockets: never a 5xx, every door kept.

gunicorn (several sync workers) serves the plugin on a fresh PostgreSQL
database, with a paid and a ready order seeded through the standalone sandbox.
Each route gets ``--per-route`` requests built by a seeded generator and sent as
raw bytes on their own TCP connection, mixed across routes: JSON with NUL, lone
surrogates and invalid UTF-8, wrong types, non-objects, nesting 100,000 deep,
random binary, forms and queries with undecodable bytes, bodies over the size
limit, empty bodies, every method (unknown ones too) and any content type, the
real ids and hostile ones in the path.

Checks: no answer is 5xx and every request is answered; the inbox grew by
exactly the number of door requests the app received; the seeded orders, their
history and the refund ledger are unchanged. Two kinds of request never reach
the plugin and are counted apart: bytes in the request line that gunicorn
itself refuses (its ``400 Bad Request``), and methods the route does not list
(``OPTIONS``, made-up verbs), which Flask's router answers.

Run:  python bench/fuzz.py [--per-route 10000] [--concurrency 16] [--seed 1]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import json
import random
import socket
import sys
import time
import typing as t
from urllib.parse import quote_from_bytes

import _proof
import _stack
import _wire
import sqlalchemy as sa
from flask import Flask

from flask_nicepay import tables

MAX_BODY = 64 * 1024  # the plugin's default NICEPAY_MAX_BODY
DOOR_ROUTES = {"webhook": "POST", "complete": "POST", "return": "GET"}
PAGE_ROUTES = ("checkout", "status", "confirm", "result")
#: Methods a door's route lists (HEAD comes with GET); others never reach it.
ROUTED = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
METHODS = (*ROUTED, "OPTIONS", "BREW")
CONTENT_TYPES = (
    None,
    "application/json",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=euc-kr",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "text/plain",
    "application/\x00json",
    "\xff\xfe",
)
FIELDS = ("imp_uid", "merchant_uid", "status", "imp_success", "success", "o", "e")
HOSTILE = ("\x00", "\ud800", "\udfff", "\ufffe", "\x00" * 40, "'; --", "../", "%")


@dataclasses.dataclass(frozen=True)
class Shot:
    """One hostile request, as bytes on the wire."""

    route: str
    method: str
    wire: bytes

    @property
    def door(self) -> bool:
        """Whether the plugin records it: a door, by a method its route lists."""
        return self.route in DOOR_ROUTES and self.method in ROUTED


class Generator:
    """Seeded hostile requests against the seeded orders."""

    def __init__(self, seed: int, real: t.Sequence[str]) -> None:
        self.rng = random.Random(seed)
        self.real = list(real)

    def text(self) -> str:
        """A string a caller might send: real ids, hostile bits, noise."""
        rng = self.rng
        pieces = [*self.real, *HOSTILE, "paid", "imp_", "np-"]
        parts = []
        for _ in range(rng.randint(0, 3)):
            if rng.random() < 0.5:
                parts.append(rng.choice(pieces))
            else:
                parts.append("".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(5)))
        if rng.random() < 0.02:
            parts.append("x" * rng.randint(1000, 20000))
        return "".join(parts)

    def plausible(self) -> dict[str, t.Any]:
        """Well-formed ids (the real ones, crossed, or unknown) and hostile rest.

        These pass validation, so the plugin looks the payment up and decides:
        the part of the route that could change an order.
        """
        rng = self.rng
        merchant_uids, imp_uids = self.real[:2], [*self.real[2:], "imp_000000000001"]
        return {
            "imp_uid": rng.choice(imp_uids),
            "merchant_uid": rng.choice(merchant_uids),
            "status": rng.choice(("paid", "cancelled", "failed", "ready", None)),
            "imp_success": rng.choice(("true", "false", self.text())),
            "error_msg": self.text()[:400],
            self.text(): self.value(),
        }

    def value(self, depth: int = 0) -> t.Any:
        """A JSON value of any type, text mostly."""
        rng = self.rng
        kind = rng.randrange(8 if depth < 3 else 6)
        if kind < 3:
            return self.text()
        simple = (None, True, rng.randint(-(2**70), 2**70), rng.random() * 1e300)
        if kind < 6:
            return simple[kind - 3 + rng.randrange(2)]
        if kind == 6:
            return [self.value(depth + 1) for _ in range(rng.randrange(4))]
        return {self.text(): self.value(depth + 1) for _ in range(rng.randrange(4))}

    def raw(self, size: int = 200) -> bytes:
        """Random bytes."""
        return self.rng.randbytes(self.rng.randrange(size))

    def encoded(self) -> str:
        """Percent-encoded text or raw bytes (possibly not UTF-8)."""
        if self.rng.random() < 0.5:
            data = self.text().encode("utf-8", "surrogatepass")
        else:
            data = self.raw(40)
        return quote_from_bytes(data, safe="")

    def query(self, route: str) -> str:
        """A query string; the return's carries its own fields mostly."""
        rng = self.rng
        pairs = []
        if route == "return" and rng.random() < 0.3:
            pairs = [
                f"{self.quoted(k, '')}={self.quoted(str(v), '')}"
                for k, v in self.plausible().items()
            ][:4]
        elif route == "return":
            pairs = [f"{k}={self.encoded()}" for k in FIELDS if rng.random() < 0.7]
        pairs += [
            f"{self.quoted(self.encoded())}={self.encoded()}"
            for _ in range(rng.randrange(3))
        ]
        return "?" + "&".join(pairs) if pairs else ""

    @staticmethod
    def quoted(text: str, safe: str = "%") -> str:
        """Text as it goes into a query; by default, ``%`` is taken as encoded."""
        return quote_from_bytes(text.encode("utf-8", "surrogatepass"), safe=safe)

    def body(self) -> tuple[bytes, str | None]:
        """A body and the content type it would honestly have."""
        rng = self.rng
        kind = rng.randrange(10)
        if kind == 0:
            return self.json(self.plausible()), "application/json"
        if kind < 3:
            obj = {k: self.value() for k in FIELDS if rng.random() < 0.6}
            return self.json(obj), "application/json"
        if kind == 3:
            return self.json(self.value()), "application/json"
        if kind == 4:
            depth = rng.choice((10, 1000, 100_000))
            return b"[" * depth + b"]" * depth, "application/json"
        if kind == 5:
            bad = self.raw(30)
            return (
                b'{"imp_uid": "' + bad + b'", "merchant_uid": "x"}',
                "application/json",
            )
        if kind == 6:
            pairs = [f"{k}={self.encoded()}" for k in FIELDS if rng.random() < 0.6]
            return "&".join(pairs).encode(), "application/x-www-form-urlencoded"
        if kind == 7:
            return self.raw(3000), None
        if kind == 8:
            size = rng.randint(MAX_BODY // 2, MAX_BODY * 3)
            return self.json({"imp_uid": "x" * size}), "application/json"
        return b"", None

    def json(self, value: t.Any) -> bytes:
        text = json.dumps(value, ensure_ascii=self.rng.random() < 0.5)
        return text.encode("utf-8", "surrogatepass")  # lone surrogates: bad UTF-8

    def path(self, route: str) -> str:
        if route in DOOR_ROUTES:
            return f"{_proof.PREFIX}/{route}"
        rng = self.rng
        uid = rng.choice(self.real) if rng.random() < 0.3 else self.encoded() or "x"
        return {
            "checkout": f"{_proof.PREFIX}/checkout/{uid}",
            "status": f"{_proof.PREFIX}/orders/{uid}/status",
            "confirm": f"{_proof.PREFIX}/orders/{uid}/confirm",
            "result": f"{_proof.PREFIX}/orders/{uid}",
        }[route]

    def shot(self, route: str) -> Shot:
        """One request for ``route``."""
        rng = self.rng
        own = DOOR_ROUTES.get(route, "GET")
        method = own if rng.random() < 0.7 else rng.choice(METHODS)
        target = self.path(route) + self.query(route)
        if rng.random() < 0.02:  # bytes no HTTP parser should take in the line
            junk = self.raw(10).translate(None, b"\r\n ")  # keep one request
            target += ("&" if "?" in target else "?") + "raw=" + junk.decode("latin-1")
        body, honest = (
            self.body() if method != "GET" or rng.random() < 0.2 else (b"", None)
        )
        ctype = honest if rng.random() < 0.7 else rng.choice(CONTENT_TYPES)
        head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        if ctype is not None:
            head.append(
                f"Content-Type: {ctype.replace(chr(13), '').replace(chr(10), '')}"
            )
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body)}")
        wire = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + body
        return Shot(route, method, wire)


@dataclasses.dataclass(frozen=True)
class Result:
    """What came back: the status (0 for none) and whether gunicorn refused it
    before the app saw it."""

    shot: Shot
    status: int
    by_gunicorn: bool


def send(port: int, shot: Shot, timeout: float = 60) -> Result:
    """One request on its own connection, read to the end."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            # Answered and closed before the whole body went out: read the answer.
            with contextlib.suppress(OSError):
                conn.sendall(shot.wire)
            answer = _wire.read_all(conn)
    except OSError:
        return Result(shot, 0, False)
    line = answer.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(line) < 2 or not line[1].isdigit():
        return Result(shot, 0, False)
    # Werkzeug writes reason phrases in capitals; gunicorn's own refusals
    # (a bad request line or header, a line over 4094 bytes) do not.
    reason = line[2] if len(line) > 2 else b""
    return Result(shot, int(line[1]), reason != reason.upper())


def shoot(port: int, shots: t.Sequence[Shot], concurrency: int) -> list[Result]:
    """Send every shot from ``concurrency`` threads."""
    return _stack.in_threads(shots, lambda shot: send(port, shot), concurrency)[0]


def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = _stack.parser(__doc__)
    parser.add_argument("--per-route", type=int, default=10_000, help="requests")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    args = _stack.parse_args(parser, argv)
    if args.quick:
        args.per_route, args.concurrency = min(args.per_route, 150), 8
    return args


def seed_orders(app: Flask, sandbox_url: str) -> list[str]:
    """A paid order and a ready one; returns their merchant_uids and imp_uids."""
    paid, ready = _stack.create_orders(app, 2)
    (body,) = _stack.pay(sandbox_url, [paid])
    with app.app_context():
        app.extensions["nicepay"].payments.reconciler.sync(imp_uid=body["imp_uid"])
    return [paid.merchant_uid, ready.merchant_uid, body["imp_uid"]]


def snapshot(engine: sa.Engine) -> tuple[t.Any, ...]:
    """Every order (all but ``updated_at``), and the history and refund counts."""
    columns = [c for c in tables.orders.c if c.name != "updated_at"]
    with engine.connect() as conn:
        orders = conn.execute(sa.select(*columns).order_by(tables.orders.c.id)).all()
        counts = [
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (tables.history, tables.refunds)
        ]
    return (tuple(tuple(row) for row in orders), *counts)


def main(argv: t.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    proof = _proof.Proof()
    with _proof.stack(args.postgres_url) as box:
        engine = box.engine
        real = seed_orders(box.app, box.sandbox_url)
        generator = Generator(args.seed, real)
        routes = [*DOOR_ROUTES, *PAGE_ROUTES]
        shots = [generator.shot(r) for r in routes for _ in range(args.per_route)]
        generator.rng.shuffle(shots)
        with _stack.gunicorn(_proof.SERVED, box.env, workers=args.workers) as server:
            before, rows_before = snapshot(engine), _proof.inbox_count(engine)
            clock = time.perf_counter()
            results = shoot(int(server.url.rsplit(":", 1)[1]), shots, args.concurrency)
            seconds = time.perf_counter() - clock
            after, rows_after = snapshot(engine), _proof.inbox_count(engine)
        _table(args, results, seconds)
        print("inbox rows by outcome: " + _proof.counts(_outcomes(engine)))
        _check(proof, results, rows_after - rows_before, before == after)
    return proof.verdict("fuzz")


def _outcomes(engine: sa.Engine) -> dict[str, int]:
    c = tables.inbox.c
    query = sa.select(c.outcome, sa.func.count()).group_by(c.outcome)
    with engine.connect() as conn:
        return {str(outcome): int(n) for outcome, n in conn.execute(query)}


def _table(args: argparse.Namespace, results: list[Result], seconds: float) -> None:
    print(
        f"fuzz: {args.per_route} requests per route x 7 routes = {len(results)} "
        f"requests in {seconds:.0f}s ({len(results) / seconds:.0f}/s), "
        f"{args.concurrency} clients, gunicorn {args.workers} sync workers, "
        "PostgreSQL, raw sockets"
    )
    by_route: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    for r in results:
        by_route[r.shot.route][f"{r.status}{'g' if r.by_gunicorn else ''}"] += 1
    print(f"{'route':<10} statuses (g = refused by gunicorn before the app)")
    for route, counts in sorted(by_route.items()):
        print(f"{route:<10} " + " ".join(f"{s}={n}" for s, n in sorted(counts.items())))


def _check(
    proof: _proof.Proof, results: list[Result], new_rows: int, unchanged: bool
) -> None:
    unanswered = sum(1 for r in results if r.status == 0)
    proof.expect(unanswered == 0, f"{unanswered} requests without an answer")
    errors = sum(1 for r in results if r.status >= 500)
    proof.expect(errors == 0, f"{errors} answers of 5xx")
    doors = [r for r in results if r.shot.door and not r.by_gunicorn]
    proof.expect(
        new_rows == len(doors),
        f"inbox grew by {new_rows} for {len(doors)} door requests that reached the app",
    )
    unrouted = sum(
        1 for r in results if r.shot.route in DOOR_ROUTES and not r.shot.door
    )
    refused = sum(1 for r in results if r.by_gunicorn)
    print(
        f"not for the plugin: {refused} refused by gunicorn, {unrouted} door "
        "requests by a method the route does not list (answered by Flask)"
    )
    proof.expect(unchanged, "seeded orders, history and refunds unchanged")


if __name__ == "__main__":
    sys.exit(main())
