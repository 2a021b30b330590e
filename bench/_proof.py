"""What the proof scripts share: HTTP hits from many threads, and database counts.

A :class:`Hit` is one request to the served app; :func:`fire` sends a list of them
from several threads, each with its own kept-alive session, and returns what came
back. The count helpers read the plugin's and the store's tables directly, so a
script's verdict never trusts the app it is judging.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import threading
import time
import typing as t

import _stack
import apps_receipts
import requests
import sqlalchemy as sa
from flask import Flask
from webhook import Checks

from flask_nicepay import tables

__all__ = ["Answer", "Hit", "Proof", "fire", "per_order", "statuses_line"]

PREFIX = "/nicepay"
#: The app every proof serves: the plugin with a store's receipts and signals.
SERVED = "apps_receipts:receipts()"


@dataclasses.dataclass(frozen=True)
class Stack:
    """A fresh database and a sandbox, and an app configured like the served one."""

    env: dict[str, str]
    app: Flask
    engine: sa.Engine
    sandbox_url: str


@contextlib.contextmanager
def stack(postgres_url: str | None, **config: t.Any) -> t.Iterator[Stack]:
    """A fresh PostgreSQL database, the standalone sandbox, every table made.

    :param config: settings for the app here, also passed to the served one
        through the environment (as text).
    """
    with (
        _stack.postgres_database(postgres_url) as database,
        _stack.standalone_sandbox(_stack.KEY, _stack.SECRET) as sandbox_url,
    ):
        env = {**_stack.app_environment(sandbox_url, database)}
        env |= {k: str(v) for k, v in config.items()}
        app = apps_receipts.receipts({**env, **config})
        engine = app.extensions["nicepay"].payments.engine
        apps_receipts.create_tables(engine)  # before any worker starts
        yield Stack(env, app, engine, sandbox_url)


class Proof(Checks):
    """Checks that print what held too, and end in one verdict line."""

    def expect(self, ok: bool, what: str) -> None:
        if ok:
            print(f"ok: {what}", flush=True)
        super().expect(ok, what)

    def verdict(self, name: str) -> int:
        """Print the last line and return the exit status."""
        if self.failures:
            print(f"{name}: {len(self.failures)} check(s) FAILED")
            return 1
        print(f"{name}: every check passed")
        return 0


@dataclasses.dataclass(frozen=True)
class Hit:
    """One request: which door, for which order, and what to send."""

    kind: str
    merchant_uid: str
    method: str
    path: str
    json: t.Mapping[str, t.Any] | None = None
    params: t.Mapping[str, str] | None = None


@dataclasses.dataclass(frozen=True)
class Answer:
    """What one :class:`Hit` got back: 0 when the connection failed."""

    hit: Hit
    status: int
    body: t.Any = None


def webhook(body: t.Mapping[str, t.Any]) -> Hit:
    """PortOne's webhook for a paid order."""
    return Hit("webhook", body["merchant_uid"], "POST", f"{PREFIX}/webhook", body)


def completion(body: t.Mapping[str, t.Any], **extra: str) -> Hit:
    """The PC checkout page posting ``IMP.request_pay``'s callback result."""
    data = {"imp_uid": body["imp_uid"], "merchant_uid": body["merchant_uid"], **extra}
    return Hit("complete", body["merchant_uid"], "POST", f"{PREFIX}/complete", data)


def mobile_return(body: t.Mapping[str, t.Any], **extra: str) -> Hit:
    """The phone coming back from the payment window."""
    query = {
        "imp_uid": body["imp_uid"],
        "merchant_uid": body["merchant_uid"],
        "imp_success": "true",
        **extra,
    }
    return Hit("return", body["merchant_uid"], "GET", f"{PREFIX}/return", None, query)


def fire(
    base_url: str, hits: t.Sequence[Hit], *, concurrency: int, timeout: float = 60
) -> list[Answer]:
    """Send every hit, in list order, from ``concurrency`` threads at once.

    Neighbours in the list are in flight together, so the order of ``hits``
    decides what races what. Each thread keeps its own session.
    """
    local = threading.local()

    def one(hit: Hit) -> Answer:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return _send(local.session, base_url, hit, timeout)

    return _stack.in_threads(hits, one, concurrency)[0]


