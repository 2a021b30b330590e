"""Many payments, each delivered five times at once, processed by Celery workers.

Every payment's webhook arrives three times, its PC completion and its mobile
return once, all shuffled together, at two gunicorn workers in celery mode; two
Celery worker processes (two children each) process what the doors recorded.
However the deliveries land and the tasks interleave, each order takes exactly
one transition and sends exactly one signal. ``NICEPAY_TEST_CELERY_PAYMENTS``
sets how many payments (120 by default; the issue's figure is 500).
"""

from __future__ import annotations

import concurrent.futures
import os
import random
import threading

import pytest
import requests

from .knocks import KNOCKS
from .knocks import View
from .knocks import knock_over_http
from .knocks import pay
from .stack import Shop
from .stack import gunicorn
from .stack import history
from .stack import outcomes
from .stack import settled
from .stack import wait_for
from .stack import workers

PAYMENTS = int(os.environ.get("NICEPAY_TEST_CELERY_PAYMENTS", "120"))
#: What each door answers in celery mode: at once, nothing processed yet.
ANSWERS = {"webhook": 200, "pc": 202, "mobile": 302}

pytestmark = pytest.mark.slow


def test_every_door_at_once_one_transition_and_one_signal_each(
    shop: Shop, sandbox_url: str
) -> None:
    app = shop.app()
    views = _paid(app, sandbox_url)
    hits = [(view, door) for view in views for door in KNOCKS]
    random.Random(12).shuffle(hits)
    with workers(shop, count=2, concurrency=2), gunicorn(shop) as url:
        statuses = _fire(url, hits)
        wait_for(lambda: settled(app), "the workers to process every row", 180)
    assert statuses == [ANSWERS[door] for _, door in hits]
    uids = [view.merchant_uid for view in views]
    assert history(app, uids) == {(uid, "pay"): 1 for uid in uids}
    assert shop.signals() == {("payment_paid", uid): 1 for uid in uids}
    found = outcomes(app)
    assert found == {"applied": PAYMENTS, "noop": 4 * PAYMENTS}, found


def _paid(app: object, sandbox_url: str) -> list[View]:
    local = threading.local()

    def one(_: int) -> View:
        local.session = getattr(local, "session", None) or requests.Session()
        return pay(app, sandbox_url, session=local.session)  # type: ignore[arg-type]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(PAYMENTS)))


def _fire(url: str, hits: list[tuple[View, str]]) -> list[int]:
    local = threading.local()

    def one(hit: tuple[View, str]) -> int:
        local.session = getattr(local, "session", None) or requests.Session()
        return knock_over_http(url, hit[0], hit[1], local.session)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, hits))
