"""A worker killed in the middle of a task: the task runs again, the order moves once.

The sandbox holds PortOne's answer to the worker's payment lookup (a ``slow``
fault, over real HTTP), so the kill always lands inside the processing: after the
notification was taken from the queue and before anything was written. The task
acknowledges late and is given back when its worker is lost, so the broker hands
it out again and the order is paid, once, with one signal.
"""

from __future__ import annotations

import os
import signal

import pytest
import requests
from flask import Flask

from .knocks import knock
from .knocks import pay
from .stack import Shop
from .stack import Worker
from .stack import history
from .stack import outcomes
from .stack import settled
from .stack import wait_for
from .stack import workers

pytestmark = pytest.mark.slow


def _hold_the_lookup(sandbox_url: str) -> None:
    fault = {"kind": "slow", "path": "/payments/*", "method": "GET", "delay": 25}
    requests.post(sandbox_url + "/_sandbox/faults", json=fault, timeout=10)


def _lookup_held(sandbox_url: str) -> bool:
    """Whether the held lookup has arrived (its fault is used up)."""
    answer = requests.get(sandbox_url + "/_sandbox/faults", timeout=10)
    return not answer.json()["response"]["api"]


def _paid_once(shop: Shop, app: Flask, uid: str) -> None:
    wait_for(lambda: settled(app), "the redelivered task to run", 60)
    assert history(app, [uid]) == {(uid, "pay"): 1}
    assert shop.signals() == {("payment_paid", uid): 1}
    assert outcomes(app) == {"applied": 1}
    assert app.extensions["nicepay"].payments.orders.get(uid).state == "paid"


@pytest.mark.parametrize("broker_kind", ["redis", "amqp"])
def test_a_child_killed_mid_task_is_replaced_and_the_task_redelivered(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    view = pay(app, sandbox_url)
    _hold_the_lookup(sandbox_url)
    with workers(shop, concurrency=1) as [worker]:
        assert knock(app, view, "webhook").status_code == 200
        wait_for(lambda: _lookup_held(sandbox_url), "the worker to ask PortOne")
        assert outcomes(app) == {"received": 1}
        (child,) = worker.children()
        os.kill(child, signal.SIGKILL)
        _paid_once(shop, app, view.merchant_uid)
    assert "WorkerLostError" in worker.text()


@pytest.mark.parametrize("broker_kind", ["amqp"])
def test_a_whole_worker_killed_mid_task_its_task_goes_to_the_next(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    """The broker itself gives the task back when the worker's connection dies."""
    view = pay(app, sandbox_url)
    _hold_the_lookup(sandbox_url)
    first = Worker(shop, concurrency=1, name="first")
    try:
        assert knock(app, view, "webhook").status_code == 200
        wait_for(lambda: _lookup_held(sandbox_url), "the worker to ask PortOne")
        os.killpg(os.getpgid(first.process.pid), signal.SIGKILL)
    finally:
        first.stop(signal.SIGKILL)
    assert outcomes(app) == {"received": 1}
    with workers(shop, concurrency=1):
        _paid_once(shop, app, view.merchant_uid)
