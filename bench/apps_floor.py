"""The invariants' floor: the plugin's design written by hand, in the fewest steps.

:func:`floor` keeps what the plugin promises for a webhook and nothing more, with
no framework of its own between Flask and the database:

1. the notification is recorded before anything is looked up (persist before
   process): one statement that inserts the row, committed without waiting for the
   disk, and reads the order it names, as the plugin's does;
2. the payment is looked up as by the hand-written handler (``apps._PortOne``);
3. the outcome is written: for a duplicate, one statement that marks the row
   ``noop``; for a first delivery, one statement that compare-and-swaps the order,
   writes its history row and marks the row ``applied``, committed durably.

It masks card-number shapes in the body (the plugin's ``redact_bytes``) and keeps
the hint as text PostgreSQL accepts, as the inbox must; it validates nothing else,
signals nothing and keeps no console. So its throughput is the most any
implementation of the design can reach on this stack, and ``bench/webhook.py``
reports the plugin against it, besides against the hand-written handler that keeps
no record at all.

Serve with ``gunicorn --pythonpath bench 'apps_floor:floor()'``; ``POST /hook``.
"""

from __future__ import annotations

import datetime as dt
import os
import typing as t

import sqlalchemy as sa
from apps import _PortOne
from flask import Flask
from flask import jsonify
from flask import request

from flask_nicepay.portone.redact import redact_bytes

#: Insert the row (``received``), committed without a flush, and read its order.
_RECORD = sa.text(
    """
    WITH entry AS (
        INSERT INTO nicepay_inbox (kind, received_at, remote_addr, method, path,
            content_type, body, body_truncated, hint_imp_uid, hint_merchant_uid,
            hint_status, outcome, attempts)
        VALUES ('webhook', :now, :remote_addr, 'POST', :path, :content_type, :body,
            false, :imp_uid, :merchant_uid, :status, 'received', 0)
        RETURNING id, set_config('synchronous_commit', 'off', true)
    )
    SELECT entry.id AS entry_id, o.id, o.state, o.version, o.amount, o.imp_uid
    FROM entry LEFT JOIN nicepay_orders o ON o.merchant_uid = :merchant_uid
    """
)
#: A duplicate: the row's outcome, and nothing else.
_NOOP = sa.text(
    """
    UPDATE nicepay_inbox SET outcome = 'noop', processed_at = :now,
        attempts = attempts + 1, imp_uid = :imp_uid, merchant_uid = :merchant_uid
    WHERE id = :entry_id
    """
)
#: A first delivery: the swap, its history row and the row's outcome, at once.
_APPLY = sa.text(
    """
    WITH swapped AS (
        UPDATE nicepay_orders SET state = 'paid', version = version + 1,
            imp_uid = :imp_uid, paid_amount = :paid, pay_method = :pay_method,
            paid_at = :now, receipt_url = :receipt_url, updated_at = :now
        WHERE id = :order_id AND version = :version
        RETURNING id, merchant_uid
    ), history AS (
        INSERT INTO nicepay_history (order_id, merchant_uid, from_state, to_state,
            event, source, imp_uid, inbox_id, created_at)
        SELECT id, merchant_uid, :from_state, 'paid', 'pay', 'webhook', :imp_uid,
            :entry_id, :now FROM swapped
    )
    UPDATE nicepay_inbox SET outcome = 'applied', processed_at = :now,
        attempts = attempts + 1, imp_uid = :imp_uid, merchant_uid = :merchant_uid
    WHERE id = :entry_id AND EXISTS (SELECT 1 FROM swapped)
    """
)


def _text(value: t.Any, length: int) -> str | None:
    """A hint as text PostgreSQL stores (no NUL), cut to its column."""
    return None if value is None else str(value).replace("\x00", "")[:length]


def floor() -> Flask:
    """The design's floor; see the module's docstring."""
    env = os.environ
    portone = _PortOne(
        env["NICEPAY_SANDBOX_URL"], env["NICEPAY_IMP_KEY"], env["NICEPAY_IMP_SECRET"]
    )
    engine = sa.create_engine(env["NICEPAY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    app = Flask("bench_floor")

    @app.post("/hook")
    def hook() -> tuple[t.Any, int]:
        raw = request.get_data(cache=True)
        body = request.get_json(force=True)
        hint = {
            "imp_uid": _text(body.get("imp_uid"), 64),
            "merchant_uid": _text(body.get("merchant_uid"), 64),
            "status": _text(body.get("status"), 32),
        }
        with engine.connect() as conn:
            now = dt.datetime.now(dt.UTC)
            entry = conn.execute(
                _RECORD,
                {
                    **hint,
                    "now": now,
                    "remote_addr": request.remote_addr,
                    "path": request.path,
                    "content_type": request.content_type,
                    "body": redact_bytes(raw),
                },
            ).one()
            payment = portone.payment(str(hint["imp_uid"]))
            return _outcome(conn, entry, payment)

    return app


def _outcome(
    conn: sa.Connection, entry: sa.Row[t.Any], payment: dict[str, t.Any]
) -> tuple[t.Any, int]:
    """Write what the payment came to, in one statement."""
    now = dt.datetime.now(dt.UTC)
    common = {
        "now": now,
        "entry_id": entry.entry_id,
        "imp_uid": payment["imp_uid"],
        "merchant_uid": payment["merchant_uid"],
    }
    if entry.state == "paid" and entry.imp_uid == payment["imp_uid"]:
        conn.execute(_NOOP, common)
        return jsonify(outcome="duplicate"), 200
    paid = round(payment["amount"] * 100)
    if entry.id is None or payment["status"] != "paid" or paid != entry.amount:
        return jsonify(outcome="mismatch"), 200  # not measured: never happens here
    written = conn.execute(
        _APPLY,
        {
            **common,
            "order_id": entry.id,
            "version": entry.version,
            "from_state": entry.state,
            "paid": paid,
            "pay_method": payment.get("pay_method"),
            "receipt_url": payment.get("receipt_url"),
        },
    )
    return jsonify(outcome="applied" if written.rowcount else "lost_race"), 200
