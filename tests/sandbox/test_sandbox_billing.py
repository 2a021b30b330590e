"""Billing keys, key-in (onetime) and stored-key (again) payments (§6.1–§6.5)."""

from __future__ import annotations

import gc
import types
from collections.abc import Iterator
from typing import Any

import pytest

from flask_nicepay.sandbox import Sandbox

from .peers import Api
from .peers import Store
from .peers import refusal

CUSTOMER_FIELDS = {
    "customer_uid", "pg_provider", "pg_id", "customer_id", "card_name", "card_code",
    "card_number", "card_type", "card_issuer_code", "card_issuer_name",
    "card_publisher_code", "card_publisher_name", "customer_name", "customer_tel",
    "customer_email", "customer_addr", "customer_postcode", "inserted", "updated",
    "sandbox",
}  # fmt: skip
CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2099-12", "birth": "880101",
        "pwd_2digit": "12"}  # fmt: skip
NO_BALANCE_CARD = {**CARD, "card_number": "4000-0000-0000-0341"}


def issue(api: Api, uid: str, **card: str) -> Any:
    return api.post(f"/subscribe/customers/{uid}", json={**CARD, **card})


def test_issue_answers_a_masked_customer(api: Api) -> None:
    customer = api.ok(
        issue(api, "cu-1", customer_name="홍길동", customer_id="member-1")
    )
    assert set(customer) == CUSTOMER_FIELDS
    assert customer["card_number"] == "424242******4242"
    assert (customer["card_code"], customer["card_name"], customer["card_type"]) == (
        "366", "신한카드", 0)  # fmt: skip
    assert (customer["pg_provider"], customer["pg_id"]) == ("nice", "nictest04m")
    assert (
        customer["customer_name"] == "홍길동" and customer["customer_id"] == "member-1"
    )
    assert customer["inserted"] == customer["updated"] > 0
    assert api.ok(api.get("/subscribe/customers/cu-1")) == customer


@pytest.mark.parametrize(
    ("card", "nice_code"),
    [
        ({"card_number": "4242-4242-4242-4241"}, "[F112]"),
        ({"card_number": "1234"}, "[F112]"),
        ({"card_number": "4000-0000-0000-0002"}, "[F113]"),
        ({"card_number": "4000-0000-0000-0069"}, "[3021]"),
        ({"expiry": "2020-01"}, "[3021]"),
        ({"expiry": "12/30"}, "[3021]"),
        ({"birth": "8801"}, "[F113]"),
    ],
)
def test_issue_refusals_are_code_minus_1(
    api: Api, card: dict[str, str], nice_code: str
) -> None:
    status, code, message = refusal(issue(api, "cu-2", **card))
    assert (status, code) == (200, -1)
    assert message.startswith(
        "카드정보 인증 및 빌키 발급에 실패하였습니다. " + nice_code
    )
    assert refusal(api.get("/subscribe/customers/cu-2"))[:2] == (200, 1)


def test_reissue_replaces_the_card(sb: Sandbox, api: Api) -> None:
    first = api.ok(issue(api, "cu-3"))
    sb.advance_clock(10)
    second = api.ok(issue(api, "cu-3", card_number="5555-5555-5555-4444"))
    assert second["card_number"] == "555555******4444"
    assert (
        second["inserted"] == first["inserted"]
        and second["updated"] == first["updated"] + 10
    )


def test_unknown_customer_is_http_200_code_1(api: Api) -> None:
    """As PortOne V1's own clients found in their tests against PortOne's test
    account: a business answer (HTTP 200, code 1), not a 404."""
    expected = (
        200,
        1,
        "요청하신 customer_uid(nobody)로 등록된 정보를 찾을 수 없습니다.",
    )
    assert refusal(api.get("/subscribe/customers/nobody")) == expected
    assert refusal(api.delete("/subscribe/customers/nobody?reason=x")) == expected


def test_delete_answers_the_key_and_forgets_it(api: Api) -> None:
    issued = api.ok(issue(api, "cu-4"))
    assert (
        api.ok(api.delete("/subscribe/customers/cu-4", params={"reason": "탈퇴"}))
        == issued
    )
    assert refusal(api.get("/subscribe/customers/cu-4"))[:2] == (200, 1)


