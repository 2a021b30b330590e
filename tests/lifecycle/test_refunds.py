"""Refunds: ledger first, checksum always, never more than was paid."""

from __future__ import annotations

import threading
import typing as t
from decimal import Decimal

import pytest

from flask_nicepay.ledger import RefundInProgressError
from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.portone import APIError
from flask_nicepay.portone import NoResponseError
from flask_nicepay.portone import RefundAccount
from flask_nicepay.refunds import RefundError
from flask_nicepay.sandbox import Sandbox

from .rig import Recorded


def paid_order(
    sandbox: Sandbox, service: Payments, amount: int = 30_000, **kw: t.Any
) -> str:
    pay_method = kw.pop("pay_method", "card")
    uid = service.orders.create(
        amount=amount, name="환불 테스트", pay_method=pay_method, **kw
    ).merchant_uid
    payment = sandbox.checkout(
        merchant_uid=uid,
        amount=amount,
        pay_method=pay_method,
        tax_free=kw.get("tax_free"),
        vat_amount=kw.get("vat_amount"),
    )
    if pay_method == "vbank":
        sandbox.deposit(imp_uid=payment["imp_uid"])
    sandbox.deliver_webhooks()
    assert service.orders.get(uid).state is OrderState.PAID  # type: ignore[union-attr]
    return uid


def test_partial_then_full_refund(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = paid_order(sandbox, service)

    first = service.refunds.refund(uid, 10_000, reason="부분 환불")
    assert first.order is not None
    assert first.order.state is OrderState.PARTIALLY_CANCELLED
    assert first.order.balance == Decimal(20_000)

    rest = service.refunds.refund(uid, reason="나머지 환불")
    assert rest.amount == Decimal(20_000)
    assert rest.order is not None and rest.order.state is OrderState.CANCELLED

    rows = service.orders.refunds_of(uid)
    assert [(r.amount, r.checksum, r.status, r.source) for r in rows] == [
        (10_000, 30_000, "succeeded", "api"),
        (20_000, 20_000, "succeeded", "api"),
    ]
    assert all(r.cancellation_id for r in rows)
    assert recorded.names(uid) == [
        "payment_paid",
        "payment_cancelled",
        "payment_cancelled",
    ]
    assert [c[2]["amount"] for c in recorded.calls[1:]] == [10_000, 20_000]
    portone = sandbox.payment(rows[0].imp_uid or "")
    assert portone is not None and portone["cancel_amount"] == 30_000


def test_refund_more_than_left_is_refused_before_portone(
    sandbox: Sandbox, service: Payments
) -> None:
    uid = paid_order(sandbox, service)
    service.refunds.refund(uid, 25_000)
    with pytest.raises(RefundError, match="exceeds"):
        service.refunds.refund(uid, 5_001)
    with pytest.raises(RefundError, match="more than 0"):
        service.refunds.refund(uid, 0)
    assert len(service.orders.refunds_of(uid)) == 1


def test_unpaid_order_cannot_be_refunded(service: Payments) -> None:
    uid = service.orders.create(amount=1000, name="x").merchant_uid
    with pytest.raises(RefundError, match="ready"):
        service.refunds.refund(uid)


def test_vbank_refund_needs_an_account(sandbox: Sandbox, service: Payments) -> None:
    uid = paid_order(sandbox, service, pay_method="vbank")
    with pytest.raises(RefundError, match="refund_account"):
        service.refunds.refund(uid)
    account = RefundAccount("홍길동", "088", "110-123-456789")
    result = service.refunds.refund(uid, refund_account=account)
    assert result.order is not None and result.order.state is OrderState.CANCELLED
    [row] = service.orders.refunds_of(uid)
    assert "456789" not in repr(row)


def test_tax_free_and_vat_are_sent_as_nice_needs(
    sandbox: Sandbox, service: Payments
) -> None:
    uid = paid_order(sandbox, service, amount=11_000, tax_free=1_000, vat_amount=909)
    with pytest.raises(RefundError, match="NICE needs"):
        service.refunds.refund(uid, 5_500)
    service.refunds.refund(uid, 5_500, tax_free=500, vat_amount=455)
    # The last refund works the remaining parts out itself.
    service.refunds.refund(uid)
    rows = service.orders.refunds_of(uid)
    assert [r.amount for r in rows] == [5_500, 5_500]
    assert service.orders.get(uid).state is OrderState.CANCELLED  # type: ignore[union-attr]


def test_refund_refused_by_portone_is_recorded(
    sandbox: Sandbox, service: Payments
) -> None:
    uid = paid_order(sandbox, service)
    sandbox.inject_fault("500", path="/payments/cancel*")
    with pytest.raises(APIError):
        service.refunds.refund(uid, 1_000)
    [row] = service.orders.refunds_of(uid)
    assert row.status == "failed" and "500" in (row.error or "")
    # Nothing is in flight any more, so the next refund may go.
    service.refunds.refund(uid, 1_000)


def test_refund_without_answer_is_settled_from_portone(
    sandbox: Sandbox, service: Payments
) -> None:
    uid = paid_order(sandbox, service)
    service.client.timeout = (1.0, 2.0)
    sandbox.inject_fault("timeout", path="/payments/cancel*", delay=60)
    with pytest.raises(NoResponseError):
        service.refunds.refund(uid, 1_000)
    # PortOne did cancel; the sync right after found it in cancel_history.
    [row] = service.orders.refunds_of(uid)
    assert row.status == "succeeded" and row.cancellation_id
    order = service.orders.get(uid)
    assert order is not None and order.state is OrderState.PARTIALLY_CANCELLED


def test_concurrent_refunds_never_exceed_the_payment(
    sandbox: Sandbox, service: Payments
) -> None:
    """Eight clerks each refund 7,000 of a 30,000 payment at once, retrying while
    another refund is in flight: four refunds fit, the other four must not."""
    uid = paid_order(sandbox, service, amount=30_000)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def refund() -> None:
        barrier.wait()
        for _ in range(200):
            try:
                service.refunds.refund(uid, 7_000)
                outcome = "ok"
            except RefundInProgressError:
                continue
            except (RefundError, APIError) as exc:
                outcome = type(exc).__name__
            break
        else:
            outcome = "gave up"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=refund) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    succeeded = [r for r in service.orders.refunds_of(uid) if r.status == "succeeded"]
    portone = sandbox.payment(succeeded[0].imp_uid or "")
    assert portone is not None
    assert sorted(outcomes) == ["RefundError"] * 4 + ["ok"] * 4
    assert sum(r.amount for r in succeeded) == 28_000 == portone["cancel_amount"]
    order = service.orders.get(uid)
    assert order is not None and order.balance == Decimal(2_000)
    assert order.state is OrderState.PARTIALLY_CANCELLED
