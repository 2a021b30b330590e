"""The plugin in celery mode, for ``bench/webhook.py --celery``.

The web side (``gunicorn 'apps_celery:plugin()'``) and the workers (``celery -A
apps_celery worker``) build the same app from the environment: the ``NICEPAY_*``
settings of :mod:`apps`, plus ``BENCH_BROKER`` (the broker's URL), ``BENCH_QUEUE``
(a queue of the run's own) and ``BENCH_SIGNALS`` (a file each worker appends
``payment_paid``'s order and the moment it was sent to).
"""

from __future__ import annotations

import os
import time
import typing as t
from pathlib import Path

from flask import Flask

import flask_nicepay.tasks  # noqa: F401  (the plugin's tasks, for the workers)
from flask_nicepay import NicePay
from flask_nicepay.signals import payment_paid
from flask_nicepay.tasks import celery_init_app


def plugin() -> Flask:
    """The plugin with ``NICEPAY_PROCESSING = "celery"``, from the environment."""
    env = os.environ
    app = Flask("bench_celery")
    app.config.update({k: v for k, v in env.items() if k.startswith("NICEPAY_")})
    app.config.update(
        NICEPAY_PROCESSING="celery",
        CELERY={
            "broker_url": env["BENCH_BROKER"],
            "task_default_queue": env["BENCH_QUEUE"],
            "task_ignore_result": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
        },
    )
    NicePay(app)
    celery_init_app(app)
    signals = Path(env["BENCH_SIGNALS"])

    def paid(sender: Flask, order: t.Any = None, **extra: t.Any) -> None:
        with signals.open("a") as out:
            out.write(f"{order.merchant_uid} {time.time():.6f}\n")

    payment_paid.connect(paid, app, weak=False)
    return app


def __getattr__(name: str) -> t.Any:
    """``celery -A apps_celery`` finds ``celery_app``: built on first use only, so
    that gunicorn importing this module makes no second app."""
    if name == "celery_app":
        return plugin().extensions["celery"]
    raise AttributeError(name)


def plugin_without_hand_off() -> Flask:
    """:func:`plugin` with the hand-off to the relay replaced by nothing: what the
    webhook route costs when it only records the row. A measurement only (for
    ``bench/intake_cpu.py``): such an app queues nothing, and its rows wait for
    the janitor."""
    import flask_nicepay.doors

    flask_nicepay.doors.hand_off = lambda entry_id, app=None: True
    return plugin()
