"""Orders through the one reconciler: webhook, completion and return all agree."""

from __future__ import annotations

import typing as t
from decimal import Decimal

import pytest

from flask_nicepay.inbox import Hint
from flask_nicepay.inbox import Outcome
from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.sandbox import CheckoutRefused
from flask_nicepay.sandbox import Sandbox

from .rig import Recorded


def order(service: Payments, amount: int = 25_000, **kw: t.Any) -> str:
    return service.orders.create(amount=amount, name="테스트 상품", **kw).merchant_uid


def test_created_order_is_ready_and_prepared(
    sandbox: Sandbox, service: Payments
) -> None:
    created = service.orders.create(amount=25_000, name="티셔츠", buyer_name="홍길동")
    assert created.state is OrderState.READY
    assert created.prepared
    assert created.merchant_uid.startswith("np-")
    # PortOne refuses to open the window with a tampered amount.
    with pytest.raises(CheckoutRefused):
        sandbox.checkout(merchant_uid=created.merchant_uid, amount=100)


def test_webhook_marks_paid_once_and_signals_once(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service)
    payment = sandbox.checkout(merchant_uid=uid, amount=25_000)
    sandbox.deliver_webhooks()

    paid = service.orders.get(uid)
    assert paid is not None and paid.state is OrderState.PAID
    assert paid.imp_uid == payment["imp_uid"]
    assert paid.paid_amount == Decimal(25_000)

    # The PC completion and the mobile return deliver the same truth again.
    for kind in ("pc", "mobile", "webhook"):
        again = service.notifications.receive(
            kind, Hint(payment["imp_uid"], uid, "paid")
        )
        assert again.outcome is Outcome.NOOP
    assert recorded.names(uid) == ["payment_paid"]
    assert [h["event"] for h in service.orders.history(uid)] == ["pay"]
    kinds = [e.kind for e in service.inbox.search(merchant_uid=uid)]
    assert kinds == ["webhook", "pc", "mobile", "webhook"]


def test_hint_is_never_trusted(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service)
    other = order(service)
    attempt = sandbox.open_checkout({"merchant_uid": uid, "amount": 25_000})
    # Claims "paid" for an order whose window is still open; and points the
    # payment at another order.
    received = service.notifications.receive(
        "webhook", Hint(attempt["imp_uid"], other, "paid")
    )

    assert received.outcome is Outcome.APPLIED  # the attempt is now followed
    assert service.orders.get(uid).state is OrderState.READY  # type: ignore[union-attr]
    assert service.orders.get(other).state is OrderState.READY  # type: ignore[union-attr]
    assert recorded.calls == []


