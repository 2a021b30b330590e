"""The NicePay object's Python API, as store code calls it inside an app context."""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import ValidationError

from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import RefundError
from flask_nicepay import signals
from flask_nicepay import testing
from flask_nicepay.inbox import Outcome
from flask_nicepay.portone import Buyer
from flask_nicepay.portone import Card
from flask_nicepay.portone import CardError
from flask_nicepay.portone import PaymentDeclinedError
from flask_nicepay.portone import RefundAccount
from flask_nicepay.sandbox import CheckoutRefused
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import checkout_new_order
from .webshop import complete
from .webshop import get_order
from .webshop import issue_overdue_vbank
from .webshop import new_order
from .webshop import paid_order
from .webshop import pay_in_window
from .webshop import return_url
from .webshop import tampered_payment
from .webshop import vbank_order

GOOD_CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
DECLINED_CARD = Card("4000-0000-0000-9995", "2030-12", "900101", "12")
REFUSED_CARD = Card("4000-0000-0000-0002", "2030-12", "900101", "12")
ACCOUNT = RefundAccount("홍길동", "004", "12345678901234")


@pytest.fixture
def ctx(app: Flask) -> t.Iterator[None]:
    with app.app_context():
        yield


# -- orders ------------------------------------------------------------------------


def test_create_order_registers_the_amount(
    make_app: AppFactory,
) -> None:
    app = make_app({"NICEPAY_MERCHANT_UID_PREFIX": "shop_1"})
    nicepay: NicePay = app.extensions["nicepay"].extension
    with app.app_context():
        order = nicepay.create_order(
            amount=25_000, name="티셔츠", buyer_email="a@example.com"
        )
        assert order.state is OrderState.READY and order.prepared
        assert order.merchant_uid.startswith("shop_1-")
        assert order.amount == Decimal(25_000) and order.currency == "KRW"
        assert nicepay.get_order(order.merchant_uid) == order
        assert nicepay.get_order("np-missing") is None
        sandbox = nicepay.sandbox
        assert sandbox is not None
        with pytest.raises(CheckoutRefused):
            sandbox.open_checkout({"merchant_uid": order.merchant_uid, "amount": 100})

        chosen = nicepay.create_order(merchant_uid="order-42", amount="9900", name="x")
        assert chosen.merchant_uid == "order-42" and chosen.amount == Decimal(9_900)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount": 0, "name": "x"}, "amount"),
        ({"amount": 10.5, "name": "x"}, "amount"),
        ({"amount": True, "name": "x"}, "amount"),
        ({"amount": "1000.5", "name": "x"}, "amount"),
        ({"amount": 1000}, "name"),
        ({"amount": 1000, "name": "x", "currency": "JPY"}, "currency"),
        ({"amount": 1000, "name": "x", "tax_free": 2000}, "tax_free"),
        ({"amount": 1000, "name": "x", "merchant_uid": "has space"}, "merchant_uid"),
        ({"amount": 1000, "name": "x", "buyer_email": "not-mail"}, "buyer_email"),
    ],
)
def test_create_order_refuses_what_is_not_an_order(
    nicepay: NicePay, ctx: None, fields: dict[str, t.Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        nicepay.create_order(**fields)
    assert field in caught.value.messages


def test_checkout_url(app: Flask, nicepay: NicePay) -> None:
    with app.test_request_context():
        order = nicepay.create_order(amount=60_000, name="코트")
        assert nicepay.checkout_url(order) == f"/nicepay/checkout/{order.merchant_uid}"
        assert nicepay.checkout_url(order.merchant_uid, _external=True) == (
            f"http://localhost/nicepay/checkout/{order.merchant_uid}"
        )
        signed = nicepay.checkout_url(order, card_quota=[3], language="en")
        assert "?o=" in signed
        with pytest.raises(LookupError, match="np-missing"):
            nicepay.checkout_url("np-missing")
        with pytest.raises(ValidationError, match="pay_methods"):
            nicepay.checkout_url(order, pay_methods=["bitcoin"])
        small = nicepay.create_order(amount=10_000, name="양말")
        with pytest.raises(
            ValidationError, match="Installments are offered only from 50,000 KRW"
        ):
            nicepay.checkout_url(small, card_quota=[3])


def test_api_outside_an_app_is_a_clear_error(nicepay: NicePay) -> None:
    with pytest.raises(RuntimeError, match="application context"):
        nicepay.create_order(amount=1000, name="x")


# -- sync --------------------------------------------------------------------------


def test_sync_by_imp_uid_or_merchant_uid(
    app: Flask, client: FlaskClient, nicepay: NicePay, sandbox: Sandbox
) -> None:
    first = new_order(app)
    second = new_order(app)
    _, payment = pay_in_window(client, sandbox, f"/nicepay/checkout/{first}")
    pay_in_window(client, sandbox, f"/nicepay/checkout/{second}")
    with app.app_context():
        result = nicepay.sync(imp_uid=payment["imp_uid"])
        assert result.outcome is Outcome.APPLIED
        assert result.order is not None and result.order.state is OrderState.PAID
        assert nicepay.sync(merchant_uid=second).order.state is OrderState.PAID  # type: ignore[union-attr]
        assert nicepay.sync(imp_uid=payment["imp_uid"]).outcome is Outcome.NOOP


def test_signals_fire_once_with_the_app_as_sender(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    heard: list[tuple[t.Any, str]] = []

    def on_paid(sender: t.Any, *, order: t.Any, **data: t.Any) -> None:
        heard.append((sender, order.merchant_uid))

    signals.payment_paid.connect(on_paid, sender=app)
    try:
        uid, params, payment = checkout_new_order(app, client, sandbox)
        complete(client, payment)
        sandbox.deliver_webhooks()
        client.get(return_url(params, payment))
    finally:
        signals.payment_paid.disconnect(on_paid, sender=app)
    assert heard == [(app, uid)]


# -- money back --------------------------------------------------------------------


def test_partial_then_full_refund(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    uid, payment = paid_order(app, 30_000)
    with app.app_context():
        part = nicepay.refund(uid, 10_000, reason="사이즈 교환")
        assert part.amount == Decimal(10_000)
        assert part.order is not None
        assert part.order.state is OrderState.PARTIALLY_CANCELLED
        assert part.order.cancelled_amount == Decimal(10_000)

        with pytest.raises(RefundError, match="exceeds"):
            nicepay.refund(uid, 25_000)
        rest = nicepay.refund(uid)
        assert rest.amount == Decimal(20_000)
        assert rest.order is not None and rest.order.state is OrderState.CANCELLED
        with pytest.raises(RefundError, match="holds no payment"):
            nicepay.refund(uid)
    at_portone = sandbox.payment(payment["imp_uid"])
    assert at_portone is not None
    assert at_portone["status"] == "cancelled" and at_portone["cancel_amount"] == 30_000


def test_refund_with_tax_parts(app: Flask, nicepay: NicePay, sandbox: Sandbox) -> None:
    uid, _ = paid_order(app, 33_000, tax_free=3_000)
    with app.app_context():
        with pytest.raises(RefundError, match="tax_free"):
            nicepay.refund(uid, 11_000)
        nicepay.refund(uid, 11_000, tax_free=1_000)
        [refund] = nicepay.payments.orders.refunds_of(uid)
        assert (refund.amount, refund.status) == (Decimal(11_000), "succeeded")
    at_portone = sandbox.payment(get_order(app, uid).imp_uid)
    assert at_portone is not None
    assert at_portone["cancel_history"][0]["amount"] == 11_000


def test_cancel_refunds_a_paid_order_and_closes_an_unpaid_one(
    app: Flask, client: FlaskClient, nicepay: NicePay, sandbox: Sandbox
) -> None:
    paid, payment = paid_order(app, 30_000)
    unpaid = new_order(app)
    with app.app_context():
        result = nicepay.cancel(paid, reason="품절")
        assert result.order is not None and result.order.state is OrderState.CANCELLED
        closed = nicepay.cancel(unpaid, reason="고객 요청")
        assert closed.order is not None and closed.order.state is OrderState.CANCELLED
        assert closed.order.cancel_reason == "고객 요청"
        # Cancelling again is a no-op, not an error.
        assert nicepay.cancel(unpaid).outcome is Outcome.NOOP
    assert sandbox.payment(payment["imp_uid"])["status"] == "cancelled"  # type: ignore[index]
    # A closed order cannot be paid any more.
    assert client.get(f"/nicepay/checkout/{unpaid}").status_code == 302


def test_cancel_voids_a_pending_virtual_account(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    uid, issued = vbank_order(app)
    with app.app_context():
        result = nicepay.cancel(uid)
    assert result.order is not None and result.order.state is OrderState.CANCELLED
    assert sandbox.payment(issued["imp_uid"])["status"] == "cancelled"  # type: ignore[index]


def test_cancel_of_a_paid_virtual_account_takes_the_refund_account(
    app: Flask, nicepay: NicePay
) -> None:
    uid, _ = vbank_order(app, deposit=True)
    with app.app_context():
        with pytest.raises(RefundError, match="refund_account"):
            nicepay.cancel(uid)
        result = nicepay.cancel(uid, reason="환불", refund_account=ACCOUNT)
    assert result.order is not None and result.order.state is OrderState.CANCELLED


def test_cancel_returns_money_held_after_a_mismatch(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_ON_MISMATCH": "hold"})
    nicepay: NicePay = app.extensions["nicepay"].extension
    uid = new_order(app, 50_000)
    imp_uid = tampered_payment(app, uid, 1_000)
    sandbox = testing.sandbox_of(app)
    with app.app_context():
        assert nicepay.sync(imp_uid=imp_uid).outcome is Outcome.MISMATCH
        assert sandbox.payment(imp_uid)["status"] == "paid"  # type: ignore[index]

        result = nicepay.cancel(uid, reason="금액 불일치")

        # The buyer's money goes back before the order is closed.
        assert sandbox.payment(imp_uid)["status"] == "cancelled"  # type: ignore[index]
        assert result.order is not None
        assert result.order.state is OrderState.CANCELLED
        statuses = sorted(
            (r.source, r.status) for r in nicepay.payments.orders.refunds_of(uid)
        )
        assert statuses == [("api", "succeeded"), ("auto", "held")]
        assert nicepay.cancel(uid).outcome is Outcome.NOOP


def test_cancel_after_an_automatic_mismatch_cancel_just_closes(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    uid = new_order(app, 50_000)
    imp_uid = tampered_payment(app, uid, 1_000)
    with app.app_context():
        nicepay.sync(imp_uid=imp_uid)
        assert sandbox.payment(imp_uid)["status"] == "cancelled"  # type: ignore[index]
        result = nicepay.cancel(uid)
        assert len(nicepay.payments.orders.refunds_of(uid)) == 1
    assert result.order is not None and result.order.state is OrderState.CANCELLED


# -- many orders -------------------------------------------------------------------


def test_reconcile_catches_up_on_lost_webhooks(
    app: Flask, client: FlaskClient, nicepay: NicePay, sandbox: Sandbox
) -> None:
    uids = [new_order(app) for _ in range(3)]
    sandbox.inject_webhook_fault("drop", times=2)
    for uid in uids[:2]:
        pay_in_window(client, sandbox, f"/nicepay/checkout/{uid}")
    assert sandbox.deliver_webhooks() == []
    with app.app_context():
        report = nicepay.reconcile()
        assert (report.orders, report.applied, report.errors) == (3, 2, [])
        assert report.not_at_portone == 1  # the third never opened a window
        assert [nicepay.get_order(u).state for u in uids] == [  # type: ignore[union-attr]
            OrderState.PAID,
            OrderState.PAID,
            OrderState.READY,
        ]
        since = nicepay.reconcile(since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        assert since.orders == 3 and since.applied == 0


def test_expire_vbanks_after_asking_portone(behind: tuple[Flask, Sandbox]) -> None:
    app, box = behind
    nicepay: NicePay = app.extensions["nicepay"].extension
    overdue, _ = issue_overdue_vbank(app, box)
    deposited, _ = issue_overdue_vbank(app, box)
    box.inject_webhook_fault("drop")
    testing.deposit(deposited, deliver=False, app=app)  # at the last minute
    assert testing.deliver_webhooks(app) == []  # and its webhook lost

    with app.app_context():
        expired = nicepay.expire_vbanks()
        assert [o.merchant_uid for o in expired] == [overdue]
        assert nicepay.get_order(overdue).state is OrderState.EXPIRED  # type: ignore[union-attr]
        assert nicepay.get_order(deposited).state is OrderState.PAID  # type: ignore[union-attr]
        assert nicepay.expire_vbanks() == []

    # A deposit that still arrives is accepted, and flagged.
    testing.deposit(overdue, late=True, app=app)
    late = get_order(app, overdue)
    assert late.state is OrderState.PAID and late.late_payment


# -- billing -----------------------------------------------------------------------


def test_billing_key_charge_and_key_in(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, ctx: None
) -> None:
    key = nicepay.billing.issue_key("cust-1", GOOD_CARD, customer=Buyer(name="홍길동"))
    assert key.status == "active" and key.card_number is not None
    assert "4242424242424242" not in key.card_number.replace("-", "")
    assert "4242-4242-4242-4242" not in repr(key)

    order = nicepay.billing.charge("cust-1", 9_900, "월 구독")
    assert order.state is OrderState.PAID and order.origin == "again"
    assert order.customer_uid == "cust-1"
    assert nicepay.get_order(order.merchant_uid) == order

    once = nicepay.billing.pay_key_in(GOOD_CARD, 15_000, "단건 결제")
    assert once.state is OrderState.PAID and once.origin == "onetime"


def test_billing_declines_and_refusals(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, ctx: None
) -> None:
    with pytest.raises(CardError):
        nicepay.billing.issue_key("cust-bad", REFUSED_CARD)
    assert nicepay.billing.get_key("cust-bad") is None

    nicepay.billing.issue_key("cust-2", DECLINED_CARD)
    with pytest.raises(PaymentDeclinedError) as declined:
        nicepay.billing.charge("cust-2", 9_900, "월 구독", merchant_uid="sub-2-01")
    assert "한도초과" in str(declined.value)
    order = nicepay.get_order("sub-2-01")
    assert order is not None and order.state is OrderState.FAILED


def test_scheduled_payments_arrive_by_webhook(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    with app.app_context():
        nicepay.billing.issue_key("cust-3", GOOD_CARD)
        when = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
        [scheduled] = nicepay.billing.schedule("cust-3", [(when, 12_000, "다음 달")])
        assert scheduled.state is OrderState.READY and scheduled.origin == "schedule"
    sandbox.advance_clock(31 * 86400)
    sandbox.deliver_webhooks()
    assert get_order(app, scheduled.merchant_uid).state is OrderState.PAID
