"""POST /payments/cancel and console cancels (portone-v1.md §5)."""

from __future__ import annotations

from typing import Any

import pytest

from flask_nicepay.sandbox import Sandbox

from .peers import Api
from .peers import Store
from .peers import refusal

CANCEL_FIELDS = {
    "pg_tid",
    "amount",
    "cancelled_at",
    "reason",
    "receipt_url",
    "cancellation_id",
}


def cancel(api: Api, **body: Any) -> Any:
    return api.post("/payments/cancel", json=body)


def test_full_cancel_without_amount(sb: Sandbox, api: Api, store: Store) -> None:
    paid = sb.checkout("x-1", 10000)
    done = api.ok(cancel(api, imp_uid=paid["imp_uid"], reason="고객 요청"))
    assert done["status"] == "cancelled" and done["cancel_amount"] == 10000
    assert done["cancel_reason"] == "고객 요청" and done["cancelled_at"] > 0
    [item] = done["cancel_history"]
    assert set(item) == CANCEL_FIELDS
    assert item["amount"] == 10000 and len(item["pg_tid"]) == 30
    assert done["cancel_receipt_urls"] == [item["receipt_url"]]
    sb.deliver_webhooks()
    assert store.statuses() == ["paid"]  # an API cancel sends nothing by default
    status, code, message = refusal(cancel(api, imp_uid=paid["imp_uid"]))
    assert (status, code, message) == (200, 1, "이미 전액취소된 주문입니다.")


def test_partial_cancels_with_checksum_accumulate(sb: Sandbox, api: Api) -> None:
    paid = sb.checkout("x-2", 10000)
    uid = paid["imp_uid"]
    first = api.ok(cancel(api, imp_uid=uid, amount=1000, checksum=10000))
    assert first["status"] == "cancelled" and first["cancel_amount"] == 1000
    wrong = refusal(cancel(api, imp_uid=uid, amount=1000, checksum=10000))
    assert wrong[:2] == (200, 1) and "checksum" in wrong[2]
    second = api.ok(cancel(api, imp_uid=uid, amount=2000, checksum=9000))
    assert second["cancel_amount"] == 3000 and len(second["cancel_history"]) == 2
    over = refusal(cancel(api, imp_uid=uid, amount=7001))
    assert over == (
        200,
        1,
        "결제취소에 실패하였습니다.([2032]취소금액이 취소가능금액보다 큼)",
    )
    rest = api.ok(cancel(api, imp_uid=uid, amount=0))
    assert (
        rest["cancel_amount"] == 10000 and rest["cancel_history"][-1]["amount"] == 7000
    )
    assert (
        refusal(cancel(api, imp_uid=uid, amount=1))[2] == "이미 전액취소된 주문입니다."
    )


def test_refused_cancel_changes_nothing(sb: Sandbox, api: Api) -> None:
    paid = sb.checkout("x-3", 10000)
    refusal(cancel(api, imp_uid=paid["imp_uid"], amount=20000))
    assert sb.payment(paid["imp_uid"]) == paid


def test_unknown_payment_and_imp_uid_precedence(sb: Sandbox, api: Api) -> None:
    sb.checkout("x-4", 10000)
    missing = (200, 1, "취소할 결제건이 존재하지 않습니다.")
    assert refusal(cancel(api, imp_uid="imp_000000000000")) == missing
    assert (
        refusal(cancel(api, imp_uid="imp_000000000000", merchant_uid="x-4")) == missing
    )
    assert refusal(cancel(api, merchant_uid="nobody")) == missing
    assert api.ok(cancel(api, merchant_uid="x-4"))["cancel_amount"] == 10000


def test_by_merchant_uid_cancels_the_paid_attempt(sb: Sandbox, api: Api) -> None:
    paid = sb.checkout("x-5", 10000)
    done = api.ok(cancel(api, merchant_uid="x-5"))
    assert done["imp_uid"] == paid["imp_uid"]


@pytest.mark.parametrize("outcome", ["decline", "close"])
def test_unpaid_payments_cannot_be_cancelled(
    sb: Sandbox, api: Api, outcome: str
) -> None:
    attempt = sb.checkout("x-6", 10000, outcome=outcome)
    status, code, message = refusal(cancel(api, imp_uid=attempt["imp_uid"]))
    assert (status, code) == (200, 1) and message.startswith(
        "결제취소에 실패하였습니다."
    )


def test_vbank_refund_needs_an_account(sb: Sandbox, api: Api) -> None:
    issued = sb.checkout("x-7", 30000, pay_method="vbank")
    sb.deposit(issued["imp_uid"])
    uid = issued["imp_uid"]
    assert "refund_account" in refusal(cancel(api, imp_uid=uid))[2]
    account = {
        "refund_holder": "홍길동",
        "refund_bank": "088",
        "refund_account": "1101234567",
    }
    bad_bank = refusal(cancel(api, imp_uid=uid, **{**account, "refund_bank": "88"}))
    assert bad_bank[:2] == (200, 1)
    assert api.ok(cancel(api, imp_uid=uid, **account))["status"] == "cancelled"


