"""The refund checksum: PortOne is told the balance the refund was decided on, so a
balance that moved behind the store's back makes PortOne refuse, not refund twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.portone import APIError
from flask_nicepay.sandbox import Sandbox

from .rig import Recorded
from .test_refunds import paid_order


def imp_uid_of(service: Payments, uid: str) -> str:
    order = service.orders.get(uid)
    assert order is not None and order.imp_uid
    return order.imp_uid


def test_each_cancel_carries_the_balance_as_checksum(
    sandbox: Sandbox, service: Payments
) -> None:
    uid = paid_order(sandbox, service, amount=30_000)
    imp_uid = imp_uid_of(service, uid)

    service.refunds.refund(uid, 10_000)
    service.refunds.refund(uid, 5_000)
    service.refunds.refund(uid)

    # What PortOne received, not what the store meant to send.
    assert sandbox.cancel_checksums(imp_uid) == [
        Decimal(30_000),
        Decimal(20_000),
        Decimal(15_000),
    ]
    rows = service.orders.refunds_of(uid)
    assert [(r.amount, r.checksum) for r in rows] == [
        (10_000, 30_000),
        (5_000, 20_000),
        (15_000, 15_000),
    ]


def test_console_cancel_between_read_and_cancel_is_refused_not_doubled(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    """An operator cancels 5,000 in PortOne's console after the store read the
    30,000 balance and wrote its ledger row, just before its 10,000 cancel lands."""
    uid = paid_order(sandbox, service, amount=30_000)
    imp_uid = imp_uid_of(service, uid)
    console: list[int] = []

    def operator() -> None:
        # The ledger row is written before the cancel is sent: the store is
        # already committed to a 30,000 balance.
        [row] = service.orders.refunds_of(uid)
        assert (row.status, row.checksum) == ("pending", 30_000)
        console.append(sandbox.console_cancel(imp_uid, 5_000)["cancel_amount"])

    sandbox.before_next_request(operator, path="/payments/cancel", method="POST")

    with pytest.raises(APIError, match="checksum"):
        service.refunds.refund(uid, 10_000, reason="고객 요청")

    assert console == [5_000]
    portone = sandbox.payment(imp_uid)
    assert portone is not None and portone["cancel_amount"] == 5_000
    assert sandbox.cancel_checksums(imp_uid) == [None]  # only the console's
    [refused] = service.orders.refunds_of(uid)
    assert (refused.status, refused.amount) == ("failed", 10_000)
    assert "checksum" in (refused.error or "")

    # The console's webhook brings its cancel into the ledger.
    sandbox.deliver_webhooks()
    assert_ledger_matches_portone(sandbox, service, uid, imp_uid, 5_000)
    order = service.orders.get(uid)
    assert order is not None and order.state is OrderState.PARTIALLY_CANCELLED
    assert order.balance == Decimal(25_000)

    # Asked again, the refund goes through against the balance PortOne holds.
    retried = service.refunds.refund(uid, 10_000, reason="고객 요청")
    assert retried.order is not None and retried.order.balance == Decimal(15_000)
    assert sandbox.cancel_checksums(imp_uid) == [None, Decimal(25_000)]
    assert_ledger_matches_portone(sandbox, service, uid, imp_uid, 15_000)
    assert recorded.names(uid) == [
        "payment_paid",
        "payment_cancelled",
        "payment_cancelled",
    ]
    assert [c[2]["amount"] for c in recorded.calls[1:]] == [5_000, 10_000]


def test_console_cancel_found_by_the_next_refund_itself(
    sandbox: Sandbox, service: Payments
) -> None:
    """The console cancel's webhook is lost: the next refund's own fetch imports
    it before deciding, and refunds only what is really left."""
    uid = paid_order(sandbox, service, amount=30_000)
    imp_uid = imp_uid_of(service, uid)
    sandbox.inject_webhook_fault("drop")
    sandbox.before_next_request(
        lambda: sandbox.console_cancel(imp_uid, 20_000),
        path="/payments/cancel",
        method="POST",
    )
    with pytest.raises(APIError, match="checksum"):
        service.refunds.refund(uid)  # all of it, 30,000 as the store saw it
    sandbox.deliver_webhooks()  # dropped
    assert service.orders.get(uid).state is OrderState.PAID  # type: ignore[union-attr]

    rest = service.refunds.refund(uid)

    assert rest.amount == Decimal(10_000)
    assert sandbox.cancel_checksums(imp_uid) == [None, Decimal(10_000)]
    assert_ledger_matches_portone(sandbox, service, uid, imp_uid, 30_000)
    assert service.orders.get(uid).state is OrderState.CANCELLED  # type: ignore[union-attr]
    statuses = sorted(
        (r.source, r.status, r.amount) for r in service.orders.refunds_of(uid)
    )
    assert statuses == [
        ("api", "failed", 30_000),
        ("api", "succeeded", 10_000),
        ("portone", "succeeded", 20_000),
    ]


def assert_ledger_matches_portone(
    sandbox: Sandbox, service: Payments, uid: str, imp_uid: str, total: int
) -> None:
    """What PortOne cancelled, the ledger's succeeded rows and the order agree."""
    portone = sandbox.payment(imp_uid)
    assert portone is not None
    assert portone["cancel_amount"] == total
    assert sum(c["amount"] for c in portone["cancel_history"]) == total
    succeeded = [r for r in service.orders.refunds_of(uid) if r.status == "succeeded"]
    assert sum(r.amount for r in succeeded) == total
    ids = {c["cancellation_id"] for c in portone["cancel_history"]}
    assert {r.cancellation_id for r in succeeded} == ids
    order = service.orders.get(uid)
    assert order is not None and order.cancelled_amount == Decimal(total)
