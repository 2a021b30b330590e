"""Full and partial cancels, checksums and refund accounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flask_nicepay.portone import APIError
from flask_nicepay.portone import PaymentStatus
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import RefundAccount
from flask_nicepay.sandbox import Sandbox

from .sandbox_payments import paid


def test_full_cancel(sandbox: Sandbox, client: PortOneClient) -> None:
    imp_uid = paid(sandbox, "order-c1", 20_000)

    payment = client.cancel(imp_uid=imp_uid, reason="고객 요청", checksum=20_000)

    assert payment.status is PaymentStatus.CANCELLED
    assert payment.cancel_amount == Decimal(20_000)
    assert payment.balance == 0
    assert payment.cancel_reason == "고객 요청"
    assert payment.cancelled_at is not None
    [record] = payment.cancel_history
    assert record.amount == Decimal(20_000)
    assert record.reason == "고객 요청"
    assert record.cancellation_id


def test_partial_cancels_accumulate(sandbox: Sandbox, client: PortOneClient) -> None:
    imp_uid = paid(sandbox, "order-c2", 10_000)

    first = client.cancel(imp_uid=imp_uid, amount=1_000, checksum=10_000)
    second = client.cancel(merchant_uid="order-c2", amount=2_500, checksum=9_000)

    assert first.cancel_amount == Decimal(1_000)
    assert second.cancel_amount == Decimal(3_500)
    assert second.balance == Decimal(6_500)
    assert [r.amount for r in second.cancel_history] == [1_000, 2_500]
    assert len({r.cancellation_id for r in second.cancel_history}) == 2
    # A partial cancel leaves PortOne's status at "cancelled" with money left.
    assert second.status is PaymentStatus.CANCELLED


def test_wrong_checksum_is_refused_and_nothing_moves(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-c3", 10_000)
    client.cancel(imp_uid=imp_uid, amount=1_000, checksum=10_000)

    with pytest.raises(APIError) as caught:
        # A second refund that believes nothing was refunded yet.
        client.cancel(imp_uid=imp_uid, amount=1_000, checksum=10_000)

    assert caught.value.code != 0
    assert client.get_payment(imp_uid).cancel_amount == Decimal(1_000)


def test_cancelling_more_than_the_balance_is_refused(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-c4", 10_000)
    with pytest.raises(APIError) as caught:
        client.cancel(imp_uid=imp_uid, amount=10_001)
    assert caught.value.http_status == 200 and caught.value.code != 0
    assert client.get_payment(imp_uid).cancel_amount == 0


def test_already_cancelled_and_unknown_payments(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-c5", 10_000)
    client.cancel(imp_uid=imp_uid)

    with pytest.raises(APIError) as again:
        client.cancel(imp_uid=imp_uid)
    assert again.value.code == 1
    assert again.value.message == "이미 전액취소된 주문입니다."

    with pytest.raises(APIError) as unknown:
        client.cancel(merchant_uid="order-none")
    assert unknown.value.code == 1
    assert unknown.value.message == "취소할 결제건이 존재하지 않습니다."


def test_cancel_needs_a_payment_reference(client: PortOneClient) -> None:
    with pytest.raises(ValueError, match="imp_uid or merchant_uid"):
        client.cancel(amount=1000)


def test_tax_free_and_vat_amount_reach_portone(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    from flask_nicepay.portone import Card

    payment = client.pay_onetime(
        merchant_uid="order-c6",
        amount=11_000,
        card=Card("4242-4242-4242-4242", "2030-12", "900101", "12"),
        name="면세 포함",
        tax_free=1_000,
        vat_amount=909,
    )
    # NICE refuses a cancel without vat_amount when the payment stated one.
    with pytest.raises(APIError):
        client.cancel(imp_uid=payment.imp_uid, amount=5_500)
    cancelled = client.cancel(
        imp_uid=payment.imp_uid, amount=5_500, tax_free=500, vat_amount=455
    )
    assert cancelled.cancel_amount == Decimal(5_500)


def test_vbank_refund_needs_an_account(sandbox: Sandbox, client: PortOneClient) -> None:
    issued = sandbox.checkout(
        merchant_uid="order-c7", amount=30_000, pay_method="vbank"
    )
    sandbox.deposit(imp_uid=issued["imp_uid"])

    with pytest.raises(APIError):
        client.cancel(imp_uid=issued["imp_uid"], reason="환불")
    account = RefundAccount(holder="홍길동", bank="088", account="110123456789")
    refunded = client.cancel(imp_uid=issued["imp_uid"], refund=account)
    assert refunded.cancel_amount == Decimal(30_000)
    assert "110123456789" not in repr(account)


def test_api_cancels_send_webhooks_only_when_asked(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    sandbox_with_hook = Sandbox(
        imp_key="k",
        imp_secret="s",
        webhook_url="http://shop.invalid/hook",
        webhook_sender=lambda delivery: 200,
    )
    session = sandbox_with_hook.session()
    hooked = PortOneClient(
        "k", "s", base_url=sandbox_with_hook.base_url, session=session
    )
    quiet = paid(sandbox_with_hook, "order-c8")
    loud = paid(sandbox_with_hook, "order-c9")
    sandbox_with_hook.deliver_webhooks()
    before = len(sandbox_with_hook.webhook_log)

    hooked.cancel(imp_uid=quiet)
    hooked.cancel(imp_uid=loud, enable_webhook=True)
    sandbox_with_hook.deliver_webhooks()

    sent = list(sandbox_with_hook.webhook_log)[before:]
    assert [d.body["imp_uid"] for d in sent] == [loud]
    assert sent[0].body["status"] == "cancelled"
    assert sent[0].body.get("cancellation_id")