def test_amount_mismatch_is_never_paid_and_is_cancelled(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = service.orders.create(amount=50_000, name="x").merchant_uid
    tampered = _tampered_payment(sandbox, uid, 1_000)

    result = service.reconciler.sync(imp_uid=tampered, source="pc")

    assert result.outcome is Outcome.MISMATCH
    mismatched = service.orders.get(uid)
    assert mismatched is not None
    assert mismatched.state is OrderState.MISMATCH
    assert "amount is 1000, expected 50000" in (mismatched.mismatch_reason or "")
    portone = sandbox.payment(tampered)
    assert portone is not None and portone["status"] == "cancelled"
    [row] = service.orders.refunds_of(uid)
    assert (row.source, row.status, row.amount) == ("auto", "succeeded", 1000)
    [(name, _, data)] = recorded.calls
    assert name == "payment_mismatch" and data["action"] == "cancel"

    # The same snapshot again changes nothing and cancels nothing more.
    assert (
        service.reconciler.sync(imp_uid=tampered, source="webhook").outcome
        is Outcome.NOOP
    )
    assert len(recorded.calls) == 1
    assert len(service.orders.refunds_of(uid)) == 1


def _tampered_payment(sandbox: Sandbox, merchant_uid: str, amount: int) -> str:
    """A paid attempt with an amount PortOne was never told to refuse.

    The order's amount was registered, so the window refuses the tampered amount;
    PortOne's key-in API has no such check, which is how the wrong amount gets in.
    """
    sandbox_client = sandbox.session()
    token = sandbox_client.post(
        sandbox.base_url + "/users/getToken",
        json={"imp_key": "life_key", "imp_secret": "life_secret"},
    ).json()["response"]["access_token"]
    answer = sandbox_client.post(
        sandbox.base_url + "/subscribe/payments/onetime",
        headers={"Authorization": token},
        json={
            "merchant_uid": merchant_uid,
            "amount": amount,
            "card_number": "4242-4242-4242-4242",
            "expiry": "2030-12",
            "birth": "900101",
            "pwd_2digit": "12",
        },
    ).json()
    return str(answer["response"]["imp_uid"])


def test_hold_policy_keeps_the_money_and_flags_the_order(
    sandbox: Sandbox, engine: t.Any, relay: t.Any
) -> None:
    from flask_nicepay.verify import OnMismatch
    from flask_nicepay.verify import Policy

    from .rig import build_service

    service = build_service(sandbox, engine, policy=Policy(on_mismatch=OnMismatch.HOLD))
    uid = service.orders.create(amount=50_000, name="x").merchant_uid
    tampered = _tampered_payment(sandbox, uid, 1_000)

    assert service.reconciler.sync(imp_uid=tampered).outcome is Outcome.MISMATCH
    assert sandbox.payment(tampered)["status"] == "paid"  # type: ignore[index]
    [held] = service.orders.refunds_of(uid)
    assert (held.source, held.status) == ("auto", "held")

    # An operator returns the money; the order is still not paid.
    service.refunds.refund(uid, reason="금액 불일치")
    assert sandbox.payment(tampered)["status"] == "cancelled"  # type: ignore[index]
    assert service.orders.get(uid).state is OrderState.MISMATCH  # type: ignore[union-attr]
    statuses = sorted((r.source, r.status) for r in service.orders.refunds_of(uid))
    assert statuses == [("api", "succeeded"), ("auto", "held")]


def test_payment_into_a_closed_order_is_returned(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service)
    service.reconciler.close(uid, reason="품절")
    assert service.orders.get(uid).state is OrderState.CANCELLED  # type: ignore[union-attr]

    late = sandbox.checkout(merchant_uid=uid, amount=25_000)
    sandbox.deliver_webhooks()

    assert service.orders.get(uid).state is OrderState.CANCELLED  # type: ignore[union-attr]
    assert sandbox.payment(late["imp_uid"])["status"] == "cancelled"  # type: ignore[index]
    assert recorded.names(uid) == ["payment_cancelled", "payment_mismatch"]
    [(_, _, data)] = [c for c in recorded.calls if c[0] == "payment_mismatch"]
    assert data["action"] == "cancel" and "closed" in data["reasons"][0]


def test_paid_order_cannot_be_closed(sandbox: Sandbox, service: Payments) -> None:
    from flask_nicepay.machine import InvalidTransitionError

    uid = order(service)
    sandbox.checkout(merchant_uid=uid, amount=25_000)
    sandbox.deliver_webhooks()
    with pytest.raises(InvalidTransitionError):
        service.reconciler.close(uid)


def test_failed_attempt_then_paid(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service)
    declined = sandbox.checkout(merchant_uid=uid, amount=25_000, outcome="decline")
    sandbox.deliver_webhooks()  # PortOne sends nothing for a failure...
    assert service.orders.get(uid).state is OrderState.READY  # type: ignore[union-attr]
    # ...so the PC completion brings it in.
    service.notifications.receive("pc", Hint(declined["imp_uid"], uid))
    failed = service.orders.get(uid)
    assert failed is not None and failed.state is OrderState.FAILED
    assert failed.fail_reason

    sandbox.checkout(merchant_uid=uid, amount=25_000)
    sandbox.deliver_webhooks()
    assert service.orders.get(uid).state is OrderState.PAID  # type: ignore[union-attr]
    assert recorded.names(uid) == ["payment_failed", "payment_paid"]


def test_vbank_issued_deposited_paid(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service, pay_method="vbank")
    issued = sandbox.checkout(merchant_uid=uid, amount=25_000, pay_method="vbank")
    sandbox.deliver_webhooks()
    waiting = service.orders.get(uid)
    assert waiting is not None and waiting.state is OrderState.VBANK_ISSUED
    assert waiting.vbank_num == issued["vbank_num"]
    assert waiting.vbank_name and waiting.vbank_holder and waiting.vbank_due

    sandbox.deposit(imp_uid=issued["imp_uid"])
    sandbox.deliver_webhooks()
    paid = service.orders.get(uid)
    assert paid is not None and paid.state is OrderState.PAID and not paid.late_payment
    assert recorded.names(uid) == ["vbank_issued", "payment_paid"]


def test_vbank_expires_then_late_deposit_is_accepted_and_flagged(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service, pay_method="vbank")
    issued = sandbox.checkout(merchant_uid=uid, amount=25_000, pay_method="vbank")
    sandbox.deliver_webhooks()
    due = service.orders.get(uid).vbank_due  # type: ignore[union-attr]
    assert due is not None
    # Nothing happens before the deadline.
    assert service.reconciler.expire_vbanks() == []

    import datetime as dt

    later = due + dt.timedelta(minutes=1)
    service.reconciler.clock = lambda: later
    sandbox.set_clock(later.timestamp())
    [expired] = service.reconciler.expire_vbanks()
    assert expired.state is OrderState.EXPIRED

    sandbox.deposit(imp_uid=issued["imp_uid"], force=True)
    sandbox.deliver_webhooks()
    late = service.orders.get(uid)
    assert late is not None and late.state is OrderState.PAID and late.late_payment
    assert recorded.names(uid) == ["vbank_issued", "vbank_expired", "payment_paid"]
    assert recorded.calls[-1][2]["late"] is True


def test_sweep_looks_before_expiring(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    import datetime as dt

    uid = order(service, pay_method="vbank")
    issued = sandbox.checkout(merchant_uid=uid, amount=25_000, pay_method="vbank")
    sandbox.deliver_webhooks()
    sandbox.inject_webhook_fault("drop")
    sandbox.deposit(imp_uid=issued["imp_uid"])  # paid at the last minute...
    sandbox.deliver_webhooks()  # ...and PortOne's webhook is lost
    due = service.orders.get(uid).vbank_due  # type: ignore[union-attr]
    assert due is not None
    service.reconciler.clock = lambda: due + dt.timedelta(hours=1)

    assert service.reconciler.expire_vbanks() == []
    assert service.orders.get(uid).state is OrderState.PAID  # type: ignore[union-attr]
    assert "vbank_expired" not in recorded.names(uid)


def test_console_cancels_are_imported(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service, amount=30_000)
    paid = sandbox.checkout(merchant_uid=uid, amount=30_000)
    sandbox.deliver_webhooks()

    sandbox.console_cancel(paid["imp_uid"], amount=10_000, reason="부분 환불")
    sandbox.deliver_webhooks()
    part = service.orders.get(uid)
    assert part is not None and part.state is OrderState.PARTIALLY_CANCELLED
    assert part.cancelled_amount == Decimal(10_000) and part.balance == Decimal(20_000)

    sandbox.console_cancel(paid["imp_uid"], reason="전액 환불")
    sandbox.deliver_webhooks()
    done = service.orders.get(uid)
    assert done is not None and done.state is OrderState.CANCELLED
    rows = service.orders.refunds_of(uid)
    assert [(r.source, r.amount, r.status) for r in rows] == [
        ("portone", 10_000, "succeeded"),
        ("portone", 20_000, "succeeded"),
    ]
    assert all(r.cancellation_id for r in rows)
    assert recorded.names(uid) == [
        "payment_paid",
        "payment_cancelled",
        "payment_cancelled",
    ]
    assert [c[2]["partial"] for c in recorded.calls[1:]] == [True, False]


def test_paid_and_cancelled_before_we_looked(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service, amount=30_000)
    sandbox.inject_webhook_fault("drop", times=2)
    paid = sandbox.checkout(merchant_uid=uid, amount=30_000)
    sandbox.console_cancel(paid["imp_uid"], amount=5_000)
    sandbox.deliver_webhooks()
    assert service.orders.get(uid).state is OrderState.READY  # type: ignore[union-attr]

    report = service.reconciler.reconcile()

    assert report.applied == 1
    healed = service.orders.get(uid)
    assert healed is not None and healed.state is OrderState.PARTIALLY_CANCELLED
    assert [h["event"] for h in service.orders.history(uid)] == [
        "pay",
        "cancel_partially",
    ]
    assert recorded.names(uid) == ["payment_paid", "payment_cancelled"]


def test_unknown_merchant_uid_is_kept_not_dropped(
    sandbox: Sandbox, service: Payments
) -> None:
    stranger = _tampered_payment(sandbox, "console-order-1", 5_000)
    sandbox.deliver_webhooks()

    [entry] = service.inbox.search(outcomes=[Outcome.UNKNOWN_ORDER])
    assert entry.imp_uid == stranger and entry.merchant_uid == "console-order-1"
    assert "no order" in (entry.error or "")
    assert service.orders.get("console-order-1") is None
    # Still there for an operator: a replay finds it again.
    [again] = service.notifications.replay_failed()
    assert again.outcome is Outcome.UNKNOWN_ORDER


def test_billing_key_payments_made_elsewhere_are_adopted(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    from flask_nicepay.portone import Card

    service.billing.issue_key(
        "user-1", Card("4242-4242-4242-4242", "2030-12", "900101", "12")
    )
    service.client.pay_again(
        customer_uid="user-1", merchant_uid="console-sub-1", amount=9_900, name="구독"
    )
    sandbox.deliver_webhooks()

    adopted = service.orders.get("console-sub-1")
    assert adopted is not None and adopted.origin == "adopted"
    assert adopted.state is OrderState.PAID and adopted.amount == Decimal(9_900)
    assert recorded.names("console-sub-1") == ["payment_paid"]


@pytest.mark.parametrize("processing", ["inline"], indirect=True)
def test_webhook_answers_5xx_when_portone_is_down_and_reconcile_heals(
    sandbox: Sandbox, service: Payments
) -> None:
    uid = order(service)
    sandbox.checkout(merchant_uid=uid, amount=25_000)
    sandbox.inject_fault("503", path="/payments/imp_*", times=3)
    [delivery] = sandbox.deliver_webhooks()

    assert delivery.status == 503
    [entry] = service.inbox.search(merchant_uid=uid)
    assert entry.outcome == "error" and "503" in (entry.error or "")
    assert service.orders.get(uid).state is OrderState.READY  # type: ignore[union-attr]

    service.reconciler.reconcile()
    assert service.orders.get(uid).state is OrderState.PAID  # type: ignore[union-attr]
    # The failed notification can also be replayed; it now changes nothing.
    [replayed] = service.notifications.replay_failed()
    assert replayed.outcome is Outcome.NOOP


@pytest.mark.parametrize("processing", ["celery"], indirect=True)
def test_celery_mode_answers_200_when_portone_is_down_and_its_retry_pays(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    uid = order(service)
    sandbox.checkout(merchant_uid=uid, amount=25_000)
    sandbox.inject_fault("503", path="/payments/imp_*", times=3)  # every attempt
    [delivery] = sandbox.deliver_webhooks()

    assert delivery.status == 200  # recorded: the worker's to retry, not PortOne's
    [entry] = service.inbox.search(merchant_uid=uid)
    assert (entry.outcome, entry.attempts) == ("applied", 2)
    assert service.orders.get(uid).state is OrderState.PAID  # type: ignore[union-attr]
    assert recorded.names(uid) == ["payment_paid"]
