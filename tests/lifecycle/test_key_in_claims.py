"""Paying an existing order by key-in: the claim that lets one call reach PortOne,
its expiry, and the look-up before a retry after a lost answer. On a SQLite file
and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import typing as t

import flask
import pytest
import sqlalchemy as sa

from flask_nicepay import InvalidTransitionError
from flask_nicepay import tables
from flask_nicepay.key_in import CLAIM_LIFETIME
from flask_nicepay.key_in import PaymentInProgressError
from flask_nicepay.key_in import release_claim
from flask_nicepay.key_in import take_claim
from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.portone import Card
from flask_nicepay.portone import CardError
from flask_nicepay.portone import NoResponseError
from flask_nicepay.portone import PaymentDeclinedError
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.store import UnknownOrderError

GOOD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
DECLINED = Card("4000-0000-0000-9995", "2030-12", "900101", "12")
NOT_AUTHENTICATED = Card("4000-0000-0000-0002", "2030-12", "900101", "12")
ONETIME = "/subscribe/payments/onetime"


@pytest.fixture
def onetime_calls() -> t.Iterator[list[str]]:
    """Every key-in call that reached the sandbox, answered or not."""
    calls: list[str] = []

    def count(sender: t.Any, **extra: t.Any) -> None:
        if flask.request.path == ONETIME:
            calls.append(flask.request.method)

    flask.request_started.connect(count)
    yield calls
    flask.request_started.disconnect(count)


def ready_order(service: Payments, amount: int = 30_000) -> str:
    return service.orders.create(amount=amount, name="키인").merchant_uid


def claim_status(service: Payments, uid: str) -> str:
    query = sa.select(tables.key_in_claims.c.status).where(
        tables.key_in_claims.c.merchant_uid == uid
    )
    with service.engine.connect() as conn:
        return str(conn.execute(query).scalar_one())


def test_an_order_is_paid_at_its_own_amount(
    service: Payments, sandbox: Sandbox
) -> None:
    uid = ready_order(service, 30_000)
    order = service.billing.pay_order_key_in(uid, GOOD)
    assert order.state is OrderState.PAID and order.paid_amount == 30_000
    assert service.client.find_payment(uid).amount == 30_000
    assert claim_status(service, uid) == "done"


def test_a_card_not_authenticated_leaves_the_order_ready_to_retry(
    service: Payments, sandbox: Sandbox
) -> None:
    uid = ready_order(service)
    with pytest.raises(CardError):
        service.billing.pay_order_key_in(uid, NOT_AUTHENTICATED)
    order = service.orders.get(uid)
    assert order is not None and order.state is OrderState.READY
    assert sandbox.payments_count() == 0
    assert claim_status(service, uid) == "done"
    assert service.billing.pay_order_key_in(uid, GOOD).state is OrderState.PAID


def test_a_declined_order_may_be_paid_with_another_card(
    service: Payments, sandbox: Sandbox
) -> None:
    uid = ready_order(service)
    with pytest.raises(PaymentDeclinedError):
        service.billing.pay_order_key_in(uid, DECLINED)
    order = service.orders.get(uid)
    assert order is not None and order.state is OrderState.FAILED
    assert service.billing.pay_order_key_in(uid, GOOD).state is OrderState.PAID


def test_a_paid_order_comes_back_as_it_is(
    service: Payments, sandbox: Sandbox, onetime_calls: list[str]
) -> None:
    uid = ready_order(service)
    paid = service.billing.pay_order_key_in(uid, GOOD)
    again = service.billing.pay_order_key_in(uid, GOOD)
    assert again.state is OrderState.PAID and again.version == paid.version
    assert sandbox.payments_count() == 1 and len(onetime_calls) == 1


def test_an_order_that_cannot_be_paid_is_refused_before_portone(
    service: Payments, sandbox: Sandbox
) -> None:
    uid = ready_order(service)
    service.reconciler.close(uid, reason="sold out")
    with pytest.raises(InvalidTransitionError):
        service.billing.pay_order_key_in(uid, GOOD)
    with pytest.raises(UnknownOrderError):
        service.billing.pay_order_key_in("nope", GOOD)
    assert sandbox.payments_count() == 0


def test_a_held_claim_turns_a_second_call_away(
    service: Payments, sandbox: Sandbox, onetime_calls: list[str]
) -> None:
    uid = ready_order(service)
    claim = take_claim(service.engine, uid, service.clock())
    with pytest.raises(PaymentInProgressError):
        service.billing.pay_order_key_in(uid, GOOD)
    assert onetime_calls == []
    release_claim(service.engine, claim, service.clock(), unsure=False)
    assert service.billing.pay_order_key_in(uid, GOOD).state is OrderState.PAID


def test_a_claim_swaps_once(service: Payments) -> None:
    uid = ready_order(service)
    now = service.clock()
    first = take_claim(service.engine, uid, now)
    release_claim(service.engine, first, now, unsure=False)
    second = take_claim(service.engine, uid, now)
    with pytest.raises(PaymentInProgressError):
        take_claim(service.engine, uid, now)
    # The first holder's late release does not free the second one's claim.
    release_claim(service.engine, first, now, unsure=False)
    with pytest.raises(PaymentInProgressError):
        take_claim(service.engine, uid, now)
    assert not second.unsure


def test_a_claim_of_a_worker_that_died_expires_and_is_looked_up_first(
    service: Payments, sandbox: Sandbox, onetime_calls: list[str]
) -> None:
    uid = ready_order(service)
    # A worker charged the card, then died before it could write anything.
    service.client.pay_onetime(merchant_uid=uid, amount=30_000, card=GOOD)
    take_claim(service.engine, uid, service.clock() - CLAIM_LIFETIME * 2)

    order = service.billing.pay_order_key_in(uid, GOOD)
    assert order.state is OrderState.PAID
    assert sandbox.payments_count() == 1
    assert len(onetime_calls) == 1  # the dead worker's; none from the retry


def test_a_retry_after_a_lost_answer_looks_the_order_up_first(
    service: Payments, sandbox: Sandbox, onetime_calls: list[str]
) -> None:
    uid = ready_order(service)
    sandbox.inject_fault("timeout", path=ONETIME)
    sandbox.inject_fault("503", path="/payments/find/*", times=10)
    with pytest.raises(NoResponseError):
        service.billing.pay_order_key_in(uid, GOOD)
    assert claim_status(service, uid) == "unsure"
    sandbox.clear_faults()

    order = service.billing.pay_order_key_in(uid, GOOD)
    assert order.state is OrderState.PAID
    assert sandbox.payments_count() == 1  # found, not repeated
    assert len(onetime_calls) == 1
    assert claim_status(service, uid) == "done"


def test_a_retry_after_a_request_that_never_arrived_pays(
    service: Payments, sandbox: Sandbox
) -> None:
    uid = ready_order(service)
    sandbox.inject_fault("disconnect", path=ONETIME)
    sandbox.inject_fault("503", path="/payments/find/*", times=10)
    with pytest.raises(NoResponseError):
        service.billing.pay_order_key_in(uid, GOOD)
    sandbox.clear_faults()
    assert service.billing.pay_order_key_in(uid, GOOD).state is OrderState.PAID
    assert sandbox.payments_count() == 1


def test_the_card_is_kept_only_when_asked(service: Payments, sandbox: Sandbox) -> None:
    kept = ready_order(service)
    order = service.billing.pay_order_key_in(kept, GOOD, customer_uid="cust-k")
    assert order.customer_uid == "cust-k"
    key = service.billing.get_key("cust-k")
    assert key is not None and key.card_number
    assert "4242424242424242" not in key.card_number
    plain = ready_order(service)
    assert service.billing.pay_order_key_in(plain, GOOD).customer_uid is None
    kept_keys = service.billing.keys(status="active")
    assert [k.customer_uid for k in kept_keys] == ["cust-k"]


def test_claims_expire_after_their_lifetime(service: Payments) -> None:
    uid = ready_order(service)
    now = service.clock()
    take_claim(service.engine, uid, now)
    with pytest.raises(PaymentInProgressError):
        take_claim(service.engine, uid, now + CLAIM_LIFETIME - dt.timedelta(seconds=1))
    late = take_claim(
        service.engine, uid, now + CLAIM_LIFETIME + dt.timedelta(seconds=1)
    )
    assert late.unsure  # the one before may have charged: look up first


def test_an_order_paid_elsewhere_is_learnt_from_portones_refusal(
    service: Payments, sandbox: Sandbox
) -> None:
    uid = ready_order(service)
    # Paid through another door whose news has not arrived yet.
    service.client.pay_onetime(merchant_uid=uid, amount=30_000, card=GOOD)
    order = service.billing.pay_order_key_in(uid, GOOD)
    assert order.state is OrderState.PAID
    assert sandbox.payments_count() == 1
