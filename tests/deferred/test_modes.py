"""Inline and celery modes, through the same lifecycles, end in the same truth.

Each test runs four times: inline and celery processing, each on a SQLite file
and on PostgreSQL. In celery mode a real worker process processes what the doors
recorded, and :meth:`Deployed.settle` waits until no row is left ``received``; in
inline mode the request already did it. The states, the history and the signals
must be the same either way.
"""

from __future__ import annotations

import dataclasses
import typing as t
from pathlib import Path

import pytest
import requests
from flask import Flask

from ..databases import fresh_postgres_engine
from ..databases import postgres_url
from .knocks import KNOCKS
from .knocks import View
from .knocks import knock
from .knocks import pay
from .stack import Shop
from .stack import broker_url
from .stack import history
from .stack import outcomes
from .stack import settled
from .stack import wait_for
from .stack import workers

pytestmark = pytest.mark.slow
POSTGRES = pytest.mark.postgres
MODES = [
    pytest.param(("inline", "sqlite"), id="inline-sqlite"),
    pytest.param(("inline", "postgres"), id="inline-postgres", marks=POSTGRES),
    pytest.param(("celery", "sqlite"), id="celery-sqlite"),
    pytest.param(("celery", "postgres"), id="celery-postgres", marks=POSTGRES),
]


@dataclasses.dataclass
class Deployed:
    """A shop in one mode, with its worker running in celery mode."""

    shop: Shop
    app: Flask
    mode: str
    sandbox_url: str

    def settle(self) -> None:
        """Wait until what the doors recorded has been processed."""
        if self.mode == "celery":
            wait_for(lambda: settled(self.app), "the worker to process every row")

    def deliver(self, view: View, *doors: str) -> list[int]:
        statuses = [knock(self.app, view, door).status_code for door in doors]
        self.settle()
        return statuses

    def state(self, uid: str) -> str:
        return str(self.app.extensions["nicepay"].payments.orders.get(uid).state)

    def signals(self, uid: str) -> dict[str, int]:
        return {name: n for (name, of), n in self.shop.signals().items() if of == uid}

    def control(self, endpoint: str, **body: t.Any) -> t.Any:
        answer = requests.post(self.sandbox_url + endpoint, json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()["response"]


@pytest.fixture(scope="module", params=MODES)
def deployed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sandbox_url: str,
) -> t.Iterator[Deployed]:
    mode, database = request.param
    directory = tmp_path_factory.mktemp(f"{mode}-{database}")
    shop = Shop(
        directory,
        _database(database, directory),
        broker_url("redis") if mode == "celery" else "memory://",
        sandbox_url=sandbox_url,
        processing=mode,
    )
    app = shop.app()
    if mode == "celery":
        with workers(shop, concurrency=2):
            yield Deployed(shop, app, mode, sandbox_url)
        shop.delete_queue(app)
    else:
        yield Deployed(shop, app, mode, sandbox_url)
    app.extensions["celery"].close()
    app.extensions["nicepay"].payments.engine.dispose()


def _database(database: str, directory: Path) -> str:
    if database == "sqlite":
        return f"sqlite:///{directory / 'shop.db'}"
    fresh_postgres_engine().dispose()
    return t.cast(str, postgres_url())


def test_the_webhook_pays_once_and_signals_once(deployed: Deployed) -> None:
    view = pay(deployed.app, deployed.sandbox_url)
    assert deployed.deliver(view, "webhook", "webhook") == [200, 200]
    uid = view.merchant_uid
    assert deployed.state(uid) == "paid"
    assert history(deployed.app, [uid]) == {(uid, "pay"): 1}
    assert deployed.signals(uid) == {"payment_paid": 1}


def test_every_door_one_transition(deployed: Deployed) -> None:
    view = pay(deployed.app, deployed.sandbox_url, channel="mobile")
    deployed.deliver(view, *KNOCKS)
    uid = view.merchant_uid
    assert deployed.state(uid) == "paid"
    assert history(deployed.app, [uid]) == {(uid, "pay"): 1}
    assert deployed.signals(uid) == {"payment_paid": 1}


def test_declined_then_paid(deployed: Deployed) -> None:
    declined = pay(deployed.app, deployed.sandbox_url, outcome="decline")
    uid = declined.merchant_uid
    deployed.deliver(declined, "webhook")
    assert deployed.state(uid) == "failed"
    paid = pay(deployed.app, deployed.sandbox_url, uid)
    deployed.deliver(paid, "webhook", "pc")
    assert deployed.state(uid) == "paid"
    assert deployed.signals(uid) == {"payment_failed": 1, "payment_paid": 1}


def test_vbank_issued_then_deposited(deployed: Deployed) -> None:
    view = pay(deployed.app, deployed.sandbox_url, pay_method="vbank")
    uid = view.merchant_uid
    deployed.deliver(view, "webhook", "pc")
    assert deployed.state(uid) == "vbank_issued"
    deposit = deployed.control("/_sandbox/deposit", imp_uid=view.payment["imp_uid"])
    deployed.deliver(view._replace(payment=deposit), "webhook", "webhook")
    assert deployed.state(uid) == "paid"
    assert deployed.signals(uid) == {"vbank_issued": 1, "payment_paid": 1}


def test_a_console_cancel_arrives_by_webhook(deployed: Deployed) -> None:
    view = pay(deployed.app, deployed.sandbox_url)
    deployed.deliver(view, "webhook")
    cancelled = deployed.control("/_sandbox/cancel", imp_uid=view.payment["imp_uid"])
    deployed.deliver(view._replace(payment=cancelled), "webhook", "webhook")
    uid = view.merchant_uid
    assert deployed.state(uid) == "cancelled"
    assert deployed.signals(uid) == {"payment_paid": 1, "payment_cancelled": 1}


def test_portone_down_then_back_pays_once(deployed: Deployed) -> None:
    """Inline answers 503 and is healed by a replay; celery heals by itself."""
    view = pay(deployed.app, deployed.sandbox_url)
    fault = {"kind": "503", "path": "/payments/*", "method": "GET", "times": 1000}
    deployed.control("/_sandbox/faults", **fault)
    try:
        status = knock(deployed.app, view, "webhook").status_code
        assert status == (503 if deployed.mode == "inline" else 200)
        wait_for(lambda: outcomes(deployed.app)["error"], "the processing to fail")
    finally:
        requests.delete(deployed.sandbox_url + "/_sandbox/faults", timeout=10)
    if deployed.mode == "inline":
        deployed.app.extensions["nicepay"].payments.notifications.replay_failed()
    wait_for(lambda: not outcomes(deployed.app)["error"], "the row to be healed")
    uid = view.merchant_uid
    assert deployed.state(uid) == "paid"
    assert history(deployed.app, [uid]) == {(uid, "pay"): 1}
    assert deployed.signals(uid) == {"payment_paid": 1}
