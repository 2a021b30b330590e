"""The plugin app with a store's side effects, for the proof scripts.

:func:`receipts` is ``apps.plugin()`` plus what a store hangs on the plugin:

* an ``on_transition`` hook that writes a row into ``bench_receipts`` inside the
  transaction of every state change (the store's own order, updated with the
  payment's);
* a ``payment_paid`` receiver that writes a row into ``bench_signals`` (the
  e-mail a store sends once).

Neither table has a unique constraint, on purpose: a transition or a signal
that happened twice leaves two rows, and the scripts count rows.

Serve with ``gunicorn --pythonpath bench 'apps_receipts:receipts()'``; call
:func:`create_tables` once before the workers start.
"""

from __future__ import annotations

import os
import typing as t

import sqlalchemy as sa
from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay.signals import payment_paid

if t.TYPE_CHECKING:
    from flask_nicepay.store import Order
    from flask_nicepay.store import Transition

metadata = sa.MetaData()
receipt_rows = sa.Table(
    "bench_receipts",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("merchant_uid", sa.String(40), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("to_state", sa.String(24), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
)
signal_rows = sa.Table(
    "bench_signals",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("merchant_uid", sa.String(40), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
)


def create_tables(engine: sa.Engine) -> None:
    """Create the store-side tables (once, before any worker starts)."""
    metadata.create_all(engine)


def _record_transition(connection: sa.Connection, transition: Transition) -> None:
    # Same connection, same transaction: rolled back with a lost compare-and-swap.
    connection.execute(
        sa.insert(receipt_rows).values(
            merchant_uid=transition.order.merchant_uid,
            event=transition.event,
            to_state=transition.to_state.value,
            pid=os.getpid(),
        )
    )


def _environment() -> dict[str, t.Any]:
    config: dict[str, t.Any] = {
        k: v for k, v in os.environ.items() if k.startswith("NICEPAY_")
    }
    if "NICEPAY_TIMEOUT" in config:  # the environment holds text; the app seconds
        config["NICEPAY_TIMEOUT"] = float(config["NICEPAY_TIMEOUT"])
    return config


def receipts(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """The plugin, its receipts hook and its signal receiver.

    :param config: ``NICEPAY_*`` settings; the environment's by default.
    """
    app = Flask("bench_receipts")
    app.config.update(_environment() if config is None else config)
    NicePay(app, on_transition=_record_transition)
    engine = app.extensions["nicepay"].payments.engine

    def paid(sender: Flask, order: Order, **extra: t.Any) -> None:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(signal_rows).values(
                    merchant_uid=order.merchant_uid, pid=os.getpid()
                )
            )

    payment_paid.connect(paid, sender=app, weak=False)
    return app
