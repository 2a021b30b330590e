"""The store the deferred-processing tests run: the same app in every process.

The test's own process, gunicorn's workers and each Celery worker build it from
one JSON document in ``DEFERRED_SHOP`` (or the mapping given), so they share the
database, the standalone sandbox and the broker's queue. Every payment signal is
appended to a file, from whichever process sent it.
"""

from __future__ import annotations

import json
import os
import typing as t
from pathlib import Path

from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay import signals
from flask_nicepay.deferred import PROCESS_TASK
from flask_nicepay.tasks import beat_schedule
from flask_nicepay.tasks import celery_init_app

ENV = "DEFERRED_SHOP"
SIGNALS = (
    "payment_paid",
    "payment_failed",
    "vbank_issued",
    "payment_cancelled",
    "payment_mismatch",
)


def create_app(settings: t.Mapping[str, t.Any] | None = None) -> Flask:
    shop = dict(settings or json.loads(os.environ[ENV]))
    app = Flask("deferred_shop", instance_path=shop["instance"])
    app.config.update(
        SECRET_KEY="deferred-shop",
        NICEPAY_SANDBOX_URL=shop["sandbox_url"],
        NICEPAY_DATABASE_URI=shop["database"],
        NICEPAY_PROCESSING=shop["processing"],
        NICEPAY_JANITOR_GRACE=shop.get("janitor_grace", 300),
        NICEPAY_CELERY_BATCH=shop.get("celery_batch", 10),
        CELERY={
            "broker_url": shop["broker"],
            "task_default_queue": shop["queue"],
            "task_ignore_result": True,
            "broker_connection_retry_on_startup": True,
            "worker_prefetch_multiplier": 1,
            "task_annotations": {PROCESS_TASK: {"backoff_base": 0.25}},
            "beat_schedule": beat_schedule(shop.get("janitor_every")),
        },
    )
    nicepay = NicePay(app)
    nicepay.state(app).payments.client.backoff = 0
    celery_init_app(app)
    _record_signals(app, Path(shop["signals"]))
    return app


def _record_signals(app: Flask, path: Path) -> None:
    def recorder(name: str) -> t.Callable[..., None]:
        def record(sender: Flask, order: t.Any = None, **extra: t.Any) -> None:
            with path.open("a") as out:
                out.write(f"{name} {order.merchant_uid}\n")

        return record

    for name in SIGNALS:
        getattr(signals, name).connect(recorder(name), app, weak=False)
