"""The broker forgets: its queue flushed, or down when a notification arrives.

The inbox is the truth, the broker only a reminder. Notifications recorded while
their messages are lost stay ``received``; the janitor's ``stale_inbox`` pass, run
by Celery beat on a worker, finds them once their grace has passed, and each order
is paid once. The doors never refuse a notification they recorded because the broker did
not take it.
"""

from __future__ import annotations

import logging
import time

import pytest
from flask import Flask

from flask_nicepay.janitor import PASSES

from .knocks import knock
from .knocks import pay
from .stack import Shop
from .stack import beat
from .stack import free_port
from .stack import history
from .stack import outcomes
from .stack import settled
from .stack import wait_for
from .stack import workers

PAYMENTS = 6


@pytest.mark.slow
@pytest.mark.parametrize("broker_kind", ["redis", "amqp"])
def test_a_flushed_queue_loses_nothing(shop: Shop, sandbox_url: str) -> None:
    # Beat runs only the pass this test is about, every second, with no grace.
    periods = {name: 0 for name in PASSES} | {"stale_inbox": 1}
    shop.settings.update(janitor_grace=0, janitor_every=periods)
    app = shop.app()
    views = [pay(app, sandbox_url) for _ in range(PAYMENTS)]
    for view in views:
        assert knock(app, view, "webhook").status_code == 200
    assert shop.queue_length(app) == PAYMENTS
    assert shop.purge(app) == PAYMENTS  # the broker forgets every one
    uids = [view.merchant_uid for view in views]
    with workers(shop):
        assert shop.queue_length(app) == 0
        time.sleep(2)  # the workers have nothing to do: the rows wait
        assert outcomes(app) == {"received": PAYMENTS}
        with beat(shop) as log:
            wait_for(lambda: settled(app), "the janitor to process the rows")
        assert "flask_nicepay.janitor_pass" in log.read_text()
    assert history(app, uids) == {(uid, "pay"): 1 for uid in uids}
    assert shop.signals() == {("payment_paid", uid): 1 for uid in uids}
    assert outcomes(app) == {"applied": PAYMENTS}


def test_the_janitor_leaves_rows_within_their_grace(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    view = pay(app, sandbox_url)
    assert knock(app, view, "webhook").status_code == 200
    shop.purge(app)
    with app.app_context():
        report = app.extensions["nicepay"].payments.janitor.run_pass("stale_inbox")
    assert report.ok and not any(report.counts.values())
    assert outcomes(app) == {"received": 1}


def test_broker_down_the_webhook_is_still_answered_and_kept(
    shop: Shop, sandbox_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    shop.settings["broker"] = f"redis://127.0.0.1:{free_port()}/1"  # nobody there
    app = shop.app()
    view = pay(app, sandbox_url)
    with caplog.at_level(logging.ERROR, "flask_nicepay"):
        answer = knock(app, view, "webhook")
    assert answer.status_code == 200
    assert answer.json["outcome"] == "received"
    assert outcomes(app) == {"received": 1}
    assert f"Notifications {answer.json['inbox_id']} recorded but not queued" in (
        caplog.text
    )
