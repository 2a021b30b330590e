"""Verification in every direction: a payment that differs from its order in any way
is never paid, is cancelled at PortOne exactly once, and is signalled once.

Each wrong payment is made the way it really gets in: PortOne's key-in API
(``/subscribe/payments/onetime``) does not hold a payment to the amount and currency
registered with ``/payments/prepare``, and an account with a second PG channel takes
a payment through it when ``pg`` names it.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t
from decimal import Decimal

import pytest

from flask_nicepay.inbox import Hint
from flask_nicepay.inbox import Outcome
from flask_nicepay.machine import OrderState
from flask_nicepay.payments import Payments
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.verify import OnMismatch
from flask_nicepay.verify import Policy
from flask_nicepay.verify import verify

from .rig import KEY
from .rig import SECRET
from .rig import Recorded
from .rig import build_service
from .rig import webhook_receiver

ORDER_AMOUNT = 50_000
CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2030-12", "birth": "900101",
        "pwd_2digit": "12"}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Wrong:
    """A way a payment differs from a 50,000 KRW order, and the reason expected."""

    name: str
    amount: int
    reason: str
    currency: str = "KRW"
    pg: str | None = None


WRONGS = [
    Wrong("more", 60_000, "amount is 60000, expected 50000"),
    Wrong("less", 49_999, "amount is 49999, expected 50000"),
    Wrong("usd", ORDER_AMOUNT, "currency is USD, expected KRW", currency="USD"),
    Wrong(
        "other_pg",
        ORDER_AMOUNT,
        "pg_provider is 'kakaopay', expected nice",
        pg="kakaopay.TC0ONETIME",
    ),
]
wrongs = pytest.mark.parametrize("wrong", WRONGS, ids=[w.name for w in WRONGS])


def keyed_payment(
    sandbox: Sandbox, merchant_uid: str, amount: int, **fields: t.Any
) -> dict[str, t.Any]:
    """A paid key-in payment made through PortOne's REST API (sends a webhook)."""
    session = sandbox.session()
    token = session.post(
        sandbox.base_url + "/users/getToken",
        json={"imp_key": KEY, "imp_secret": SECRET},
    ).json()["response"]["access_token"]
    body = {**CARD, "merchant_uid": merchant_uid, "amount": amount, **fields}
    answer = session.post(
        sandbox.base_url + "/subscribe/payments/onetime",
        headers={"Authorization": token},
        json={k: v for k, v in body.items() if v is not None},
    ).json()
    assert answer["code"] == 0, answer
    payment: dict[str, t.Any] = answer["response"]
    assert payment["status"] == "paid"
    return payment


def wrong_payment(sandbox: Sandbox, merchant_uid: str, wrong: Wrong) -> str:
    sandbox.add_pg_channel("kakaopay")
    payment = keyed_payment(
        sandbox, merchant_uid, wrong.amount, currency=wrong.currency, pg=wrong.pg
    )
    # The sandbox made exactly the difference asked for, nothing else.
    assert (payment["amount"], payment["currency"]) == (wrong.amount, wrong.currency)
    assert payment["pg_provider"] == ("kakaopay" if wrong.pg else "nice")
    return str(payment["imp_uid"])


def unannounced(sandbox: Sandbox, service: Payments, wrong: Wrong) -> tuple[str, str]:
    """An order and a wrong payment for it whose webhook PortOne never sends."""
    uid = new_order(service)
    sandbox.inject_webhook_fault("drop")
    imp_uid = wrong_payment(sandbox, uid, wrong)
    sandbox.deliver_webhooks()
    return uid, imp_uid


def new_order(service: Payments) -> str:
    return service.orders.create(amount=ORDER_AMOUNT, name="검증 테스트").merchant_uid


