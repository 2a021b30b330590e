"""A bad day at PortOne: API 500s and timeouts, webhooks lost, doubled, late and
out of order. Every hit is in the inbox, and after a reconcile every order matches
what the API says."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.sandbox import Sandbox

OUTCOMES = ("approve", "decline", "close", "vbank", "vbank_paid", "approve_refund")


def truth(sandbox: Sandbox, imp_uid: str | None, outcome: str) -> OrderState:
    """What PortOne's final answer implies for an order with one attempt."""
    if imp_uid is None:
        return OrderState.READY
    payment = sandbox.payment(imp_uid)
    assert payment is not None
    status = payment["status"]
    if status == "paid":
        return OrderState.PAID
    if status == "failed":
        return OrderState.FAILED
    if status == "cancelled":
        part = Decimal(payment["cancel_amount"]) < Decimal(payment["amount"])
        return OrderState.PARTIALLY_CANCELLED if part else OrderState.CANCELLED
    return OrderState.VBANK_ISSUED if outcome.startswith("vbank") else OrderState.READY


def test_every_order_matches_the_api_after_reconcile(
    sandbox: Sandbox, service: Payments
) -> None:
    rng = random.Random(20261126)
    service.client.timeout = (1.0, 2.0)
    orders: list[tuple[str, str | None, str]] = []
    for i in range(60):
        outcome = OUTCOMES[i % len(OUTCOMES)]
        uid = service.orders.create(
            amount=10_000 + i * 100, name=f"주문 {i}"
        ).merchant_uid
        amount = 10_000 + i * 100
        # Disturb some of the webhooks this step will cause.
        fault = rng.choice(["drop", "duplicate", "delay", "reorder", None, None])
        if fault:
            sandbox.inject_webhook_fault(fault, times=rng.randint(1, 2))
        # And some of the API calls the shop will make while processing them.
        api_fault = rng.choice(["500", "503", "timeout", None, None, None])
        if api_fault:
            sandbox.inject_fault(
                api_fault,
                path="/payments/imp_*",
                times=rng.randint(1, 4),
                delay=30 if api_fault == "timeout" else None,
            )
        pay_method = "vbank" if outcome.startswith("vbank") else "card"
        verb = (
            "approve"
            if outcome in ("vbank", "vbank_paid", "approve_refund")
            else outcome
        )
        payment = sandbox.checkout(
            merchant_uid=uid, amount=amount, pay_method=pay_method, outcome=verb
        )
        if outcome == "vbank_paid":
            sandbox.deposit(imp_uid=payment["imp_uid"])
        if outcome == "approve_refund":
            sandbox.console_cancel(payment["imp_uid"], amount=1_000)
        orders.append((uid, payment["imp_uid"], outcome))
        if rng.random() < 0.5:
            sandbox.deliver_webhooks()
    sandbox.advance_clock(120)  # releases the delayed ones
    sandbox.clear_faults()  # releases the held (reordered) ones
    deliveries = sandbox.deliver_webhooks()
    assert deliveries or sandbox.webhook_log

    # Every webhook that reached the shop is in the inbox, whatever came of it.
    reached = [d for d in sandbox.webhook_log if d.kind in ("delivered", "duplicate")]
    inbox = service.inbox.search(limit=10_000)
    assert len(inbox) == len(reached)
    assert {e.outcome for e in inbox} <= {"applied", "noop", "error"}

    # Some orders are wrong now; a reconcile under more API trouble heals them.
    sandbox.inject_fault("503", path="/payments", times=2)
    report = service.reconciler.reconcile()
    assert report.errors == []
    sandbox.inject_fault("500", path="/payments", times=1)
    service.reconciler.reconcile(since=service.clock() - dt.timedelta(hours=1))

    for uid, imp_uid, outcome in orders:
        order = service.orders.get(uid)
        assert order is not None
        assert order.state is truth(sandbox, imp_uid, outcome), (uid, outcome)
        if order.state is OrderState.PARTIALLY_CANCELLED:
            assert order.cancelled_amount == Decimal(1_000)
            [row] = service.orders.refunds_of(uid)
            assert row.source == "portone" and row.status == "succeeded"


def test_reconcile_batches_one_hundred_per_call(
    sandbox: Sandbox, service: Payments
) -> None:
    for i in range(250):
        service.orders.create(merchant_uid=f"batch-{i}", amount=1000, name="x")
    sandbox.checkout(merchant_uid="batch-7", amount=1000)
    before = service.client.tokens.fetches

    report = service.reconciler.reconcile()

    assert report.orders == 250 and report.api_calls == 3
    assert report.applied == 1 and report.not_at_portone == 249
    assert service.client.tokens.fetches - before <= 1
    assert service.orders.get("batch-7").state is OrderState.PAID  # type: ignore[union-attr]
