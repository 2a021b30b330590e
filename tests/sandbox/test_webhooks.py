"""Webhooks: when PortOne sends them, how, and what the webhook faults do (§8)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import WebhookDelivery

from .peers import HOOK_URL
from .peers import Api
from .peers import Store

CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2099-12"}


def test_webhooks_for_exactly_the_published_events(
    sb: Sandbox, api: Api, store: Store
) -> None:
    paid = sb.checkout("w-1", 10000)  # paid
    sb.checkout("w-2", 10000, outcome="decline")  # none
    sb.checkout("w-3", 10000, outcome="close")  # none
    vbank = sb.checkout("w-4", 10000, pay_method="vbank")  # ready
    sb.deposit(vbank["imp_uid"])  # paid
    void = sb.checkout("w-5", 10000, pay_method="vbank")  # ready
    api.ok(api.delete(f"/vbanks/{void['imp_uid']}"))  # none
    api.ok(
        api.post(
            "/subscribe/payments/onetime",
            json={
                **CARD,
                "merchant_uid": "w-6",
                "amount": 5000,
                "customer_uid": "w-cu",
            },
        )
    )  # paid
    api.ok(
        api.post(
            "/subscribe/payments/onetime",
            json={**CARD, "merchant_uid": "w-7", "amount": 500},
        )
    )  # failed: none
    api.post(
        "/subscribe/payments/onetime",
        json={
            **CARD,
            "card_number": "4000-0000-0000-0002",
            "merchant_uid": "w-8",
            "amount": 5000,
        },
    )  # refused: none
    api.ok(
        api.post(
            "/subscribe/payments/again",
            json={
                "customer_uid": "w-cu",
                "merchant_uid": "w-9",
                "amount": 5000,
                "name": "n",
            },
        )
    )  # paid
    api.ok(
        api.post("/payments/cancel", json={"imp_uid": paid["imp_uid"], "amount": 1000})
    )
    api.ok(
        api.post(
            "/payments/cancel",
            json={"imp_uid": paid["imp_uid"], "amount": 1000, "enable_webhook": True},
        )
    )  # cancelled
    sb.console_cancel(paid["imp_uid"])  # cancelled
    sb.deliver_webhooks()
    assert [(b["merchant_uid"], b["status"]) for b in store.received] == [
        ("w-1", "paid"), ("w-4", "ready"), ("w-4", "paid"), ("w-5", "ready"),
        ("w-6", "paid"), ("w-9", "paid"), ("w-1", "cancelled"), ("w-1", "cancelled"),
    ]  # fmt: skip


def test_form_webhooks(store: Store) -> None:
    with Sandbox(
        webhook_url=HOOK_URL, webhook_format="form", webhook_sender=store.send
    ) as sb:
        paid = sb.checkout("w-f", 10000)
        done = sb.console_cancel(paid["imp_uid"])
        sb.deliver_webhooks()
    assert store.content_types == ["application/x-www-form-urlencoded"] * 2
    assert store.received[1] == {
        "imp_uid": paid["imp_uid"], "merchant_uid": "w-f", "status": "cancelled",
        "cancellation_id": done["cancel_history"][0]["cancellation_id"],
    }  # fmt: skip
    assert store.content_types[0] != "application/json"


def test_notice_url_replaces_the_console_url(sb: Sandbox) -> None:
    sb.checkout("w-n1", 10000, notice_url="http://a.test/hook")
    sb.checkout("w-n2", 10000, notice_url=["http://a.test/1", "http://b.test/2"])
    sent = sb.deliver_webhooks()
    assert [d.url for d in sent] == [
        "http://a.test/hook",
        "http://a.test/1",
        "http://b.test/2",
    ]


def test_no_url_means_recorded_as_not_sent() -> None:
    calls: list[WebhookDelivery] = []
    with Sandbox(webhook_sender=lambda d: calls.append(d) or 200) as sb:
        sb.checkout("w-x", 10000)
        assert sb.deliver_webhooks() == []
        [entry] = sb.webhook_log
    assert calls == [] and entry.kind == "not_sent" and entry.url is None


def test_auto_mode_delivers_without_being_asked() -> None:
    arrived = threading.Event()

    def sender(delivery: WebhookDelivery) -> int:
        arrived.set()
        return 200

    with Sandbox(webhook_url=HOOK_URL, webhook_sender=sender, auto_deliver=True) as sb:
        sb.checkout("w-auto", 10000)
        assert arrived.wait(5)


def test_drop_fault(sb: Sandbox, store: Store) -> None:
    sb.inject_webhook_fault("drop")
    sb.checkout("w-d1", 10000)
    sb.checkout("w-d2", 10000)
    sb.deliver_webhooks()
    assert [b["merchant_uid"] for b in store.received] == ["w-d2"]
    assert [d.kind for d in sb.webhook_log] == ["dropped", "delivered"]


def test_duplicate_fault(sb: Sandbox, store: Store) -> None:
    sb.inject_webhook_fault("duplicate", copies=3)
    sb.checkout("w-dup", 10000)
    sb.deliver_webhooks()
    assert [b["merchant_uid"] for b in store.received] == ["w-dup"] * 3
    assert [d.kind for d in sb.webhook_log] == ["delivered", "duplicate", "duplicate"]


def test_delay_fault_uses_the_sandbox_clock(sb: Sandbox, store: Store) -> None:
    sb.inject_webhook_fault("delay", delay=120)
    sb.checkout("w-late", 10000)
    sb.checkout("w-early", 10000)
    sb.deliver_webhooks()
    assert [b["merchant_uid"] for b in store.received] == ["w-early"]
    sb.advance_clock(119)
    assert sb.deliver_webhooks() == []
    sb.advance_clock(1)
    sb.deliver_webhooks()
    assert [b["merchant_uid"] for b in store.received] == ["w-early", "w-late"]


def test_reorder_fault_delivers_newest_first(sb: Sandbox, store: Store) -> None:
    sb.inject_webhook_fault("reorder", times=3)
    vbank = sb.checkout("w-r", 10000, pay_method="vbank")
    sb.deposit(vbank["imp_uid"])
    assert sb.deliver_webhooks() == []  # two held, waiting for a third
    sb.console_cancel(vbank["imp_uid"])
    sb.deliver_webhooks()
    assert store.statuses() == ["cancelled", "paid", "ready"]


def test_clearing_faults_releases_held_webhooks(sb: Sandbox, store: Store) -> None:
    sb.inject_webhook_fault("reorder", times=5)
    sb.checkout("w-h1", 10000)
    sb.checkout("w-h2", 10000)
    sb.clear_faults()
    sb.deliver_webhooks()
    assert [b["merchant_uid"] for b in store.received] == ["w-h2", "w-h1"]


@pytest.fixture
def retrying(store: Store) -> Iterator[Sandbox]:
    with Sandbox(
        webhook_url=HOOK_URL, webhook_sender=store.send, webhook_retries=True
    ) as sandbox:
        yield sandbox


def test_retries_a_minute_apart_until_success(retrying: Sandbox, store: Store) -> None:
    store.status = 500
    retrying.checkout("w-retry", 10000)
    assert [d.status for d in retrying.deliver_webhooks()] == [500]
    assert retrying.deliver_webhooks() == []  # not before a minute
    retrying.advance_clock(60)
    assert [d.attempt for d in retrying.deliver_webhooks()] == [2]
    store.status = 200
    retrying.advance_clock(60)
    assert [(d.attempt, d.status) for d in retrying.deliver_webhooks()] == [(3, 200)]
    retrying.advance_clock(600)
    assert retrying.deliver_webhooks() == []


def test_retries_stop_after_five(retrying: Sandbox, store: Store) -> None:
    store.status = 503
    retrying.checkout("w-5x", 10000)
    attempts = []
    for _ in range(8):
        attempts += [d.attempt for d in retrying.deliver_webhooks()]
        retrying.advance_clock(60)
    assert attempts == [1, 2, 3, 4, 5, 6]


def test_network_errors_are_retried_but_4xx_is_not() -> None:
    def broken(delivery: WebhookDelivery) -> int:
        raise ConnectionRefusedError("refused")

    with Sandbox(
        webhook_url=HOOK_URL, webhook_sender=broken, webhook_retries=True
    ) as sb:
        sb.checkout("w-net", 10000)
        [first] = sb.deliver_webhooks()
        assert first.status is None and first.err == "ConnectionRefusedError: refused"
        sb.advance_clock(60)
        assert [d.attempt for d in sb.deliver_webhooks()] == [2]
    with Sandbox(
        webhook_url=HOOK_URL, webhook_sender=lambda d: 404, webhook_retries=True
    ) as sb:
        sb.checkout("w-404", 10000)
        sb.deliver_webhooks()
        sb.advance_clock(60)
        assert sb.deliver_webhooks() == []


def test_without_retries_there_is_one_attempt(sb: Sandbox, store: Store) -> None:
    store.status = 500
    sb.checkout("w-once", 10000)
    sb.deliver_webhooks()
    sb.advance_clock(60)
    assert sb.deliver_webhooks() == []
    assert len(sb.webhook_log) == 1


def test_control_webhook_endpoints(sb: Sandbox, store: Store) -> None:
    client = sb.app.test_client()
    added = client.post(
        "/_sandbox/webhook-faults", json={"kind": "duplicate", "copies": 2}
    )
    assert added.get_json()["response"]["webhooks"][0]["kind"] == "duplicate"
    sb.checkout("w-ctl", 10000)
    sent = client.post("/_sandbox/webhooks/deliver").get_json()["response"]
    assert [d["kind"] for d in sent] == ["delivered", "duplicate"]
    log = client.get("/_sandbox/webhooks").get_json()["response"]
    assert log[0]["body"]["merchant_uid"] == "w-ctl" and log[0]["status"] == 200
    assert (
        client.delete("/_sandbox/webhook-faults").get_json()["response"]["webhooks"]
        == []
    )
    bad = client.post("/_sandbox/webhook-faults", json={"kind": "explode"})
    assert bad.status_code == 400 and bad.get_json()["code"] == -1
