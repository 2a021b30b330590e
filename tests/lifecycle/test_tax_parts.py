"""The tax-free and VAT parts of cancels, as a NICE MID's tax mode needs them.

What PortOne (the sandbox) received is read from its cancel records, so each test
sees the parts that left the plugin, not the plugin's idea of them.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.refunds import RefundError
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.tax import TaxMode

from .rig import Relay
from .rig import build_service
from .rig import webhook_receiver
from .test_refunds import paid_order

Parts = tuple[Decimal | None, Decimal | None]


@pytest.fixture(params=[TaxMode.FIXED], ids=["fixed"])
def fixed(
    request: pytest.FixtureRequest, sandbox: Sandbox, engine: Engine, relay: Relay
) -> Payments:
    """Payments for a MID in the 지정금액 tax mode, which the sandbox has too."""
    sandbox.set_tax_mode("fixed")
    service = build_service(
        sandbox, engine, tax_mode=request.param, prepare=False, clock=sandbox.moment
    )
    relay.target = webhook_receiver(service)
    return service


def sent(sandbox: Sandbox, service: Payments, uid: str) -> list[Parts]:
    order = service.orders.get(uid)
    assert order is not None and order.imp_uid is not None
    return sandbox.cancel_tax_parts(order.imp_uid)


def total(parts: list[Parts]) -> tuple[Decimal, Decimal]:
    return (
        sum((p[0] or Decimal(0) for p in parts), Decimal(0)),
        sum((p[1] or Decimal(0) for p in parts), Decimal(0)),
    )


def test_partial_refunds_carry_a_proportional_split_that_adds_up(
    sandbox: Sandbox, fixed: Payments
) -> None:
    uid = paid_order(sandbox, fixed, amount=33_000, tax_free=3_000, vat_amount=2_727)
    for amount in (10_000, 7_001, 1):
        fixed.refunds.refund(uid, amount)
    fixed.refunds.refund(uid)
    parts = sent(sandbox, fixed, uid)
    assert all(tf is not None and vat is not None for tf, vat in parts)
    # 3,000 × 10,000 / 33,000 = 909.09; the VAT is the same share of the taxable
    # 30,000: 2,727 × (10,000 − 909) / 30,000 = 826.37 (docs/refunds.rst).
    assert parts[0] == (909, 826)
    assert total(parts) == (3_000, 2_727)
    rows = fixed.orders.refunds_of(uid)
    assert [(r.tax_free, r.vat_amount) for r in rows] == parts
    order = fixed.orders.get(uid)
    assert order is not None and order.state is OrderState.CANCELLED


def test_store_given_split_is_sent_and_impossible_ones_never_leave(
    sandbox: Sandbox, fixed: Payments
) -> None:
    uid = paid_order(sandbox, fixed, amount=11_000, tax_free=1_000, vat_amount=909)
    impossible: list[tuple[dict[str, t.Any], str]] = [
        ({"tax_free": -1, "vat_amount": 455}, "negative"),
        ({"tax_free": 1_001, "vat_amount": 0}, "tax-free part left"),
        ({"tax_free": 0, "vat_amount": 910}, "VAT left"),
        ({"tax_free": 500, "vat_amount": 5_001}, "taxable part"),
        ({"tax_free": 500}, "both parts"),
        ({"vat_amount": 455}, "both parts"),
        # 10,000 refunded with no parts leaves 1,000 to hold a 1,000 tax-free
        # part and 909 of VAT: no later refund could state that.
        ({"tax_free": 0, "vat_amount": 0, "amount": 10_000}, "no refund could"),
    ]
    for given, words in impossible:
        amount = given.pop("amount", 5_500)
        with pytest.raises(RefundError, match=words):
            fixed.refunds.refund(uid, amount, **given)
    assert sent(sandbox, fixed, uid) == []
    assert fixed.orders.refunds_of(uid) == []
    fixed.refunds.refund(uid, 5_500, tax_free=500, vat_amount=455)
    with pytest.raises(RefundError, match="final refund carries all"):
        fixed.refunds.refund(uid, tax_free=500, vat_amount=400)
    fixed.refunds.refund(uid)
    assert sent(sandbox, fixed, uid) == [(500, 455), (500, 454)]


def test_an_order_without_its_vat_needs_the_parts_given(
    sandbox: Sandbox, fixed: Payments
) -> None:
    uid = paid_order(sandbox, fixed, amount=11_000)
    with pytest.raises(RefundError, match="did not state its VAT"):
        fixed.refunds.refund(uid, 5_500)
    with pytest.raises(RefundError, match="did not state its VAT"):
        fixed.refunds.refund(uid)
    fixed.refunds.refund(uid, 5_500, tax_free=0, vat_amount=500)
    assert sent(sandbox, fixed, uid) == [(0, 500)]


@pytest.mark.parametrize("mode", ["auto", "fixed"])
def test_zero_rated_order_keeps_its_zeros(
    sandbox: Sandbox, engine: Engine, relay: Relay, mode: str
) -> None:
    sandbox.set_tax_mode(mode)
    service = build_service(sandbox, engine, tax_mode=TaxMode(mode))
    relay.target = webhook_receiver(service)
    uid = paid_order(sandbox, service, amount=20_000, tax_free=0, vat_amount=0)
    service.refunds.refund(uid, 5_000)
    service.refunds.refund(uid)
    # 0 and 0, not left out: left out, NICE would work a VAT out of the amount.
    assert sent(sandbox, service, uid) == [(0, 0), (0, 0)]
    assert [(r.tax_free, r.vat_amount) for r in service.orders.refunds_of(uid)] == [
        (0, 0),
        (0, 0),
    ]


def test_automatic_cancel_carries_the_orders_parts(
    sandbox: Sandbox, fixed: Payments
) -> None:
    uid = fixed.orders.create(
        amount=11_000, name="부가세", tax_free=1_000, vat_amount=909
    ).merchant_uid
    # The buyer pays less; the page still sends the order's parts.
    sandbox.checkout(merchant_uid=uid, amount=10_000, tax_free=1_000, vat_amount=909)
    sandbox.deliver_webhooks()
    order = fixed.orders.get(uid)
    assert order is not None and order.state is OrderState.MISMATCH
    assert sandbox.cancel_tax_parts(order.imp_uid or "") == [(1_000, 909)]
    [row] = fixed.orders.refunds_of(uid)
    assert (row.source, row.status) == ("auto", "succeeded")


def test_the_janitor_sends_a_refused_automatic_cancel_again_with_its_parts(
    sandbox: Sandbox, fixed: Payments
) -> None:
    uid = fixed.orders.create(
        amount=11_000, name="부가세", tax_free=1_000, vat_amount=909
    ).merchant_uid
    sandbox.inject_fault("500", path="/payments/cancel")
    paid = sandbox.checkout(
        merchant_uid=uid, amount=10_000, tax_free=1_000, vat_amount=909
    )
    sandbox.deliver_webhooks()
    [row] = fixed.orders.refunds_of(uid)
    assert (row.source, row.status) == ("auto", "failed")
    sandbox.advance_clock(11 * 60)  # past the refund grace
    assert fixed.janitor.refunds().counts == {"sent_again_succeeded": 1}
    assert sandbox.cancel_tax_parts(paid["imp_uid"]) == [(1_000, 909)]


def test_automatic_cancel_of_parts_nobody_knows_is_left_to_the_operator(
    sandbox: Sandbox, fixed: Payments
) -> None:
    uid = fixed.orders.create(
        amount=11_000, name="부가세", tax_free=5_000, vat_amount=545
    ).merchant_uid
    # Amount and parts both changed in the browser: the order's parts cannot be
    # this payment's, and NICE needs its real ones.
    paid = sandbox.checkout(merchant_uid=uid, amount=4_000, tax_free=0)
    sandbox.deliver_webhooks()
    assert sandbox.cancel_tax_parts(paid["imp_uid"]) == []
    [row] = fixed.orders.refunds_of(uid)
    assert (row.source, row.status) == ("auto", "failed")
    assert "--tax-free" in (row.error or "")
    sandbox.advance_clock(11 * 60)
    assert fixed.janitor.refunds().counts == {"refund_by_hand": 1}
    sandbox.advance_clock(3 * 24 * 3600)
    assert fixed.janitor.refunds().counts == {}  # left to the operator
    assert sandbox.cancel_tax_parts(paid["imp_uid"]) == []
    result = fixed.extras.refund_extra(uid, paid["imp_uid"], tax_free=0, vat_amount=364)
    assert result.amount == 4_000
    assert sandbox.cancel_tax_parts(paid["imp_uid"]) == [(0, 364)]
