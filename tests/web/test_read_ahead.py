"""The order read ahead of the PortOne lookup.

On PostgreSQL the statement that records a notification also reads the order its
hint names, before PortOne is asked. That read can be stale by the time the answer
comes, and the hint can name another order than the payment's. Neither may change
what the notification does.
"""

from __future__ import annotations

import dataclasses

from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import OrderState
from flask_nicepay.inbox import Outcome
from flask_nicepay.sandbox import Sandbox

from .webshop import PORTONE_IP
from .webshop import get_order
from .webshop import inbox
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import pay_in_window
from .webshop import state


def _pay(client: FlaskClient, sandbox: Sandbox, uid: str) -> str:
    _, payment = pay_in_window(client, sandbox, f"/nicepay/checkout/{uid}")
    return str(payment["imp_uid"])


def _hook(client: FlaskClient, imp_uid: str, merchant_uid: str) -> int:
    body = {"imp_uid": imp_uid, "merchant_uid": merchant_uid, "status": "paid"}
    environ = {"REMOTE_ADDR": PORTONE_IP}
    return client.post("/nicepay/webhook", json=body, environ_base=environ).status_code


@on_both_databases
def test_a_stale_read_ahead_costs_a_retry_not_a_second_transition(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    """Another worker paid the order between the read and the answer: the swap on
    the old version fails, the order is read again, and nothing more happens."""
    uid = new_order(app)
    before = get_order(app, uid)
    imp_uid = _pay(client, sandbox, uid)
    assert _hook(client, imp_uid, uid) == 200  # the other worker's delivery
    assert get_order(app, uid).version == before.version + 1

    result = state(app).payments.reconciler.sync(
        imp_uid=imp_uid, source="webhook", known=before
    )

    assert result.outcome is Outcome.NOOP
    assert result.order.state is OrderState.PAID
    assert [row["event"] for row in state(app).payments.orders.history(uid)] == ["pay"]


@on_both_databases
def test_a_read_ahead_of_an_order_in_another_state_is_not_trusted_for_a_change(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    """The read says the order is still ``ready`` but it was failed meanwhile:
    the swap on the old version fails, and the payment is applied to the order
    as it is."""
    uid = new_order(app)
    imp_uid = _pay(client, sandbox, uid)
    current = get_order(app, uid)
    stale = dataclasses.replace(current, version=current.version - 1)

    result = state(app).payments.reconciler.sync(
        imp_uid=imp_uid, source="webhook", known=stale
    )

    assert result.outcome is Outcome.APPLIED
    after = get_order(app, uid)
    assert (after.state, after.version) == (OrderState.PAID, current.version + 1)
    assert len(state(app).payments.orders.history(uid)) == 1


@on_both_databases
def test_a_hint_naming_another_order_reads_nothing_for_the_payment(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    """A webhook whose ``merchant_uid`` is another order's: the payment pays its
    own order, and the order the hint named is untouched."""
    named, paid = new_order(app), new_order(app)
    imp_uid = _pay(client, sandbox, paid)
    named_before = get_order(app, named)

    assert _hook(client, imp_uid, named) == 200

    assert get_order(app, paid).state is OrderState.PAID
    assert get_order(app, named) == named_before
    [entry] = inbox(app, merchant_uid=paid)
    assert entry.outcome == "applied"