def test_vat_given_at_payment_is_required_at_cancel(sb: Sandbox, api: Api) -> None:
    paid = sb.checkout("x-8", 11000, vat_amount=1000)
    uid = paid["imp_uid"]
    assert "vat_amount" in refusal(cancel(api, imp_uid=uid, amount=5500))[2]
    over = refusal(cancel(api, imp_uid=uid, amount=5500, vat_amount=1200))
    assert over[:2] == (200, 1)
    done = api.ok(cancel(api, imp_uid=uid, amount=5500, vat_amount=500))
    assert done["cancel_amount"] == 5500


def test_tax_free_part_cannot_exceed_the_payments(sb: Sandbox, api: Api) -> None:
    paid = sb.checkout("x-9", 10000, tax_free=2000)
    assert (
        refusal(cancel(api, imp_uid=paid["imp_uid"], amount=5000, tax_free=3000))[1]
        == 1
    )
    assert api.ok(cancel(api, imp_uid=paid["imp_uid"], amount=5000, tax_free=2000))


def test_enable_webhook_sends_cancelled_with_the_cancellation_id(
    sb: Sandbox, api: Api, store: Store
) -> None:
    paid = sb.checkout("x-10", 10000)
    answer = api.post("/payments/cancel",
                      data={"imp_uid": paid["imp_uid"], "amount": "4000",
                            "enable_webhook": "true"})  # fmt: skip
    done = api.ok(answer)
    sb.deliver_webhooks()
    assert store.received[-1] == {
        "imp_uid": paid["imp_uid"], "merchant_uid": "x-10", "status": "cancelled",
        "cancellation_id": done["cancel_history"][0]["cancellation_id"],
    }  # fmt: skip


def test_console_cancel_always_sends_the_webhook(sb: Sandbox, store: Store) -> None:
    paid = sb.checkout("x-11", 10000)
    partial = sb.console_cancel(paid["imp_uid"], 2500)
    assert (
        partial["cancel_amount"] == 2500 and partial["cancel_reason"] == "관리자 취소"
    )
    client = sb.app.test_client()
    rest = client.post("/_sandbox/cancel", json={"imp_uid": paid["imp_uid"]}).get_json()
    assert rest["response"]["cancel_amount"] == 10000
    sb.deliver_webhooks()
    assert store.statuses() == ["paid", "cancelled", "cancelled"]


FIXED_1617 = (
    "결제취소에 실패하였습니다.([1617]지정금액 가맹점은 취소 시 공급가액, 부가세, "
    "봉사료, 면세금액을 입력해야 합니다)"
)


def test_fixed_tax_mode_refuses_a_partial_cancel_without_its_parts(
    sb: Sandbox, api: Api
) -> None:
    sb.set_tax_mode("fixed")
    paid = sb.checkout("x-tax-1", 11000, tax_free=0, vat_amount=1000)
    uid = paid["imp_uid"]
    assert refusal(cancel(api, imp_uid=uid, amount=5500)) == (200, 1, FIXED_1617)
    only_vat = cancel(api, imp_uid=uid, amount=5500, vat_amount=500)
    assert refusal(only_vat)[2] == FIXED_1617
    only_tax_free = cancel(api, imp_uid=uid, amount=5500, tax_free=0)
    assert refusal(only_tax_free)[2] == FIXED_1617
    assert sb.cancel_tax_parts(uid) == []  # nothing moved
    api.ok(cancel(api, imp_uid=uid, amount=5500, tax_free=0, vat_amount=500))
    api.ok(cancel(api, imp_uid=uid, tax_free=0, vat_amount=500))
    assert sb.cancel_tax_parts(uid) == [(0, 500), (0, 500)]


def test_auto_tax_mode_lets_nice_work_the_parts_out(sb: Sandbox, api: Api) -> None:
    assert sb.tax_mode == "auto"
    paid = sb.checkout("x-tax-2", 11000)
    api.ok(cancel(api, imp_uid=paid["imp_uid"], amount=5500))
    assert sb.cancel_tax_parts(paid["imp_uid"]) == [(None, None)]


def test_tax_mode_through_the_control_api(sb: Sandbox, api: Api) -> None:
    control, url = sb.session(), sb.base_url + "/_sandbox/tax-mode"
    answer = control.post(url, json={"mode": "fixed"})
    assert answer.status_code == 200
    assert answer.json()["response"] == {"mode": "fixed"}
    assert sb.tax_mode == "fixed"
    wrong = control.post(url, json={"mode": "지정금액"})
    assert wrong.status_code == 400 and "auto, fixed" in wrong.json()["message"]
    assert control.post(url, json={}).status_code == 400
    assert sb.tax_mode == "fixed"
