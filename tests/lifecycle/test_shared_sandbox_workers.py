"""Two gunicorn workers on one embedded sandbox: the hot path's race, exactly once.

The orders are paid at the sandbox from this process, whose webhooks are never
delivered; then every order's webhooks, PC completion and mobile return reach two
sync workers at once. Each worker asks its own in-process sandbox, which knows the
payments only through the shared state file.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import random
import runpy
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from flask_nicepay import tables

from ..databases import fresh_postgres_engine
from ..databases import postgres_url

pytest.importorskip("gunicorn")

APP = """\
import os
import pathlib

from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay.signals import payment_paid


def create_app():
    app = Flask("race_shop", instance_path=os.environ["RACE_INSTANCE"])
    app.config.update(
        SECRET_KEY="race",
        NICEPAY_SANDBOX=True,
        NICEPAY_SANDBOX_AUTO_DELIVER=False,
        NICEPAY_DATABASE_URI=os.environ["RACE_DB"],
    )
    NicePay(app)
    signals = pathlib.Path(os.environ["RACE_SIGNALS"])

    def paid(sender, order, **extra):
        with signals.open("a") as out:
            out.write(order.merchant_uid + "\\n")

    payment_paid.connect(paid, app, weak=False)

    @app.after_request
    def worker(response):
        response.headers["X-Worker"] = str(os.getpid())
        return response

    return app
"""
HOOKS = """\
import pathlib

def post_worker_init(worker):
    pathlib.Path({ready!r}, str(worker.pid)).touch()
"""
ORDERS, WEBHOOKS = 8, 3


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    fresh_postgres_engine().dispose()
    url = postgres_url()
    assert url is not None
    return url


def test_two_workers_one_transition_per_order(
    tmp_path: Path, database_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, env = race_shop(tmp_path, database_uri, monkeypatch)
    bodies = _paid_at_the_sandbox(app)
    with _gunicorn(tmp_path, env) as url:
        answers = _fire(url, bodies)
    assert {status for status, _ in answers} == {200}
    assert len({worker for _, worker in answers}) == 2  # both workers took part
    uids = [body["merchant_uid"] for body in bodies]
    assert_paid_once(app, uids)
    signals = collections.Counter(Path(env["RACE_SIGNALS"]).read_text().split())
    assert signals == dict.fromkeys(uids, 1)
    assert app.extensions["nicepay"].sandbox.deliver_webhooks() != []  # never sent
    app.extensions["nicepay"].payments.engine.dispose()


def race_shop(
    tmp_path: Path, database_uri: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[t.Any, dict[str, str]]:
    """The shop the workers run, made here too, and the environment it reads."""
    env = {
        "RACE_INSTANCE": str(tmp_path / "instance"),
        "RACE_DB": database_uri,
        "RACE_SIGNALS": str(tmp_path / "signals.txt"),
    }
    (tmp_path / "race_shop.py").write_text(APP)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    app = runpy.run_path(str(tmp_path / "race_shop.py"))["create_app"]()
    return app, env


def assert_paid_once(app: t.Any, uids: list[str]) -> None:
    """Every order is ``paid``, with one ``pay`` in its history."""
    engine = app.extensions["nicepay"].payments.engine
    with engine.connect() as conn:
        states = dict(
            conn.execute(
                sa.select(tables.orders.c.merchant_uid, tables.orders.c.state).where(
                    tables.orders.c.merchant_uid.in_(uids)
                )
            ).all()
        )
        pays = collections.Counter(
            conn.execute(
                sa.select(tables.history.c.merchant_uid).where(
                    tables.history.c.event == "pay",
                    tables.history.c.merchant_uid.in_(uids),
                )
            ).scalars()
        )
    assert set(states.values()) == {"paid"}, states
    assert pays == dict.fromkeys(uids, 1)


def _paid_at_the_sandbox(app: t.Any) -> list[dict[str, str]]:
    nicepay = app.extensions["nicepay"]
    bodies = []
    with app.app_context():
        for n in range(ORDERS):
            order = nicepay.extension.create_order(amount=10_000 + n, name="race")
            payment = nicepay.sandbox.checkout(order.merchant_uid, 10_000 + n)
            assert payment["status"] == "paid"
            bodies.append(
                {
                    "imp_uid": payment["imp_uid"],
                    "merchant_uid": order.merchant_uid,
                    "status": "paid",
                }
            )
    return bodies


def _fire(url: str, bodies: list[dict[str, str]]) -> list[tuple[int, str]]:
    hits: list[tuple[str, str, dict[str, str]]] = []
    for body in bodies:
        ids = {"imp_uid": body["imp_uid"], "merchant_uid": body["merchant_uid"]}
        hits += [("POST", "/nicepay/webhook", body)] * WEBHOOKS
        hits += [("POST", "/nicepay/complete", ids)]
        hits += [("GET", "/nicepay/return", {**ids, "imp_success": "true"})]
    random.Random(11).shuffle(hits)

    def one(hit: tuple[str, str, dict[str, str]]) -> tuple[int, str]:
        method, path, data = hit
        if method == "GET":
            answer = requests.get(url + path, params=data, timeout=30)
        else:
            answer = requests.post(url + path, json=data, timeout=30)
        return answer.status_code, answer.headers.get("X-Worker", "")

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, hits))


class _gunicorn:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory, self.env = directory, env
        self.ready = directory / "ready"

    def __enter__(self) -> str:
        self.ready.mkdir()
        hooks = self.directory / "hooks.py"
        hooks.write_text(HOOKS.format(ready=str(self.ready)))
        port = _free_port()
        self.log = (self.directory / "gunicorn.log").open("w")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "--workers", "2"),
                *("--bind", f"127.0.0.1:{port}", "--chdir", str(self.directory)),
                *("--config", str(hooks), "race_shop:create_app()"),
            ],
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 60
        while len(list(self.ready.iterdir())) < 2:
            assert self.process.poll() is None, (
                self.directory / "gunicorn.log"
            ).read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
