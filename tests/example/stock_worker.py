"""Runs in a separate process: one shop worker handling signals for many orders.

Used by test_stock.py to deliver the same ``payment_paid``, ``payment_failed`` or
``vbank_expired`` from several processes at once, as a replayed notification or a
second receiver would; its own interpreter, engine and connections.
"""

from __future__ import annotations

import traceback
import typing as t

from example_app import shop_stock
from flask_nicepay.db import make_engine
from flask_nicepay.store import Store


def settle(
    db_url: str,
    moves: list[tuple[str, str]],
    barrier: t.Any,
    results: t.Any,
) -> None:
    """Sell (``paid``) or release each ``(kind, merchant_uid)``, after all
    workers are ready; report how many moves this process won."""
    won = 0
    try:
        engine = make_engine(db_url)
        store = Store(engine)
        orders = {uid: store.get(uid) for kind, uid in moves if kind == "paid"}
        barrier.wait(timeout=60)
        for kind, uid in moves:
            if kind == "paid":
                won += shop_stock.sell(engine, orders[uid])
            else:
                won += shop_stock.release(engine, uid)
        engine.dispose()
        results.put({"won": won, "error": None})
    except BaseException:
        results.put({"won": won, "error": traceback.format_exc()})


def expire(config: dict[str, t.Any], barrier: t.Any, results: t.Any) -> None:
    """Run the store's virtual-account expiry, after all workers are ready;
    report the orders this process expired."""
    from example_app import create_app
    from example_app import nicepay

    try:
        app = create_app(config)
        with app.app_context():
            barrier.wait(timeout=60)
            expired = [order.merchant_uid for order in nicepay.expire_vbanks()]
        results.put({"expired": expired, "error": None})
    except BaseException:
        results.put({"expired": [], "error": traceback.format_exc()})
