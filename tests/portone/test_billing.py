"""Billing keys, key-in payments, payments again, schedules and virtual accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from flask_nicepay.portone import APIError
from flask_nicepay.portone import Buyer
from flask_nicepay.portone import Card
from flask_nicepay.portone import CardError
from flask_nicepay.portone import NotFoundError
from flask_nicepay.portone import PaymentDeclinedError
from flask_nicepay.portone import PaymentStatus
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import ScheduleRequest
from flask_nicepay.portone import ScheduleStatus
from flask_nicepay.sandbox import TEST_CARDS
from flask_nicepay.sandbox import Sandbox


def card(kind: str) -> Card:
    """A sandbox test card of the given kind, as a store would send it."""
    number = next(c.number for c in TEST_CARDS.values() if c.behaviour == kind)
    return Card(number, "2030-12", "900101", "12")


def test_issue_get_and_delete_billing_key(client: PortOneClient) -> None:
    issued = client.issue_billing_key(
        "cust-1", card("approve"), customer=Buyer(name="홍길동", email="h@example.com")
    )
    assert issued.customer_uid == "cust-1"
    assert issued.pg_provider == "nice"
    assert issued.card_name
    assert issued.card_number and "*" in issued.card_number
    assert issued.customer_name == "홍길동"

    assert client.get_billing_key("cust-1").card_number == issued.card_number
    assert client.delete_billing_key("cust-1", reason="해지").customer_uid == "cust-1"
    with pytest.raises(NotFoundError) as caught:
        client.get_billing_key("cust-1")
    assert "cust-1" in (caught.value.message or "")


def test_billing_key_card_failure_raises_card_error(client: PortOneClient) -> None:
    with pytest.raises(CardError) as caught:
        client.issue_billing_key("cust-2", card("auth_fail"))
    assert caught.value.code == -1
    assert "빌키 발급에 실패" in (caught.value.message or "")
    with pytest.raises(NotFoundError):
        client.get_billing_key("cust-2")


def test_multi_get_billing_keys(client: PortOneClient) -> None:
    client.issue_billing_key("cust-3", card("approve"))
    client.issue_billing_key("cust-4", card("approve"))

    both = client.get_billing_keys(["cust-3", "cust-4"])
    assert {c.customer_uid for c in both.items} == {"cust-3", "cust-4"}
    some = client.get_billing_keys(["cust-3", "cust-x"])
    assert some.partial and some.missing == ("cust-x",)
    none = client.get_billing_keys(["cust-y"])
    assert none.items == () and none.missing == ("cust-y",)


def test_onetime_payment_with_and_without_billing_key(client: PortOneClient) -> None:
    plain = client.pay_onetime(
        merchant_uid="order-k1", amount=15_000, card=card("approve"), name="키인"
    )
    assert plain.status is PaymentStatus.PAID
    assert plain.channel == "api"
    assert plain.customer_uid is None

    keyed = client.pay_onetime(
        merchant_uid="order-k2",
        amount=15_000,
        card=card("approve"),
        name="키인+빌키",
        customer_uid="cust-5",
    )
    assert keyed.customer_uid == "cust-5"
    assert keyed.customer_uid_usage == "issue"
    assert client.get_billing_key("cust-5").customer_uid == "cust-5"


def test_declined_payment_never_looks_like_success(client: PortOneClient) -> None:
    with pytest.raises(PaymentDeclinedError) as caught:
        client.pay_onetime(
            merchant_uid="order-k3", amount=15_000, card=card("decline"), name="거절"
        )
    declined = caught.value.payment
    assert declined.status is PaymentStatus.FAILED
    assert declined.fail_reason and declined.failed_at is not None
    assert caught.value.http_status == 200 and caught.value.code == 0
    assert declined.fail_reason in str(caught.value)


def test_card_authentication_failure_on_onetime(client: PortOneClient) -> None:
    with pytest.raises(CardError) as caught:
        client.pay_onetime(
            merchant_uid="order-k4", amount=15_000, card=card("auth_fail"), name="x"
        )
    assert caught.value.code == -1
    assert "카드정보 인증에 실패" in (caught.value.message or "")


def test_pay_again_and_its_failures(client: PortOneClient) -> None:
    client.issue_billing_key("cust-6", card("approve"))
    payment = client.pay_again(
        customer_uid="cust-6", merchant_uid="order-a1", amount=9_900, name="구독"
    )
    assert payment.status is PaymentStatus.PAID
    assert payment.customer_uid_usage == "payment"

    with pytest.raises(APIError) as twice:
        client.pay_again(
            customer_uid="cust-6", merchant_uid="order-a1", amount=9_900, name="구독"
        )
    assert twice.value.code != 0

    with pytest.raises(APIError) as unknown:
        client.pay_again(
            customer_uid="cust-none", merchant_uid="order-a2", amount=9_900, name="x"
        )
    assert unknown.value.message == "등록되지 않은 구매자입니다."

    client.issue_billing_key("cust-7", card("insufficient"))
    with pytest.raises(PaymentDeclinedError):
        client.pay_again(
            customer_uid="cust-7", merchant_uid="order-a3", amount=9_900, name="잔액"
        )


def test_installments_need_50000_krw(client: PortOneClient) -> None:
    client.issue_billing_key("cust-8", card("approve"))
    ok = client.pay_again(
        customer_uid="cust-8",
        merchant_uid="order-i1",
        amount=50_000,
        name="할부",
        card_quota=3,
    )
    assert ok.card_quota == 3
    with pytest.raises(PaymentDeclinedError) as caught:
        client.pay_again(
            customer_uid="cust-8",
            merchant_uid="order-i2",
            amount=49_999,
            name="할부",
            card_quota=3,
        )
    assert "3024" in (caught.value.payment.fail_reason or "")


def test_schedule_runs_when_due_and_can_be_revoked(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    client.issue_billing_key("cust-9", card("approve"))
    soon = sandbox.now() + 3600
    later = dt.datetime.fromtimestamp(sandbox.now() + 7200, dt.UTC)

    scheduled = client.schedule(
        "cust-9",
        [
            ScheduleRequest(
                merchant_uid="sch-1", schedule_at=soon, amount=9_900, name="1월"
            ),
            ScheduleRequest(
                merchant_uid="sch-2", schedule_at=later, amount=9_900, name="2월"
            ),
        ],
    )
    assert [s.schedule_status for s in scheduled] == [ScheduleStatus.SCHEDULED] * 2
    assert scheduled[0].payment_status is None and scheduled[0].imp_uid is None

    revoked = client.unschedule(customer_uid="cust-9", merchant_uids=["sch-2"])
    assert [s.merchant_uid for s in revoked] == ["sch-2"]
    assert revoked[0].schedule_status is ScheduleStatus.REVOKED

    sandbox.advance_clock(3601)
    ran = client.get_schedule("sch-1")
    assert ran.schedule_status is ScheduleStatus.EXECUTED
    assert ran.payment_status is PaymentStatus.PAID and ran.imp_uid
    payment = client.get_payment(ran.imp_uid)
    assert payment.customer_uid_usage == "payment.scheduled"
    assert payment.amount == Decimal(9_900)

    with pytest.raises(APIError) as nothing:
        client.unschedule(customer_uid="cust-9", merchant_uids=["sch-2"])
    assert nothing.value.message == "취소할 예약결제 기록이 존재하지 않습니다."


def test_schedule_lookups_and_reschedule(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    now = sandbox.now()
    client.schedule(
        "cust-10",
        [
            ScheduleRequest(
                merchant_uid=f"sch-l{i}",
                schedule_at=now + 600 * (i + 1),
                amount=1000 + i,
            )
            for i in range(3)
        ],
        card=card("approve"),
    )
    page = client.schedules_between(now, now + 86_400, status="scheduled")
    assert page.total == 3 and len(page.items) == 3
    mine = client.customer_schedules("cust-10", now, now + 86_400)
    assert {s.merchant_uid for s in mine.items} == {"sch-l0", "sch-l1", "sch-l2"}

    moved = client.reschedule("sch-l0", now + 5000)
    assert moved.schedule_at == dt.datetime.fromtimestamp(now + 5000, dt.UTC)


def test_schedule_for_unknown_customer_without_card(client: PortOneClient) -> None:
    with pytest.raises(APIError) as caught:
        client.schedule(
            "cust-none",
            [
                ScheduleRequest(
                    merchant_uid="sch-x", schedule_at=2_000_000_000, amount=1000
                )
            ],
        )
    assert caught.value.message == "등록된 고객정보가 없습니다."


def test_issue_and_void_vbank(sandbox: Sandbox, client: PortOneClient) -> None:
    due = dt.datetime.fromtimestamp(sandbox.now() + 86_400, dt.UTC)
    issued = client.issue_vbank(
        merchant_uid="order-v1",
        amount=45_000,
        vbank_code="088",
        vbank_due=due,
        vbank_holder="홍길동",
        name="가상계좌",
    )
    assert issued.status is PaymentStatus.READY
    assert issued.is_vbank_awaiting_deposit
    assert issued.vbank_num and issued.vbank_code == "088"
    assert issued.vbank_date == due

    voided = client.void_vbank(issued.imp_uid)
    assert voided.status is PaymentStatus.CANCELLED
    with pytest.raises(APIError):
        client.void_vbank(issued.imp_uid)


def test_an_unknown_key_is_not_found_on_get_and_delete_only(
    client: PortOneClient,
) -> None:
    """PortOne answers HTTP 200 with code 1 for a customer_uid it has no key under;
    on the key's own address that means "not found", elsewhere it stays a refusal."""
    with pytest.raises(NotFoundError) as looked_up:
        client.get_billing_key("nobody")
    with pytest.raises(NotFoundError) as deleted:
        client.delete_billing_key("nobody")
    assert (looked_up.value.http_status, looked_up.value.code) == (200, 1)
    assert (deleted.value.http_status, deleted.value.code) == (200, 1)
    with pytest.raises(APIError) as charged:
        client.pay_again(
            customer_uid="nobody", merchant_uid="m-x", amount=1_000, name="x"
        )
    assert not isinstance(charged.value, NotFoundError)
    assert charged.value.code == 1
