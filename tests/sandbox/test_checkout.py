"""The payment window: what request_pay refuses, the buyer's outcomes, attempts."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone
from typing import Any

import pytest

from flask_nicepay.sandbox import CheckoutRefused
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import SandboxError

from .peers import Api
from .peers import Store

KST = timezone(timedelta(hours=9))


def refused(sb: Sandbox, **kwargs: Any) -> CheckoutRefused:
    with pytest.raises(CheckoutRefused) as caught:
        sb.checkout(**kwargs)
    return caught.value


def test_card_approval_fills_the_card_fields_and_sends_paid(
    sb: Sandbox, store: Store
) -> None:
    paid = sb.checkout(
        "c-1", 15000, card_number="5555-5555-5555-4444", buyer_name="홍길동"
    )
    assert paid["status"] == "paid" and paid["paid_at"] > 0
    assert (paid["card_code"], paid["card_name"], paid["card_type"]) == (
        "365",
        "삼성카드",
        0,
    )
    assert paid["card_number"] == "555555******4444"
    assert len(paid["apply_num"]) == 8 and paid["apply_num"].isdigit()
    assert paid["pg_provider"] == "nice" and paid["pg_id"] == "nictest00m"
    assert len(paid["pg_tid"]) == 30 and paid["pg_tid"].startswith("nictest00m01")
    assert paid["channel"] == "pc" and paid["user_agent"]
    assert paid["receipt_url"].startswith("https://")
    assert paid["buyer_name"] == "홍길동" and paid["customer_uid_usage"] is None
    assert store.received == []  # manual mode: nothing until delivered
    sb.deliver_webhooks()
    assert store.received == [
        {"imp_uid": paid["imp_uid"], "merchant_uid": "c-1", "status": "paid"}
    ]


def test_checkout_refuses_an_option_it_does_not_know(sb: Sandbox) -> None:
    with pytest.raises(TypeError, match="'buyer_nmae'"):
        sb.checkout("typo-1", 1000, buyer_nmae="홍길동")  # type: ignore[call-arg]
    assert sb.payments_count() == 0


def test_checkout_passes_its_options_to_request_pay(sb: Sandbox) -> None:
    payment = sb.checkout(
        "opts-1",
        1000,
        currency="KRW",
        name="주문",
        buyer_email="a@example.com",
        custom_data={"k": 1},
        card_quota=0,
    )
    assert (payment["name"], payment["buyer_email"]) == ("주문", "a@example.com")
    assert payment["custom_data"] == '{"k":1}'


def test_card_company_and_check_card(sb: Sandbox) -> None:
    by_code = sb.checkout("c-code", 20000, card_code="367")
    assert (by_code["card_code"], by_code["card_name"]) == ("367", "현대카드")
    check = sb.checkout("c-check", 20000, card_number="4000-0566-5566-5556")
    assert check["card_type"] == 1


def test_decline_is_failed_without_a_webhook(sb: Sandbox, store: Store) -> None:
    failed = sb.checkout("c-2", 15000, outcome="decline")
    assert failed["status"] == "failed" and failed["failed_at"] > 0
    assert failed["fail_reason"] == "[3095]카드사 실패 응답(한도초과)"
    rsp = sb.callback_rsp(failed)
    assert rsp["success"] is False and rsp["error_code"] == "3095"
    assert rsp["error_msg"] == failed["fail_reason"] and rsp["status"] == "failed"
    sb.deliver_webhooks()
    assert store.received == []


def test_declining_card_fails_even_when_the_buyer_approves(sb: Sandbox) -> None:
    failed = sb.checkout("c-dc", 15000, card_number="4000-0000-0000-9995")
    assert failed["status"] == "failed" and "[3095]" in failed["fail_reason"]


def test_closing_the_window_leaves_the_payment_ready(sb: Sandbox, store: Store) -> None:
    closed = sb.checkout("c-3", 15000, outcome="close")
    assert closed["status"] == "ready" and closed["failed_at"] == 0
    rsp = sb.callback_rsp(closed)
    assert rsp["success"] is False and "결제포기" in rsp["error_msg"]
    query = sb.redirect_query(closed)
    assert query["imp_uid"] == closed["imp_uid"] and query["imp_success"] == "false"
    sb.deliver_webhooks()
    assert store.received == []
    with pytest.raises(SandboxError):
        sb.complete_checkout(closed["imp_uid"], "approve")


def test_each_attempt_gets_its_own_imp_uid(sb: Sandbox, api: Api) -> None:
    declined = sb.checkout("c-4", 15000, outcome="decline")
    closed = sb.checkout("c-4", 15000, outcome="close")
    paid = sb.checkout("c-4", 15000)
    assert len({declined["imp_uid"], closed["imp_uid"], paid["imp_uid"]}) == 3
    everything = api.ok(api.get("/payments/findAll/c-4"))
    assert everything["total"] == 3
    assert [p["imp_uid"] for p in everything["list"]] == [
        paid["imp_uid"],
        closed["imp_uid"],
        declined["imp_uid"],
    ]
    assert api.ok(api.get("/payments/find/c-4"))["imp_uid"] == paid["imp_uid"]
    failed = api.ok(api.get("/payments/find/c-4/failed"))
    assert failed["imp_uid"] == declined["imp_uid"]
    assert api.get("/payments/find/c-4/cancelled").status_code == 404


def test_a_paid_order_is_refused_with_f1002(sb: Sandbox) -> None:
    sb.checkout("c-5", 15000)
    refusal = refused(sb, merchant_uid="c-5", amount=15000)
    assert (refusal.error_code, refusal.error_msg) == (
        "F1002",
        "이미 결제가 이루어진 거래건입니다.",
    )
    assert sb.callback_rsp(refusal) == {
        "success": False, "imp_uid": None, "merchant_uid": "c-5",
        "error_code": "F1002", "error_msg": "이미 결제가 이루어진 거래건입니다.",
    }  # fmt: skip
    assert sb.redirect_query(refusal) == {
        "merchant_uid": "c-5", "imp_success": "false",
        "error_code": "F1002", "error_msg": "이미 결제가 이루어진 거래건입니다.",
    }  # fmt: skip


def test_prepared_amount_is_enforced(sb: Sandbox, api: Api) -> None:
    api.ok(api.post("/payments/prepare", json={"merchant_uid": "c-6", "amount": 10000}))
    assert refused(sb, merchant_uid="c-6", amount=9000).error_code == "F1001"
    assert sb.payments_count() == 0  # no window, no payment
    assert sb.checkout("c-6", 10000)["status"] == "paid"


def test_prepared_currency_is_enforced(sb: Sandbox, api: Api) -> None:
    api.ok(
        api.post(
            "/payments/prepare",
            json={"merchant_uid": "c-7", "amount": 10, "currency": "USD"},
        )
    )
    assert refused(sb, merchant_uid="c-7", amount=10).error_code == "F1001"
    assert sb.checkout("c-7", 10, currency="USD")["currency"] == "USD"


@pytest.mark.parametrize(
    "params",
    [
        {"amount": 1000},
        {"merchant_uid": "c-8"},
        {"merchant_uid": "c-8", "amount": "1000"},
        {"merchant_uid": "c-8", "amount": 1000, "pay_method": "bitcoin"},
        {"merchant_uid": "c-8", "amount": 1000, "currency": "EUR"},
        {"merchant_uid": "c-8", "amount": 100.5},
    ],
)
def test_bad_request_pay_parameters_are_refused(
    sb: Sandbox, params: dict[str, Any]
) -> None:
    with pytest.raises(CheckoutRefused) as caught:
        sb.open_checkout(params)
    assert caught.value.error_code == "F400"
    assert sb.payments_count() == 0


def test_installments_need_50000_won(sb: Sandbox) -> None:
    assert (
        refused(sb, merchant_uid="c-9", amount=30000, card_quota=3).error_code == "F400"
    )
    with pytest.raises(CheckoutRefused):
        sb.open_checkout(
            {
                "merchant_uid": "c-9",
                "amount": 30000,
                "card": {"direct": {"code": "366", "quota": 2}},
            }
        )
    paid = sb.checkout("c-9", 60000, card_quota=3)
    assert paid["status"] == "paid" and paid["card_quota"] == 3


def test_card_payments_under_1000_won_fail(sb: Sandbox) -> None:
    failed = sb.checkout("c-12", 900)
    assert failed["status"] == "failed" and failed["fail_reason"].startswith("[3041]")


def test_usd_on_mobile_needs_nice_mobile_v2(sb: Sandbox) -> None:
    assert (
        refused(
            sb, merchant_uid="c-13", amount=10, currency="USD", channel="mobile"
        ).error_code
        == "F400"
    )
    paid = sb.checkout(
        "c-13", 10.5, currency="USD", channel="mobile", nice_mobile_v2=True
    )
    assert paid["status"] == "paid" and paid["amount"] == 10.5
    assert paid["channel"] == "mobile" and paid["pg_tid"][12:14] == "16"
    assert sb.checkout("c-14", 10, currency="USD")["status"] == "paid"  # PC is fine


@pytest.mark.parametrize(
    ("method", "fields"),
    [
        ("trans", {"bank_code": "088", "bank_name": "신한은행", "card_code": None}),
        ("phone", {"card_code": None, "apply_num": None}),
        ("kakaopay", {"emb_pg_provider": "kakaopay"}),
    ],
)
def test_other_methods_pay(sb: Sandbox, method: str, fields: dict[str, Any]) -> None:
    paid = sb.checkout(f"c-{method}", 15000, pay_method=method)
    assert paid["status"] == "paid" and paid["pay_method"] == method
    assert {key: paid[key] for key in fields} == fields
    assert paid["card_type"] is None


def test_window_vbank_is_issued_ready_with_a_webhook(sb: Sandbox, store: Store) -> None:
    issued = sb.checkout("c-vb", 30000, pay_method="vbank", vbank_code="004")
    assert issued["status"] == "ready" and issued["paid_at"] == 0
    assert (issued["vbank_code"], issued["vbank_name"]) == ("004", "KB국민은행")
    assert issued["vbank_holder"] == "(주)샌드박스상점"
    assert issued["vbank_num"] and issued["vbank_issued_at"] == sb.now()
    assert issued["vbank_date"] == issued["vbank_issued_at"] + 30 * 86400
    rsp = sb.callback_rsp(issued)
    assert rsp["success"] is True and rsp["status"] == "ready"
    assert rsp["vbank_num"] == issued["vbank_num"]
    assert sb.redirect_query(issued)["imp_success"] == "true"
    sb.deliver_webhooks()
    assert store.statuses() == ["ready"]


def _kst(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=KST).timestamp())  # type: ignore[misc]


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        ("20991231", _kst(2099, 12, 31, 23, 59, 59)),
        ("209912311530", _kst(2099, 12, 31, 15, 30)),
        ("20991231153045", _kst(2099, 12, 31, 15, 30, 45)),
        ("2099-12-31", _kst(2099, 12, 31, 23, 59, 59)),
        ("2099-12-31 15:30:45", _kst(2099, 12, 31, 15, 30, 45)),
    ],
)
def test_vbank_due_formats(sb: Sandbox, due: str, expected: int) -> None:
    issued = sb.checkout(f"c-due-{due}", 30000, pay_method="vbank", vbank_due=due)
    assert issued["vbank_date"] == expected


def test_custom_data_is_stored_as_a_json_string(sb: Sandbox) -> None:
    paid = sb.checkout("c-cd", 15000, custom_data={"order": 7, "items": ["a"]})
    assert paid["custom_data"] == '{"order":7,"items":["a"]}'
    assert sb.callback_rsp(paid)["custom_data"] == {"order": 7, "items": ["a"]}


def test_control_checkout_answers_what_the_browser_sees(sb: Sandbox) -> None:
    client = sb.app.test_client()
    body = {
        "merchant_uid": "c-ctl",
        "amount": 15000,
        "outcome": "approve",
        "channel": "mobile",
        "card_number": "3530-1113-3330-0000",
    }
    first = client.post("/_sandbox/checkout", json=body).get_json()["response"]
    assert first["payment"]["card_code"] == "367"
    assert (
        first["rsp"]["success"] is True
        and first["redirect_query"]["imp_success"] == "true"
    )
    again = client.post("/_sandbox/checkout", json=body).get_json()
    assert again["code"] == 0 and again["response"]["payment"] is None
    assert again["response"]["rsp"]["error_code"] == "F1002"
