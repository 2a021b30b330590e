"""A small shop on flask-nicepay: products, checkout, orders, and an admin.

Run it on the embedded PortOne sandbox and a SQLite file::

    flask --app example_app run

Each order takes its stock (``SHOP_STOCK``, a mapping of product to count, sets
what the shop starts with) and each paid order gets a receipt, kept by the
plugin's signals in :mod:`example_app.shop_stock`. The admin at ``/admin`` is the
plugin's operator console behind ``SHOP_ADMIN_PASSWORD``.

With PortOne keys in the environment (``FLASK_NICEPAY_IMP_KEY`` and friends, read by
``app.config.from_prefixed_env()``) the same code takes real payments.

With ``FLASK_NICEPAY_PROCESSING=celery`` (and ``pip install 'Flask-NicePay[celery]'``)
the doors answer at once and Celery workers process the payments; the broker is
``FLASK_CELERY__broker_url`` (default ``redis://127.0.0.1:6379/0``)::

    FLASK_NICEPAY_PROCESSING=celery flask --app example_app run
    FLASK_NICEPAY_PROCESSING=celery celery -A example_app.worker worker
"""

from __future__ import annotations

import logging
import os
import typing as t

from flask import Flask

from flask_nicepay import NicePay

from . import admin
from . import shop

nicepay = NicePay(on_transition=shop.mirror_transition)


def create_app(test_config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """The shop's application factory."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SHOP_SECRET_KEY", "example-shop-not-secret"),
        SHOP_DATABASE_URI=None,
        NICEPAY_SUCCESS_URL="/orders/{merchant_uid}",
        NICEPAY_FAILURE_URL="/orders/{merchant_uid}",
        # Used with NICEPAY_PROCESSING = "celery" only; Celery's own setting names.
        CELERY={"broker_url": "redis://127.0.0.1:6379/0", "task_ignore_result": True},
    )
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    # The shop and the plugin share one database, so the shop's order row moves
    # in the same transaction as the payment's state (shop.mirror_transition).
    database = app.config["SHOP_DATABASE_URI"] or (
        "sqlite:///" + os.path.join(app.instance_path, "shop.sqlite3")
    )
    app.config["NICEPAY_DATABASE_URI"] = (
        app.config.get("NICEPAY_DATABASE_URI") or database
    )
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    nicepay.init_app(app)
    if app.config.get("NICEPAY_PROCESSING") == "celery":
        from flask_nicepay.tasks import celery_init_app

        celery_init_app(app)
    shop.init_app(app, nicepay)
    admin.init_app(app, nicepay)
    return app
