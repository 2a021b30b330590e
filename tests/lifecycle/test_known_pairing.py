"""A snapshot applied with a ``known`` order that is not the payment's own."""

from __future__ import annotations

from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.sandbox import Sandbox

from .rig import Recorded
from .test_verify_directions import ORDER_AMOUNT
from .test_verify_directions import keyed_payment
from .test_verify_directions import new_order


def test_snapshot_applied_with_another_known_order_touches_neither_wrongly(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    """``Reconciler.apply(payment, known=order)`` is how reconcile passes the order
    it read; here the caller's order is A while the payment is B's (a stale or
    wrong pairing). A must not be paid, and B's rightful payment must not be
    cancelled as a mismatch: it is verified against B, the order it names."""
    order_a, order_b = new_order(service), new_order(service)
    sandbox.inject_webhook_fault("drop")
    imp_uid = keyed_payment(sandbox, order_b, ORDER_AMOUNT)["imp_uid"]
    sandbox.deliver_webhooks()
    a = service.orders.get(order_a)
    assert a is not None

    result = service.reconciler.apply(
        service.client.get_payment(imp_uid), source="reconcile", known=a
    )

    assert result.order is not None and result.order.merchant_uid == order_b
    assert service.orders.get(order_a).state is OrderState.READY  # type: ignore[union-attr]
    assert service.orders.get(order_b).state is OrderState.PAID  # type: ignore[union-attr]
    portone = sandbox.payment(imp_uid)
    assert portone is not None and portone["status"] == "paid"
    assert service.orders.refunds_of(order_b) == []
    assert recorded.names() == ["payment_paid"]
