"""The example shop in celery mode, by configuration alone, with a real worker.

The web side records and answers; ``celery -A example_app.worker worker`` pays
the order, and the shop's own order row moves with it (``on_transition`` runs in
the worker, inside the transaction of the state change).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from example_app import create_app

from ..deferred.stack import Shop
from ..deferred.stack import Worker
from ..deferred.stack import broker_url
from ..deferred.stack import sandbox_server
from ..deferred.stack import settled
from ..deferred.stack import wait_for
from .test_shop import buy
from .test_shop import shop_status

pytest.importorskip("celery")


@pytest.mark.slow
def test_the_example_shop_pays_through_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox_server() as sandbox_url:
        shop = Shop(tmp_path, f"sqlite:///{tmp_path / 'shop.db'}", broker_url("redis"))
        shop.extra_env = {
            "FLASK_NICEPAY_PROCESSING": "celery",
            "FLASK_NICEPAY_SANDBOX_URL": sandbox_url,
            "FLASK_SHOP_DATABASE_URI": shop.settings["database"],
            "FLASK_CELERY__broker_url": shop.settings["broker"],
            "FLASK_CELERY__task_default_queue": shop.settings["queue"],
        }
        for key, value in shop.extra_env.items():
            monkeypatch.setenv(key, value)
        app = create_app({"TESTING": True})
        uid = buy(app)
        amount = app.extensions["nicepay"].payments.orders.get(uid).amount
        paid = requests.post(
            sandbox_url + "/_sandbox/checkout",
            json={"merchant_uid": uid, "amount": int(amount)},
            timeout=30,
        ).json()["response"]["payment"]
        hook = {"imp_uid": paid["imp_uid"], "merchant_uid": uid, "status": "paid"}
        assert app.test_client().post("/nicepay/webhook", json=hook).status_code == 200
        assert shop_status(app, uid) != "paid"
        worker = Worker(shop, concurrency=1, module="example_app.worker")
        try:
            wait_for(lambda: settled(app), "the worker to pay the order")
        finally:
            worker.stop()
            shop.delete_queue(app)
            app.extensions["celery"].close()
        assert shop_status(app, uid) == "paid"
        app.extensions["nicepay"].payments.engine.dispose()
