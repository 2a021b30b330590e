"""Scheduled payments: schedule, run on the clock, unschedule, lookups (§6.6)."""

from __future__ import annotations

from typing import Any

import pytest

from flask_nicepay.sandbox import Sandbox

from .peers import HOOK_URL
from .peers import Api
from .peers import Store
from .peers import refusal

SCHEDULE_FIELDS = {
    "customer_uid", "merchant_uid", "imp_uid", "pg_provider", "pg_id", "customer_id",
    "schedule_at", "executed_at", "revoked_at", "amount", "currency", "name",
    "buyer_name", "buyer_email", "buyer_tel", "buyer_addr", "buyer_postcode",
    "custom_data", "schedule_status", "payment_status", "fail_reason", "promotion_id",
}  # fmt: skip
CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2099-12"}
NOTICE = "http://store.test/portone/schedule-webhook"


@pytest.fixture
def customer(api: Api) -> str:
    api.ok(
        api.post(
            "/subscribe/customers/sc-cust",
            json={**CARD, "customer_name": "정기고객", "customer_id": "m-9"},
        )
    )
    return "sc-cust"


def schedule(api: Api, customer_uid: str, *items: dict[str, Any], **extra: Any) -> Any:
    return api.post(
        "/subscribe/payments/schedule",
        json={"customer_uid": customer_uid, "schedules": list(items), **extra},
    )


def item(
    sb: Sandbox, merchant_uid: str, after: int = 3600, **extra: Any
) -> dict[str, Any]:
    return {"merchant_uid": merchant_uid, "schedule_at": sb.now() + after,
            "amount": 9900, "name": "구독", **extra}  # fmt: skip


def test_schedule_answers_scheduled_results(
    sb: Sandbox, api: Api, customer: str
) -> None:
    results = api.ok(schedule(api, customer, item(sb, "s-1"), item(sb, "s-2", 7200)))
    assert [r["merchant_uid"] for r in results] == ["s-1", "s-2"]
    first = results[0]
    assert set(first) == SCHEDULE_FIELDS
    assert first["schedule_status"] == "scheduled" and first["payment_status"] is None
    assert first["imp_uid"] is None and first["executed_at"] == first["revoked_at"] == 0
    assert first["buyer_name"] == "정기고객" and first["customer_id"] == "m-9"
    assert api.ok(api.get("/subscribe/payments/schedule/s-1")) == first


def test_schedule_refusals(sb: Sandbox, api: Api, customer: str) -> None:
    unknown = refusal(schedule(api, "nobody", item(sb, "s-3")))
    assert unknown == (200, 1, "등록된 고객정보가 없습니다.")
    bad_card = refusal(
        schedule(
            api,
            "nobody",
            item(sb, "s-3"),
            card_number="4242-4242-4242-4241",
            expiry="2099-12",
        )
    )
    assert bad_card[:2] == (200, 1)
    assert bad_card[2].startswith("카드정보 확인에 실패하였습니다. [F112]")
    past = refusal(schedule(api, customer, item(sb, "s-3", after=-10)))
    assert past[:2] == (200, 1)
    api.ok(schedule(api, customer, item(sb, "s-3")))
    twice = refusal(schedule(api, customer, item(sb, "s-4"), item(sb, "s-3")))
    assert twice[:2] == (200, 1)
    assert (
        api.get("/subscribe/payments/schedule/s-4").status_code == 404
    )  # nothing stored


def test_schedule_with_card_data_issues_the_key(sb: Sandbox, api: Api) -> None:
    api.ok(schedule(api, "sc-new", item(sb, "s-5"), **CARD))
    assert (
        api.ok(api.get("/subscribe/customers/sc-new"))["card_number"]
        == "424242******4242"
    )


def test_php_style_form_body(sb: Sandbox, api: Api, customer: str) -> None:
    at = str(sb.now() + 60)
    answer = api.post("/subscribe/payments/schedule", data={
        "customer_uid": customer,
        "schedules[0][merchant_uid]": "s-f0", "schedules[0][schedule_at]": at,
        "schedules[0][amount]": "1000",
        "schedules[1][merchant_uid]": "s-f1", "schedules[1][schedule_at]": at,
        "schedules[1][amount]": "2000",
    })  # fmt: skip
    assert [r["amount"] for r in api.ok(answer)] == [1000, 2000]