def test_multi_get_customers(api: Api) -> None:
    api.ok(issue(api, "cu-5"))
    api.ok(issue(api, "cu-6"))
    both = api.get("/subscribe/customers", params={"customer_uid[]": ["cu-5", "cu-6"]})
    assert both.status_code == 200 and len(both.json()["response"]) == 2
    some = api.get("/subscribe/customers", params={"customer_uid[]": ["cu-5", "cu-x"]})
    assert some.status_code == 207 and [
        c["customer_uid"] for c in some.json()["response"]
    ] == ["cu-5"]
    assert refusal(api.get("/subscribe/customers?customer_uid[]=cu-x"))[:2] == (404, 1)


def test_again_pays_with_the_stored_key(sb: Sandbox, api: Api, store: Store) -> None:
    api.ok(issue(api, "cu-7", customer_name="김철수"))
    body = {
        "customer_uid": "cu-7",
        "merchant_uid": "a-1",
        "amount": 9900,
        "name": "정기결제",
    }
    paid = api.ok(
        api.post(
            "/subscribe/payments/again",
            json=body,
        )
    )
    assert paid["status"] == "paid" and paid["customer_uid_usage"] == "payment"
    assert (paid["channel"], paid["pg_id"], paid["user_agent"]) == (
        "api",
        "nictest04m",
        None,
    )
    assert paid["card_number"] == "424242******4242" and paid["buyer_name"] == "김철수"
    again = refusal(
        api.post(
            "/subscribe/payments/again",
            json=body,
        )
    )
    assert again[:2] == (200, 1)
    sb.deliver_webhooks()
    assert store.statuses() == ["paid"]


def test_again_refusals(api: Api) -> None:
    body = {
        "customer_uid": "nobody",
        "merchant_uid": "a-2",
        "amount": 9900,
        "name": "n",
    }
    assert refusal(api.post("/subscribe/payments/again", json=body)) == (
        200, 1, "등록되지 않은 구매자입니다.")  # fmt: skip
    # Without a name, an unknown key is still the answer (as PortOne was seen to
    # give), and a known key pays.
    no_name = {"merchant_uid": "a-3", "amount": 9900}
    assert refusal(
        api.post("/subscribe/payments/again", json={**no_name, "customer_uid": "x"})
    ) == (200, 1, "등록되지 않은 구매자입니다.")
    api.ok(issue(api, "cu-8"))
    paid = api.ok(
        api.post("/subscribe/payments/again", json={**no_name, "customer_uid": "cu-8"})
    )
    assert paid["status"] == "paid" and paid["amount"] == 9900


def test_key_whose_payments_are_declined(sb: Sandbox, api: Api, store: Store) -> None:
    api.ok(issue(api, "cu-9", **NO_BALANCE_CARD))
    failed = api.ok(
        api.post(
            "/subscribe/payments/again",
            json={
                "customer_uid": "cu-9",
                "merchant_uid": "a-3",
                "amount": 9900,
                "name": "n",
            },
        )
    )
    assert failed["status"] == "failed" and failed["failed_at"] > 0
    assert failed["fail_reason"] == "[3095]카드사 실패 응답(잔액부족)"
    sb.deliver_webhooks()
    assert store.received == []  # no webhook for an ordinary failure