def deliver_every_way(
    sandbox: Sandbox, service: Payments, uid: str, imp_uid: str
) -> list[str]:
    """The webhook (sent three times), the PC completion, the mobile return,
    a reconcile and a replay of every inbox row: the same truth again and again.

    :returns: the inbox outcomes before the replays.
    """
    sandbox.deliver_webhooks()
    for kind in ("pc", "mobile", "webhook"):
        service.notifications.receive(kind, Hint(imp_uid, uid, "paid"))
    service.reconciler.reconcile(since=service.orders.get(uid).created_at)  # type: ignore[union-attr]
    entries = service.inbox.search(merchant_uid=uid)
    for entry in entries:
        service.notifications.replay(entry.id)
    return [str(e.outcome) for e in entries]


def assert_refused_once(
    sandbox: Sandbox,
    service: Payments,
    recorded: Recorded,
    uid: str,
    imp_uid: str,
    reason: str,
) -> None:
    """Never paid; cancelled in full at PortOne once, with checksum; one row, one
    signal."""
    order = service.orders.get(uid)
    assert order is not None
    assert order.state is OrderState.MISMATCH
    assert reason in (order.mismatch_reason or "")
    assert order.paid_at is None and order.paid_amount == 0
    events = [h["event"] for h in service.orders.history(uid)]
    assert events == ["flag_mismatch"]

    portone = sandbox.payment(imp_uid)
    assert portone is not None and portone["status"] == "cancelled"
    assert len(portone["cancel_history"]) == 1
    assert portone["cancel_amount"] == portone["amount"]
    # The automatic cancel told PortOne the balance it saw.
    assert sandbox.cancel_checksums(imp_uid) == [Decimal(portone["amount"])]

    [row] = service.orders.refunds_of(uid)
    assert (row.source, row.status, row.imp_uid) == ("auto", "succeeded", imp_uid)
    assert row.amount == portone["amount"] and row.cancellation_id

    assert recorded.names(uid) == ["payment_mismatch"]
    [(_, _, data)] = recorded.calls
    assert data["action"] == "cancel" and data["imp_uid"] == imp_uid
    assert any(reason in r for r in data["reasons"])


# -- the pure rule: exactly the one reason, in each direction ------------------


@wrongs
def test_verify_names_exactly_what_differs(
    sandbox: Sandbox, service: Payments, wrong: Wrong
) -> None:
    uid = new_order(service)
    imp_uid = wrong_payment(sandbox, uid, wrong)
    order = service.orders.get(uid)
    assert order is not None
    verdict = verify(order, service.client.get_payment(imp_uid), Policy())
    assert not verdict.ok
    assert verdict.reasons == (wrong.reason,)


def test_verify_refuses_a_payment_for_another_order(
    sandbox: Sandbox, service: Payments
) -> None:
    """A payment that is right in every way but names another merchant_uid.

    The reconciler only ever compares a payment with the order its own
    merchant_uid names, so this can reach verify() only by a caller handing it
    another order: the rule itself must still refuse.
    """
    mine, theirs = new_order(service), new_order(service)
    imp_uid = keyed_payment(sandbox, theirs, ORDER_AMOUNT)["imp_uid"]
    order = service.orders.get(mine)
    assert order is not None
    verdict = verify(order, service.client.get_payment(imp_uid), Policy())
    assert verdict.reasons == (f"merchant_uid is {theirs!r}, expected {mine!r}",)
    right = service.orders.get(theirs)
    assert right is not None
    assert verify(right, service.client.get_payment(imp_uid), Policy()).ok


# -- through the service: webhook, completions, reconcile, replay ---------------


@wrongs
def test_wrong_payment_is_cancelled_once_however_often_it_arrives(
    sandbox: Sandbox, service: Payments, recorded: Recorded, wrong: Wrong
) -> None:
    uid = new_order(service)
    sandbox.inject_webhook_fault("duplicate", copies=3)
    imp_uid = wrong_payment(sandbox, uid, wrong)

    outcomes = deliver_every_way(sandbox, service, uid, imp_uid)

    assert_refused_once(sandbox, service, recorded, uid, imp_uid, wrong.reason)
    # Three webhooks and three completions: one did it, the rest changed nothing.
    assert len(outcomes) == 6
    assert outcomes.count(Outcome.MISMATCH) == 1
    assert set(outcomes) == {Outcome.MISMATCH, Outcome.NOOP}


