"""Virtual accounts: issue, deposit (on time, late, forced), void, POST /vbanks."""

from __future__ import annotations

import pytest

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import SandboxError

from .peers import Api
from .peers import Store
from .peers import refusal


def test_deposit_makes_the_account_paid_with_a_webhook(
    sb: Sandbox, store: Store, api: Api
) -> None:
    issued = sb.checkout("v-1", 30000, pay_method="vbank")
    paid = sb.deposit(issued["imp_uid"])
    assert paid["status"] == "paid" and paid["paid_at"] == sb.now()
    assert paid["vbank_num"] == issued["vbank_num"]
    sb.deliver_webhooks()
    assert store.statuses() == ["ready", "paid"]
    assert api.ok(api.get(f"/payments/{issued['imp_uid']}"))["status"] == "paid"


def test_deposit_by_merchant_uid(sb: Sandbox) -> None:
    sb.checkout("v-2", 30000, pay_method="vbank")
    assert sb.deposit(merchant_uid="v-2")["status"] == "paid"


def test_late_deposit_is_refused_unless_forced(sb: Sandbox) -> None:
    issued = sb.checkout("v-3", 30000, pay_method="vbank", vbank_due="20990101")
    sb.set_clock(issued["vbank_date"] + 1)
    with pytest.raises(SandboxError) as caught:
        sb.deposit(issued["imp_uid"])
    assert caught.value.message.startswith("[A107]")
    assert sb.payment(issued["imp_uid"])["status"] == "ready"  # type: ignore[index]
    assert sb.deposit(issued["imp_uid"], force=True)["status"] == "paid"


def test_deposit_needs_an_open_account(sb: Sandbox) -> None:
    card = sb.checkout("v-4", 30000)
    with pytest.raises(SandboxError):
        sb.deposit(card["imp_uid"])
    with pytest.raises(SandboxError) as caught:
        sb.deposit("imp_000000000000")
    assert caught.value.http_status == 404


def test_post_vbanks_issues_an_api_account(sb: Sandbox, store: Store, api: Api) -> None:
    due = sb.now() + 86400
    issued = api.ok(api.post("/vbanks", json={
        "merchant_uid": "v-5", "amount": 45000, "vbank_code": "088",
        "vbank_due": due, "vbank_holder": "홍길동", "name": "주문",
        "buyer_email": "buyer@example.com",
    }))  # fmt: skip
    assert (issued["status"], issued["pay_method"], issued["channel"]) == (
        "ready",
        "vbank",
        "api",
    )
    assert (issued["vbank_holder"], issued["vbank_date"]) == ("홍길동", due)
    assert issued["pg_id"] == "nictest04m" and issued["user_agent"] is None
    sb.deliver_webhooks()
    assert store.statuses() == ["ready"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"vbank_code": "999"}, 200),
        ({"vbank_due": 1}, 200),
        ({"vbank_holder": None}, 400),
    ],
)
def test_post_vbanks_refusals(
    sb: Sandbox, api: Api, change: dict[str, object], status: int
) -> None:
    body = {
        "merchant_uid": "v-6",
        "amount": 45000,
        "vbank_code": "088",
        "vbank_due": sb.now() + 86400,
        "vbank_holder": "홍길동",
        **change,
    }
    http_status, code, _ = refusal(api.post("/vbanks", json=body))
    assert http_status == status and code != 0
    assert sb.payments_count() == 0


def test_delete_vbank_voids_an_unpaid_account(sb: Sandbox, api: Api) -> None:
    issued = sb.checkout("v-7", 30000, pay_method="vbank")
    voided = api.ok(api.delete(f"/vbanks/{issued['imp_uid']}"))
    assert voided["status"] == "cancelled" and voided["cancelled_at"] > 0
    assert voided["cancel_amount"] == 0 and voided["paid_at"] == 0
    assert refusal(api.delete(f"/vbanks/{issued['imp_uid']}"))[:2] == (400, 1)
    assert refusal(api.delete("/vbanks/imp_000000000000"))[:2] == (404, -1)
    paid = sb.checkout("v-8", 30000, pay_method="vbank")
    sb.deposit(paid["imp_uid"])
    assert refusal(api.delete(f"/vbanks/{paid['imp_uid']}"))[:2] == (400, 1)


def test_control_deposit(sb: Sandbox) -> None:
    issued = sb.checkout("v-9", 30000, pay_method="vbank")
    client = sb.app.test_client()
    answer = client.post("/_sandbox/deposit", json={"imp_uid": issued["imp_uid"]})
    assert answer.get_json()["response"]["status"] == "paid"
    again = client.post("/_sandbox/deposit", json={"imp_uid": issued["imp_uid"]})
    assert again.status_code == 400 and again.get_json()["code"] == 1
