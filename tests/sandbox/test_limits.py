"""Memory stays bounded; many threads keep the books consistent; reset and dump."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import serve

from .peers import HOOK_URL
from .peers import Api

CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2099-12"}


@pytest.fixture
def small() -> Iterator[Sandbox]:
    with Sandbox(
        webhook_url=HOOK_URL, webhook_sender=lambda d: 200, max_payments=50
    ) as sb:
        yield sb


def test_every_structure_stays_within_its_bound(small: Sandbox) -> None:
    api = Api(small)
    for n in range(500):
        small.checkout(f"m-{n}", 10000, outcome="decline" if n % 2 else "approve")
        api.ok(
            api.post("/payments/prepare", json={"merchant_uid": f"p-{n}", "amount": 1})
        )
    for n in range(120):
        api.ok(api.post("/subscribe/payments/schedule", json={
            **CARD, "customer_uid": f"c-{n}",
            "schedules": [{"merchant_uid": f"s-{n}", "schedule_at": small.now() + 60,
                           "amount": 1000}]}))  # fmt: skip
    small.advance_clock(60)
    small.deliver_webhooks()
    sizes = small.sizes()
    assert max(sizes.values()) <= 50, sizes
    assert sizes["payments"] == sizes["merchant_index"] == 50


def test_final_payments_are_evicted_first(small: Sandbox) -> None:
    keep = [small.checkout(f"keep-{n}", 10000)["imp_uid"] for n in range(10)]
    for n in range(200):
        small.checkout(f"gone-{n}", 10000, outcome="decline")
    assert small.payments_count() == 50
    assert all(small.payment(imp_uid) is not None for imp_uid in keep)


def test_many_threads_keep_the_totals_consistent(sb: Sandbox) -> None:
    threads, per_thread = 8, 15
    cancelled: list[int] = []
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            api = Api(sb)
            for n in range(per_thread):
                paid = sb.checkout(f"t-{worker}-{n}", 10000)
                answer = api.ok(
                    api.post(
                        "/payments/cancel",
                        json={
                            "imp_uid": paid["imp_uid"],
                            "amount": 1000 + n,
                            "checksum": 10000,
                        },
                    )
                )
                cancelled.append(answer["cancel_amount"])
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert sb.payments_count() == threads * per_thread
    api = Api(sb)
    listed = api.ok(api.get("/payments/status/cancelled", params={"limit": 1000}))[
        "list"
    ]
    assert len({p["imp_uid"] for p in listed}) == threads * per_thread
    assert sum(p["cancel_amount"] for p in listed) == sum(cancelled)
    assert sum(cancelled) == threads * sum(1000 + n for n in range(per_thread))
    assert len(sb.deliver_webhooks()) == threads * per_thread


def test_concurrent_requests_over_a_socket(sb: Sandbox) -> None:
    with serve(sb) as base:
        token = requests.post(
            base + "/users/getToken",
            timeout=5,
            json={"imp_key": sb.imp_key, "imp_secret": sb.imp_secret},
        ).json()["response"]
        paid = sb.checkout("t-socket", 100000)["imp_uid"]
        results: list[int] = []

        def cancel_once() -> None:
            with requests.Session() as http:
                answer = http.post(
                    base + "/payments/cancel",
                    timeout=10,
                    headers={"Authorization": token["access_token"]},
                    json={"imp_uid": paid, "amount": 1000},
                )
                results.append(answer.json()["code"])

        workers = [threading.Thread(target=cancel_once) for _ in range(20)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert results == [0] * 20
    payment = sb.payment(paid)
    assert payment is not None and payment["cancel_amount"] == 20000
    assert len(payment["cancel_history"]) == 20


def test_reset_forgets_everything_but_the_keys(sb: Sandbox) -> None:
    sb.checkout("r-1", 10000)
    sb.inject_fault("500")
    sb.advance_clock(3600)
    client = sb.app.test_client()
    state = client.post("/_sandbox/reset").get_json()["response"]
    assert state["sizes"]["payments"] == 0 and state["faults"] == []
    assert abs(state["now"] - sb.now()) <= 1 and state["clock_offset"] == 0
    api = Api(sb)  # the same keys still work
    assert api.get("/payments/find/r-1").status_code == 404


def test_state_dump_is_readable_and_secret_free(sb: Sandbox) -> None:
    api = Api(sb)
    sb.checkout("d-1", 10000)
    api.ok(api.post("/subscribe/customers/d-c", json=CARD))
    state = sb.app.test_client().get("/_sandbox/state").get_json()["response"]
    assert state["payments"][0]["merchant_uid"] == "d-1"
    assert state["customers"][0]["card_number"] == "424242******4242"
    text = str(state)
    assert sb.imp_secret not in text
    assert api.session.headers["Authorization"].split()[-1] not in text
    assert "sandbox_secret" not in repr(sb)


def test_a_rearmed_schedule_is_not_evicted_as_final(small: Sandbox) -> None:
    api = Api(small)
    api.ok(api.post("/subscribe/customers/c-keep", json=CARD))

    def schedule(uid: str) -> None:
        api.ok(api.post("/subscribe/payments/schedule", json={
            "customer_uid": "c-keep", "schedules": [{"merchant_uid": uid,
            "schedule_at": small.now() + 3600, "amount": 1000}]}))  # fmt: skip

    schedule("armed")
    api.ok(api.post("/subscribe/payments/unschedule", json={"merchant_uid": "armed"}))
    path = "/subscribe/payments/schedule/armed/reschedule"
    api.ok(api.post(path, json={"schedule_at": small.now() + 3600}))
    for n in range(49):  # fill the table with pending ones, then revoke them
        schedule(f"other-{n}")
        api.ok(api.post("/subscribe/payments/unschedule", json={
            "merchant_uid": f"other-{n}"}))  # fmt: skip
    schedule("one-more")  # the table is full: a final one goes, not the pending one
    assert api.ok(api.get("/subscribe/payments/schedule/armed"))["schedule_status"] == (
        "scheduled"
    )