def test_due_schedules_run_when_the_clock_moves(
    sb: Sandbox, api: Api, store: Store, customer: str
) -> None:
    api.ok(schedule(api, customer, item(sb, "s-6", notice_url=NOTICE)))
    api.ok(
        api.post(
            "/subscribe/customers/sc-poor",
            json={**CARD, "card_number": "4000-0000-0000-0341"},
        )
    )
    api.ok(schedule(api, "sc-poor", item(sb, "s-7", after=1800)))
    assert sb.advance_clock(1000) == []
    executed = sb.advance_clock(3000)
    assert [s["merchant_uid"] for s in executed] == ["s-7", "s-6"]
    paid = api.ok(api.get("/subscribe/payments/schedule/s-6"))
    assert paid["schedule_status"] == "executed" and paid["payment_status"] == "paid"
    payment = api.ok(api.get(f"/payments/{paid['imp_uid']}"))
    assert payment["customer_uid_usage"] == "payment.scheduled"
    assert payment["customer_uid"] == customer and payment["buyer_name"] == "정기고객"
    failed = api.ok(api.get("/subscribe/payments/schedule/s-7"))
    assert failed["payment_status"] == "failed" and "잔액부족" in failed["fail_reason"]
    sb.deliver_webhooks()
    urls = [(d.url, d.body["status"]) for d in sb.webhook_log]
    assert urls == [(HOOK_URL, "failed"), (NOTICE, "paid")]


def test_deleted_key_makes_the_schedule_fail(
    sb: Sandbox, api: Api, customer: str
) -> None:
    api.ok(schedule(api, customer, item(sb, "s-8")))
    api.ok(api.delete(f"/subscribe/customers/{customer}"))
    sb.advance_clock(3600)
    record = api.ok(api.get("/subscribe/payments/schedule/s-8"))
    assert record["payment_status"] == "failed"
    assert record["fail_reason"] == "등록되지 않은 구매자입니다."
    sb.deliver_webhooks()
    assert [d.body["status"] for d in sb.webhook_log] == ["failed"]


def test_payment_status_follows_a_later_cancel(
    sb: Sandbox, api: Api, customer: str
) -> None:
    api.ok(schedule(api, customer, item(sb, "s-9")))
    [executed] = sb.advance_clock(3600)
    api.ok(api.post("/payments/cancel", json={"imp_uid": executed["imp_uid"]}))
    assert (
        api.ok(api.get("/subscribe/payments/schedule/s-9"))["payment_status"]
        == "cancelled"
    )


def test_unschedule(sb: Sandbox, api: Api, customer: str) -> None:
    api.ok(schedule(api, customer, *(item(sb, f"s-u{i}") for i in range(4))))
    one = api.ok(
        api.post(
            "/subscribe/payments/unschedule",
            json={"customer_uid": customer, "merchant_uid": "s-u0"},
        )
    )
    assert [r["schedule_status"] for r in one] == ["revoked"] and one[0][
        "revoked_at"
    ] > 0
    listed = api.ok(
        api.post(
            "/subscribe/payments/unschedule", data={"merchant_uid[]": ["s-u1", "s-u2"]}
        )
    )
    assert sorted(r["merchant_uid"] for r in listed) == ["s-u1", "s-u2"]
    rest = api.ok(
        api.post("/subscribe/payments/unschedule", json={"customer_uid": customer})
    )
    assert [r["merchant_uid"] for r in rest] == ["s-u3"]
    nothing = refusal(
        api.post("/subscribe/payments/unschedule", json={"customer_uid": customer})
    )
    assert nothing == (200, 1, "취소할 예약결제 기록이 존재하지 않습니다.")
    assert sb.advance_clock(7200) == []


def test_reschedule(sb: Sandbox, api: Api, customer: str) -> None:
    api.ok(schedule(api, customer, item(sb, "s-r")))
    later = sb.now() + 86400
    moved = api.ok(
        api.put("/subscribe/payments/schedule/s-r", json={"schedule_at": later})
    )
    assert moved["schedule_at"] == later
    past = api.put(
        "/subscribe/payments/schedule/s-r", json={"schedule_at": sb.now() - 1}
    )
    assert refusal(past)[0] == 400
    sb.set_clock(later)
    done = api.put(
        "/subscribe/payments/schedule/s-r", json={"schedule_at": later + 999}
    )
    assert refusal(done)[0] == 400
    assert (
        api.put(
            "/subscribe/payments/schedule/nope", json={"schedule_at": later}
        ).status_code
        == 404
    )


