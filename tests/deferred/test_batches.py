"""A burst goes to the workers in batches, and each notification is processed once.

The doors hand their rows to the process's relay, which publishes what waits
together (``NICEPAY_CELERY_BATCH`` at most per message). A row of a batch that
cannot reach PortOne is retried by a task of its own; the others go on.
"""

from __future__ import annotations

import pytest
import requests
from flask import Flask

from flask_nicepay.deferred import flush

from .knocks import View
from .knocks import knock
from .knocks import knock_over_http
from .knocks import pay
from .stack import Shop
from .stack import gunicorn
from .stack import history
from .stack import outcomes
from .stack import settled
from .stack import wait_for
from .stack import workers

BURST = 24


def _burst(app: Flask, views: list[View]) -> None:
    """Every webhook at once, as far as one process's relay can tell."""
    for view in views:
        assert knock(app, view, "webhook", wait=False).status_code == 200
    assert flush(app)


@pytest.mark.slow
def test_a_burst_shares_messages_and_pays_each_order_once(
    shop: Shop, sandbox_url: str
) -> None:
    shop.settings["celery_batch"] = 5
    app = shop.app()
    views = [pay(app, sandbox_url) for _ in range(BURST)]
    _burst(app, views)
    messages = shop.queue_length(app)
    assert BURST / 5 <= messages < BURST  # batches, none over the limit
    assert outcomes(app) == {"received": BURST}
    with workers(shop, concurrency=2) as [worker]:
        wait_for(lambda: settled(app), "the workers")
        wait_for(lambda: worker.text().count("succeeded") == messages, "every task")
    assert "flask_nicepay.process_notifications" in worker.text()
    uids = [view.merchant_uid for view in views]
    assert history(app, uids) == {(uid, "pay"): 1 for uid in uids}
    assert shop.signals() == {("payment_paid", uid): 1 for uid in uids}
    assert outcomes(app) == {"applied": BURST}


@pytest.mark.slow
def test_a_row_of_a_batch_that_cannot_reach_portone_is_retried_alone(
    shop: Shop, sandbox_url: str
) -> None:
    app = shop.app()
    views = [pay(app, sandbox_url) for _ in range(6)]
    stuck = views[3].payment["imp_uid"]
    # Three refusals: the client's own attempts (one and two repeats) all fail.
    fault = {"kind": "503", "path": f"/payments/{stuck}", "method": "GET", "times": 3}
    shop.control(sandbox_url, "/_sandbox/faults", fault)
    _burst(app, views)
    assert shop.queue_length(app) < len(views)
    with workers(shop, concurrency=1) as [worker]:
        wait_for(lambda: outcomes(app) == {"applied": 6}, "the retry")
    log = worker.text()
    assert "flask_nicepay.process_notifications" in log
    # The stuck row went on alone, as the single task with its own backoff.
    assert "flask_nicepay.process_notification[" in log
    uids = [view.merchant_uid for view in views]
    assert history(app, uids) == {(uid, "pay"): 1 for uid in uids}
    assert shop.signals() == {("payment_paid", uid): 1 for uid in uids}


@pytest.mark.slow
def test_a_web_process_stopped_at_once_publishes_what_its_relay_held(
    shop: Shop, sandbox_url: str
) -> None:
    """gunicorn stopped right after the last answer: the worker process's exit
    sends what its relay still held, so no row waits for the janitor."""
    app = shop.app()
    views = [pay(app, sandbox_url) for _ in range(10)]
    with gunicorn(shop, count=1) as url, requests.Session() as session:
        for view in views:
            assert knock_over_http(url, view, "webhook", session) == 200
    assert outcomes(app) == {"received": len(views)}
    with workers(shop, concurrency=1):
        wait_for(lambda: settled(app), "every row's message", timeout=30)
    assert outcomes(app) == {"applied": len(views)}
