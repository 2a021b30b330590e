"""The example store under two gunicorn workers: stock and receipts, exactly once.

Orders are bought and paid (or declined, or given a virtual account) in the
sandbox's window from this process, whose own doors are never knocked on. Then
every order's webhook (three times), PC completion and mobile return reach the
two workers at once, shuffled; the workers' signal receivers sell, release and
write receipts. Later the clock moves past the accounts' deadline and four
processes run the expiry sweep at once. On SQLite and PostgreSQL, each paid order
has one receipt, every failure and expiry gave its stock back once, and the shelf
adds up.
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import json
import random
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from example_app import create_app
from flask_nicepay import tables
from flask_nicepay.buyer import Buyer
from flask_nicepay.buyer import Window
from flask_nicepay.testing import Clock

from ..lifecycle.test_races import in_processes
from ..lifecycle.test_shared_sandbox_workers import _gunicorn
from . import stock_worker
from .test_stock import STOCK
from .test_stock import adds_up
from .test_stock import bought
from .test_stock import database_uri  # noqa: F401  (the fixture, on both databases)
from .test_stock import receipts
from .test_stock import reservation
from .test_stock import stock

pytest.importorskip("gunicorn")

SHOP = """\
import os

from example_app import create_app as create_shop


def create_app():
    app = create_shop()

    @app.after_request
    def worker(response):
        response.headers["X-Worker"] = str(os.getpid())
        return response

    return app
"""
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_workers_sell_release_and_receipt_once(
    tmp_path: Path,
    database_uri: str,  # noqa: F811
) -> None:
    config = {
        "SHOP_DATABASE_URI": database_uri,
        "SHOP_STOCK": STOCK,
        "NICEPAY_SANDBOX_AUTO_DELIVER": False,
        "NICEPAY_SANDBOX_STATE_FILE": str(tmp_path / "sandbox.sqlite3"),
    }
    app = create_app({"TESTING": True, **config})
    buyer, clock = Buyer(app), Clock(app)
    due = clock.now() + dt.timedelta(days=3)
    paid = [bought(app, "tee", 1 + n % 3) for n in range(8)]
    declined = [bought(app, "hoodie", 2) for _ in range(4)]
    vbanks = [bought(app, "mug", 1) for _ in range(4)]
    windows = [buyer.pay_in_window(uid) for uid in paid]
    windows += [buyer.pay_in_window(uid, outcome="decline") for uid in declined]
    options = {"vbank_due": due}
    windows += [buyer.pay_in_window(u, method="vbank", options=options) for u in vbanks]
    (tmp_path / "race_shop.py").write_text(SHOP)
    env = {f"FLASK_{key}": json.dumps(value) for key, value in config.items()}
    env["PYTHONPATH"] = str(ROOT)
    with _gunicorn(tmp_path, env) as url:
        answers = _every_door(url, windows)
    assert {status for status, _ in answers} == {200}
    assert len({worker for _, worker in answers}) == 2  # both workers took part

    assert receipts(app) == dict.fromkeys(paid, 1)
    assert {reservation(app, uid) for uid in declined} == {"released"}
    assert {reservation(app, uid) for uid in vbanks} == {"held"}
    sold = sum(1 + n % 3 for n in range(8))
    assert stock(app) == {"tee": 30 - sold, "hoodie": 10, "mug": 5 - 4}
    adds_up(app)

    clock.advance(days=3, hours=1)
    reports = in_processes(stock_worker.expire, ({"TESTING": True, **config},), 4)
    expired = collections.Counter(uid for r in reports for uid in r["expired"])
    assert expired == dict.fromkeys(vbanks, 1)
    assert _events(app, vbanks, "expire") == dict.fromkeys(vbanks, 1)
    assert stock(app)["mug"] == 5
    adds_up(app)
    app.extensions["nicepay"].payments.engine.dispose()


def _every_door(url: str, windows: list[Window]) -> list[tuple[int, str]]:
    """Each window's webhook three times, its PC completion and its mobile
    return, all shuffled, eight at a time; each answer's status and worker."""
    hits: list[tuple[str, str, t.Any]] = []
    for window in windows:
        payment = window.payment
        body = {k: payment[k] for k in ("imp_uid", "merchant_uid", "status")}
        hits += [("POST", window.params["notice_url"], body)] * 3
        hits += [("POST", window.complete_url, window.completion)]
        hits += [("GET", window.return_url, None)]
    random.Random(10).shuffle(hits)

    def one(hit: tuple[str, str, t.Any]) -> tuple[int, str]:
        method, target, body = hit
        path = urlsplit(target)._replace(scheme="", netloc="").geturl()
        answer = requests.request(method, url + path, json=body, timeout=60)
        return answer.status_code, answer.headers.get("X-Worker", "")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, hits))


def _events(app: t.Any, uids: list[str], event: str) -> dict[str, int]:
    query = sa.select(tables.history.c.merchant_uid).where(
        tables.history.c.event == event, tables.history.c.merchant_uid.in_(uids)
    )
    with app.extensions["nicepay"].payments.engine.connect() as conn:
        return dict(collections.Counter(conn.execute(query).scalars()))