def test_onetime_pays_and_can_store_a_key(api: Api) -> None:
    plain = api.ok(
        api.post(
            "/subscribe/payments/onetime",
            json={**CARD, "merchant_uid": "o-1", "amount": 15000},
        )
    )
    assert plain["status"] == "paid" and plain["customer_uid"] is None
    assert plain["customer_uid_usage"] is None and plain["channel"] == "api"
    keyed = api.ok(api.post("/subscribe/payments/onetime", data={
        **CARD, "merchant_uid": "o-2", "amount": "15000", "customer_uid": "cu-10",
        "buyer_name": "이영희"}))  # fmt: skip
    assert keyed["customer_uid"] == "cu-10" and keyed["customer_uid_usage"] == "issue"
    stored = api.ok(api.get("/subscribe/customers/cu-10"))
    assert stored["customer_name"] == "이영희"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"card_number": "4000-0000-0000-9995"}, "[3095]카드사 실패 응답(한도초과)"),
        ({"card_quota": 3, "amount": 30000}, "[3024]할부 최소금액 오류(50000미만)"),
        ({"card_quota": 1, "amount": 60000}, "[3022]할부개월오류"),
        ({"amount": 500}, "[3041]금액 오류(1000원 미만 신용카드 승인 불가)"),
    ],
)
def test_onetime_declines_are_code_0_and_failed(
    api: Api, extra: dict[str, Any], reason: str
) -> None:
    body = {**CARD, "merchant_uid": "o-3", "amount": 15000, **extra}
    failed = api.ok(api.post("/subscribe/payments/onetime", json=body))
    assert failed["status"] == "failed" and failed["fail_reason"] == reason


def test_onetime_installments_from_50000(api: Api) -> None:
    body = {**CARD, "merchant_uid": "o-4", "amount": 60000, "card_quota": 3}
    assert api.ok(api.post("/subscribe/payments/onetime", json=body))["card_quota"] == 3


def test_onetime_card_rejection_is_code_minus_1_without_payment(
    sb: Sandbox, api: Api
) -> None:
    body = {**CARD, "card_number": "4000-0000-0000-0002", "merchant_uid": "o-5",
            "amount": 15000}  # fmt: skip
    status, code, message = refusal(api.post("/subscribe/payments/onetime", json=body))
    assert (status, code) == (200, -1)
    assert (
        message == "카드정보 인증에 실패하였습니다. [F113]본인의 신용카드 확인중 오류"
    )
    assert sb.payments_count() == 0


def test_onetime_required_fields(api: Api) -> None:
    answer = api.post(
        "/subscribe/payments/onetime", json={"merchant_uid": "o-6", "amount": 1000}
    )
    assert refusal(answer)[:2] == (400, -1)


def test_payments_of_a_key_are_paged(api: Api) -> None:
    api.ok(issue(api, "cu-11"))
    for number in range(3):
        api.ok(api.post("/subscribe/payments/again", json={
            "customer_uid": "cu-11", "merchant_uid": f"a-p{number}", "amount": 1000,
            "name": "n"}))  # fmt: skip
    page = api.ok(
        api.get("/subscribe/customers/cu-11/payments", params={"page": 1, "limit": 2})
    )
    assert (page["total"], page["previous"], page["next"]) == (3, 0, 2)
    assert [p["merchant_uid"] for p in page["list"]] == ["a-p2", "a-p1"]


def _reachable(root: object) -> Iterator[object]:
    """Every object reachable from ``root``, not crossing into code or modules."""
    skip = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
            types.MappingProxyType, types.CodeType, types.FrameType)  # fmt: skip
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, skip):
            continue
        seen.add(id(node))
        yield node
        stack.extend(gc.get_referents(node))


def test_no_full_card_number_or_birth_date_is_kept(sb: Sandbox, api: Api) -> None:
    api.ok(issue(api, "cu-12", **NO_BALANCE_CARD))
    api.ok(
        api.post(
            "/subscribe/payments/onetime",
            json={
                **CARD,
                "merchant_uid": "o-7",
                "amount": 15000,
                "customer_uid": "cu-13",
            },
        )
    )
    api.ok(
        api.post(
            "/subscribe/payments/schedule",
            json={
                **CARD,
                "customer_uid": "cu-14",
                "schedules": [
                    {
                        "merchant_uid": "s-m",
                        "schedule_at": sb.now() + 60,
                        "amount": 1000,
                    }
                ],
            },
        )
    )
    secrets = ("4242424242424242", "4242-4242-4242-4242", "4000000000000341",
               "4000-0000-0000-0341", "880101")  # fmt: skip
    strings = [node for node in _reachable(sb) if isinstance(node, str | bytes)]
    assert "424242******4242" in strings  # the walk does reach the stored keys
    leaked = [
        node for node in strings
        if any(s in (node if isinstance(node, str) else node.decode("latin-1"))
                for s in secrets)
    ]  # fmt: skip
    assert leaked == []