def test_schedule_searches_are_paged(sb: Sandbox, api: Api, customer: str) -> None:
    api.ok(
        schedule(
            api, customer, *(item(sb, f"s-q{i}", after=60 * (i + 1)) for i in range(5))
        )
    )
    api.ok(api.post("/subscribe/payments/unschedule", json={"merchant_uid": "s-q4"}))
    since, until = sb.now(), sb.now() + 3600
    page = api.ok(
        api.get(
            "/subscribe/payments/schedule",
            params={
                "schedule_from": since,
                "schedule_to": until,
                "page": 1,
                "limit": 2,
            },
        )
    )
    assert (page["total"], page["previous"], page["next"]) == (5, 0, 2)
    assert [s["merchant_uid"] for s in page["list"]] == ["s-q4", "s-q3"]
    oldest = api.ok(api.get("/subscribe/payments/schedule", params={
        "schedule_from": since, "schedule_to": until, "schedule_status": "scheduled",
        "sorting": "scheduled"}))  # fmt: skip
    assert [s["merchant_uid"] for s in oldest["list"]] == [f"s-q{i}" for i in range(4)]
    for path in (
        f"/subscribe/payments/schedule/customers/{customer}",
        f"/subscribe/customers/{customer}/schedules",
    ):
        revoked = api.ok(
            api.get(
                path, params={"from": since, "to": until, "schedule-status": "revoked"}
            )
        )
        assert [s["merchant_uid"] for s in revoked["list"]] == ["s-q4"]


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"schedule_from": 0, "schedule_to": 200 * 86400},
        {"schedule_from": 10, "schedule_to": 20, "schedule_status": "odd"},
    ],
)
def test_schedule_search_refusals(api: Api, query: dict[str, Any]) -> None:
    assert refusal(api.get("/subscribe/payments/schedule", params=query))[:2] == (
        400,
        -1,
    )


def test_control_clock_and_run(sb: Sandbox, api: Api, customer: str) -> None:
    api.ok(schedule(api, customer, item(sb, "s-c")))
    client = sb.app.test_client()
    before = client.get("/_sandbox/clock").get_json()["response"]["now"]
    moved = client.post("/_sandbox/clock", json={"advance": 3600}).get_json()[
        "response"
    ]
    assert moved["now"] >= before + 3600
    assert (
        api.ok(api.get("/subscribe/payments/schedule/s-c"))["schedule_status"]
        == "executed"
    )
    assert client.post("/_sandbox/schedules/run").get_json()["response"] == []
    back = client.post("/_sandbox/clock", json={"set": before})
    assert back.status_code == 400


def test_rearm_schedules_a_revoked_or_failed_one_again(
    sb: Sandbox, api: Api, customer: str
) -> None:
    path = "/subscribe/payments/schedule/{}/reschedule"
    api.ok(schedule(api, customer, item(sb, "s-a"), item(sb, "s-b")))
    pending = api.post(path.format("s-a"), json={"schedule_at": sb.now() + 99})
    assert refusal(pending)[:2] == (400, 1)
    api.ok(api.post("/subscribe/payments/unschedule", json={"merchant_uid": "s-a"}))
    past = api.post(path.format("s-a"), json={"schedule_at": sb.now() - 1})
    assert refusal(past)[:2] == (400, 1)
    later = sb.now() + 7200
    armed = api.ok(api.post(path.format("s-a"), json={"schedule_at": later}))
    assert armed["schedule_status"] == "scheduled" and armed["schedule_at"] == later
    assert armed["revoked_at"] == 0 and armed["merchant_uid"] == "s-a"
    assert [s["merchant_uid"] for s in sb.advance_clock(3600)] == ["s-b"]
    paid_first = api.post(path.format("s-b"), json={"schedule_at": later})
    assert refusal(paid_first)[:2] == (400, 1)  # executed and paid: not again
    [ran] = sb.advance_clock(3600)
    assert ran["merchant_uid"] == "s-a" and ran["payment_status"] == "paid"
    assert api.post(path.format("nope"), json={"schedule_at": later}).status_code == 404
    for bad in ({}, {"schedule_at": "soon"}, {"schedule_at": [1]}):
        assert refusal(api.post(path.format("s-a"), json=bad))[:2] == (400, -1)


def test_rearm_after_a_failed_run(sb: Sandbox, api: Api) -> None:
    api.ok(
        api.post(
            "/subscribe/customers/sc-poor2",
            json={**CARD, "card_number": "4000-0000-0000-0341"},
        )
    )
    api.ok(schedule(api, "sc-poor2", item(sb, "s-p")))
    [failed] = sb.advance_clock(3600)
    assert failed["payment_status"] == "failed"
    path = "/subscribe/payments/schedule/s-p/reschedule"
    armed = api.ok(api.post(path, json={"schedule_at": sb.now() + 60}))
    assert armed["payment_status"] is None and armed["imp_uid"] is None
    assert armed["executed_at"] == 0 and armed["fail_reason"] is None