@wrongs
def test_wrong_payment_first_seen_by_the_pc_completion(
    sandbox: Sandbox, service: Payments, recorded: Recorded, wrong: Wrong
) -> None:
    uid, imp_uid = unannounced(sandbox, service, wrong)

    first = service.notifications.receive("pc", Hint(imp_uid, uid, "paid"))

    assert first.outcome is Outcome.MISMATCH
    assert_refused_once(sandbox, service, recorded, uid, imp_uid, wrong.reason)


@wrongs
def test_wrong_payment_first_seen_by_reconcile(
    sandbox: Sandbox, service: Payments, recorded: Recorded, wrong: Wrong
) -> None:
    uid, imp_uid = unannounced(sandbox, service, wrong)

    report = service.reconciler.reconcile()

    assert report.applied == 1 and not report.errors
    assert_refused_once(sandbox, service, recorded, uid, imp_uid, wrong.reason)
    assert service.reconciler.reconcile().applied == 0
    assert_refused_once(sandbox, service, recorded, uid, imp_uid, wrong.reason)


@wrongs
def test_concurrent_deliveries_cancel_once(
    sandbox: Sandbox, service: Payments, recorded: Recorded, wrong: Wrong
) -> None:
    """Six deliveries of the same wrong payment at once, from six threads."""
    uid, imp_uid = unannounced(sandbox, service, wrong)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def deliver(kind: str) -> None:
        barrier.wait()
        try:
            service.notifications.receive(kind, Hint(imp_uid, uid, "paid"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=deliver, args=(kind,))
        for kind in ("webhook", "pc", "mobile") * 2
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert_refused_once(sandbox, service, recorded, uid, imp_uid, wrong.reason)


@wrongs
def test_hold_policy_keeps_the_money_and_never_pays(
    sandbox: Sandbox, engine: t.Any, relay: t.Any, wrong: Wrong
) -> None:
    service = build_service(sandbox, engine, policy=Policy(on_mismatch=OnMismatch.HOLD))
    relay.target = webhook_receiver(service)
    uid = new_order(service)
    sandbox.inject_webhook_fault("duplicate", copies=3)
    imp_uid = wrong_payment(sandbox, uid, wrong)

    deliver_every_way(sandbox, service, uid, imp_uid)

    order = service.orders.get(uid)
    assert order is not None and order.state is OrderState.MISMATCH
    assert wrong.reason in (order.mismatch_reason or "")
    portone = sandbox.payment(imp_uid)
    assert portone is not None and portone["status"] == "paid"
    assert portone["cancel_history"] == []
    [held] = service.orders.refunds_of(uid)
    assert (held.source, held.status) == ("auto", "held")
    assert [h["event"] for h in service.orders.history(uid)] == ["flag_mismatch"]


def test_a_hint_naming_another_order_pays_only_the_payments_own_order(
    sandbox: Sandbox, service: Payments, recorded: Recorded
) -> None:
    """A webhook, a PC completion and a mobile return all name order A with the
    imp_uid of a payment for order B. The truth is fetched by imp_uid, so it is
    applied to B (which it rightly pays) and never to A."""
    order_a, order_b = new_order(service), new_order(service)
    sandbox.inject_webhook_fault("drop")
    imp_uid = keyed_payment(sandbox, order_b, ORDER_AMOUNT)["imp_uid"]
    sandbox.deliver_webhooks()

    for kind in ("webhook", "pc", "mobile"):
        service.notifications.receive(kind, Hint(imp_uid, order_a, "paid"))

    a, b = service.orders.get(order_a), service.orders.get(order_b)
    assert a is not None and a.state is OrderState.READY and a.imp_uid is None
    assert b is not None and b.state is OrderState.PAID and b.imp_uid == imp_uid
    assert service.orders.history(order_a) == []
    assert recorded.names() == ["payment_paid"]
    assert recorded.calls[0][1] == order_b
    portone = sandbox.payment(imp_uid)
    assert portone is not None and portone["status"] == "paid"
    assert (
        service.orders.refunds_of(order_a) == service.orders.refunds_of(order_b) == []
    )