def _send(session: requests.Session, base_url: str, hit: Hit, timeout: float) -> Answer:
    try:
        answer = session.request(
            hit.method,
            base_url + hit.path,
            json=hit.json,
            params=hit.params,
            allow_redirects=False,
            timeout=timeout,
        )
    except requests.RequestException:
        return Answer(hit, 0)
    try:
        body = answer.json()
    except ValueError:
        body = None
    return Answer(hit, answer.status_code, body)


def statuses_line(answers: t.Iterable[Answer]) -> str:
    """``webhook 200=1500; complete 200=500`` and so on, by door."""
    by_kind: dict[str, collections.Counter[int]] = collections.defaultdict(
        collections.Counter
    )
    for answer in answers:
        by_kind[answer.hit.kind][answer.status] += 1
    return "; ".join(
        f"{kind} " + " ".join(f"{s}={n}" for s, n in sorted(counts.items()))
        for kind, counts in sorted(by_kind.items())
    )


def counts(counter: t.Mapping[str, int]) -> str:
    """``a=1, b=2``, sorted; ``none`` when empty."""
    return ", ".join(f"{k}={n}" for k, n in sorted(counter.items())) or "none"


def wait_for_workers(server: _stack.Server, workers: int, timeout: float = 60) -> bool:
    """Wait until ``workers`` live workers have loaded the app again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(server.ready_workers()) >= workers:
            return True
        time.sleep(0.1)
    return False


def server_errors(answers: t.Iterable[Answer]) -> int:
    """How many answers were 5xx."""
    return sum(1 for a in answers if a.status >= 500)


def per_order(
    engine: sa.Engine, table: sa.Table, uids: t.Collection[str], **where: t.Any
) -> collections.Counter[int]:
    """How many orders have 0, 1, 2... rows in ``table`` (``where`` filters rows)."""
    query = sa.select(table.c.merchant_uid, sa.func.count()).group_by(
        table.c.merchant_uid
    )
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with engine.connect() as conn:
        found: dict[str, int] = {uid: n for uid, n in conn.execute(query)}
    return collections.Counter(int(found.get(uid, 0)) for uid in uids)


def states(engine: sa.Engine, uids: t.Collection[str]) -> collections.Counter[str]:
    """The orders' states, counted."""
    query = sa.select(tables.orders.c.merchant_uid, tables.orders.c.state)
    wanted = set(uids)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return collections.Counter(str(s) for uid, s in rows if uid in wanted)


def inbox_count(engine: sa.Engine) -> int:
    """Rows in the plugin's inbox."""
    query = sa.select(sa.func.count()).select_from(tables.inbox)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def exactly_one(counts: collections.Counter[int], total: int) -> bool:
    """Whether every one of ``total`` orders has exactly one row."""
    return counts == collections.Counter({1: total})


def sandbox_payments(
    sandbox_url: str, imp_uids: t.Sequence[str]
) -> dict[str, dict[str, t.Any]]:
    """PortOne's view of these payments (``GET /payments``, 100 at a time)."""
    found: dict[str, dict[str, t.Any]] = {}
    with requests.Session() as session:
        token = session.post(
            sandbox_url + "/users/getToken",
            json={"imp_key": _stack.KEY, "imp_secret": _stack.SECRET},
            timeout=10,
        ).json()["response"]["access_token"]
        session.headers["Authorization"] = token
        for start in range(0, len(imp_uids), 100):
            answer = session.get(
                sandbox_url + "/payments",
                params={"imp_uid[]": list(imp_uids[start : start + 100])},
                timeout=30,
            )
            for payment in answer.json()["response"] or []:
                found[payment["imp_uid"]] = payment
    return found


def settle(engine: sa.Engine, *, quiet: float = 3.0, timeout: float = 120.0) -> int:
    """Wait until the inbox has had no new row for ``quiet`` seconds.

    For webhooks the sandbox sends by itself: nothing says when the last one
    landed, except that no more come. Returns the inbox's row count.
    """
    deadline = time.monotonic() + timeout
    last, since = inbox_count(engine), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = inbox_count(engine)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last
