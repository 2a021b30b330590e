"""The two WSGI apps the webhook benchmark serves with gunicorn.

Both read the same ``NICEPAY_*`` environment variables (see
``_stack.app_environment``) and work on the same ``nicepay_orders`` rows:

* :func:`plugin`: a Flask app with flask-nicepay on the standalone sandbox; its
  webhook route is ``POST /nicepay/webhook``.
* :func:`handwritten`: what a careful engineer writes by hand, the reference the
  plugin is measured against: ``POST /hook`` looks the payment up (one GET, with an
  access token fetched once per process on a kept-alive session), checks the
  amount, and marks the order paid in one transaction of two statements.

Serve with ``gunicorn --pythonpath bench 'apps:plugin()'``.
"""

from __future__ import annotations

import os
import threading
import typing as t

import requests
import sqlalchemy as sa
from flask import Flask
from flask import jsonify
from flask import request

from flask_nicepay import NicePay


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("NICEPAY_")}


def plugin(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """The plugin in standalone-sandbox mode, configured from the environment.

    :param config: ``NICEPAY_*`` settings; the environment's by default.
    """
    app = Flask("bench_plugin")
    app.config.update(_environment() if config is None else config)
    NicePay(app)
    return app


# -- the hand-written handler -------------------------------------------------------

#: The plugin's order table, as much of it as this handler needs. Amounts are
#: stored as hundredths of a won (the plugin's ``Money`` type).
_orders = sa.Table(
    "nicepay_orders",
    sa.MetaData(),
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("merchant_uid", sa.String(40)),
    sa.Column("state", sa.String(24)),
    sa.Column("version", sa.Integer),
    sa.Column("amount", sa.BigInteger),
    sa.Column("imp_uid", sa.Text),
    sa.Column("paid_amount", sa.BigInteger),
)


class _PortOne:
    """``GET /payments/{imp_uid}`` with one token per process, on one session."""

    def __init__(self, base_url: str, key: str, secret: str) -> None:
        self.base_url, self._key, self._secret = base_url, key, secret
        self._local = threading.local()  # a Session is not shared across threads
        self._token: str | None = None

    @property
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return t.cast(requests.Session, session)

    def _access_token(self) -> str:
        if self._token is None:
            answer = self._session.post(
                self.base_url + "/users/getToken",
                json={"imp_key": self._key, "imp_secret": self._secret},
                timeout=10,
            )
            answer.raise_for_status()
            self._token = str(answer.json()["response"]["access_token"])
        return self._token

    def payment(self, imp_uid: str) -> dict[str, t.Any]:
        answer = self._session.get(
            f"{self.base_url}/payments/{imp_uid}",
            headers={"Authorization": self._access_token()},
            timeout=10,
        )
        answer.raise_for_status()
        return dict(answer.json()["response"])


def handwritten() -> Flask:
    """The reference handler: one lookup, then one SELECT and one UPDATE."""
    env = os.environ
    portone = _PortOne(
        env["NICEPAY_SANDBOX_URL"], env["NICEPAY_IMP_KEY"], env["NICEPAY_IMP_SECRET"]
    )
    engine = sa.create_engine(env["NICEPAY_DATABASE_URI"])
    app = Flask("bench_handwritten")

    @app.post("/hook")
    def hook() -> tuple[t.Any, int]:
        body = request.get_json(force=True)
        payment = portone.payment(body["imp_uid"])
        return _mark_paid(engine, body["merchant_uid"], payment)

    return app


def _mark_paid(
    engine: sa.Engine, merchant_uid: str, payment: dict[str, t.Any]
) -> tuple[t.Any, int]:
    with engine.begin() as conn:
        order = conn.execute(
            sa.select(_orders.c.id, _orders.c.state, _orders.c.amount).where(
                _orders.c.merchant_uid == merchant_uid
            )
        ).one_or_none()
        if order is None:
            return jsonify(outcome="unknown_order"), 200
        if order.state == "paid":
            return jsonify(outcome="duplicate"), 200
        hundredths = round(payment["amount"] * 100)
        if payment["status"] != "paid" or hundredths != order.amount:
            return jsonify(outcome="mismatch"), 200
        conn.execute(
            sa.update(_orders)
            .where(_orders.c.id == order.id, _orders.c.state == order.state)
            .values(
                state="paid",
                version=_orders.c.version + 1,
                imp_uid=payment["imp_uid"],
                paid_amount=hundredths,
            )
        )
    return jsonify(outcome="applied"), 200


def trivial() -> Flask:
    """A route that reads the JSON body and answers, and nothing else: what Flask
    and gunicorn cost per request on their own (``POST /nicepay/webhook``)."""
    app = Flask("bench_trivial")

    @app.post("/nicepay/webhook")
    def hook() -> tuple[t.Any, int]:
        body = request.get_json(force=True)
        return jsonify(outcome="received", imp_uid=body.get("imp_uid")), 200

    return app
