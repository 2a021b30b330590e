"""Payment lookups and amount registration against the in-process sandbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from flask_nicepay.portone import APIError
from flask_nicepay.portone import NotFoundError
from flask_nicepay.portone import Payment
from flask_nicepay.portone import PaymentStatus
from flask_nicepay.portone import PortOneClient
from flask_nicepay.sandbox import Sandbox

from .sandbox_payments import paid


def test_get_payment_returns_typed_payment(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    imp_uid = paid(sandbox, "order-1", 12_000, name="티셔츠", buyer_name="홍길동")

    payment = client.get_payment(imp_uid)

    assert isinstance(payment, Payment)
    assert payment.imp_uid == imp_uid
    assert payment.merchant_uid == "order-1"
    assert payment.status is PaymentStatus.PAID
    assert payment.amount == Decimal(12_000)
    assert payment.cancel_amount == 0
    assert payment.balance == Decimal(12_000)
    assert payment.currency == "KRW"
    assert payment.pg_provider == "nice"
    assert payment.pay_method == "card"
    assert payment.name == "티셔츠"
    assert payment.buyer_name == "홍길동"
    assert payment.paid_at is not None and payment.paid_at.tzinfo is not None
    assert payment.failed_at is None and payment.cancelled_at is None
    assert payment.cancel_history == ()
    assert payment.raw["imp_uid"] == imp_uid


def test_unknown_payment_is_not_found(client: PortOneClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.get_payment("imp_000000000000")
    assert caught.value.http_status == 404
    assert caught.value.code == -1
    assert caught.value.message == "존재하지 않는 결제정보입니다."


def test_multi_lookup_reports_what_was_missing(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    first = paid(sandbox, "order-a")
    second = paid(sandbox, "order-b")

    everything = client.get_payments(imp_uids=[first], merchant_uids=["order-b"])
    assert {p.imp_uid for p in everything.items} == {first, second}
    assert everything.missing == () and not everything.partial

    some = client.get_payments(imp_uids=[first, "imp_999999999999"])
    assert [p.imp_uid for p in some.items] == [first]
    assert some.missing == ("imp_999999999999",) and some.partial

    none = client.get_payments(merchant_uids=["nope-1", "nope-2"])
    assert none.items == () and none.missing == ("nope-1", "nope-2")


def test_multi_lookup_refuses_more_than_100_ids(client: PortOneClient) -> None:
    with pytest.raises(ValueError, match="At most 100"):
        client.get_payments(imp_uids=[f"imp_{i:012d}" for i in range(101)])


def test_find_payment_returns_latest_attempt_and_filters_by_status(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    failed = sandbox.checkout(merchant_uid="order-2", amount=5000, outcome="decline")
    sandbox.advance_clock(5)
    approved = paid(sandbox, "order-2", 5000)

    assert client.find_payment("order-2").imp_uid == approved
    only_failed = client.find_payment("order-2", status=PaymentStatus.FAILED)
    assert only_failed.imp_uid == failed["imp_uid"]
    assert only_failed.fail_reason
    oldest = client.find_payment("order-2", sorting="started")
    assert oldest.imp_uid == failed["imp_uid"]
    with pytest.raises(NotFoundError):
        client.find_payment("order-2", status="cancelled")


def test_find_payments_pages_every_attempt(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    for _ in range(3):
        sandbox.checkout(merchant_uid="order-3", amount=5000, outcome="decline")
    paid(sandbox, "order-3", 5000)

    first = client.find_payments("order-3", limit=3)
    assert first.total == 4 and len(first.items) == 3
    assert first.previous is None and first.next == 2
    second = client.find_payments("order-3", limit=3, page=2)
    assert len(second.items) == 1 and second.next is None and second.previous == 1
    assert client.find_payments("order-3", status="paid").total == 1


def test_payments_by_status_pages_and_time_range(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    start = sandbox.now()
    uids = [paid(sandbox, f"order-s{i}", 1000 + i) for i in range(5)]
    sandbox.checkout(merchant_uid="order-f", amount=1000, outcome="decline")

    page = client.payments_by_status("paid", limit=2, since=start - 1)
    assert page.total == 5 and len(page.items) == 2 and page.next == 2
    every = list(client.iter_payments_by_status("paid", since=start - 1, limit=2))
    assert sorted(p.imp_uid for p in every) == sorted(uids)

    later = dt.datetime.fromtimestamp(sandbox.now() + 60, dt.UTC)
    empty = client.payments_by_status("paid", since=later, until=later)
    assert empty.total == 0 and empty.items == ()
    failed = client.payments_by_status(PaymentStatus.FAILED, since=start - 1)
    assert failed.total == 1


def test_naive_datetimes_are_refused(client: PortOneClient) -> None:
    with pytest.raises(ValueError, match="aware"):
        client.payments_by_status("paid", since=dt.datetime(2026, 1, 1))


def test_prepare_registers_reads_and_updates_amount(client: PortOneClient) -> None:
    registered = client.prepare("order-p", 39_000)
    assert registered.merchant_uid == "order-p"
    assert registered.amount == Decimal(39_000)

    assert client.get_prepared("order-p").amount == Decimal(39_000)
    assert client.update_prepared("order-p", 41_000).amount == Decimal(41_000)
    assert client.get_prepared("order-p").amount == Decimal(41_000)

    with pytest.raises(APIError) as caught:
        client.prepare("order-p", 41_000)
    assert caught.value.code == 1
    assert "이미 등록된 merchant_uid" in (caught.value.message or "")
    with pytest.raises(NotFoundError):
        client.get_prepared("order-never")
    with pytest.raises(NotFoundError):
        client.update_prepared("order-never", 1000)


def test_prepared_amount_is_enforced_at_checkout(
    sandbox: Sandbox, client: PortOneClient
) -> None:
    from flask_nicepay.sandbox import CheckoutRefused

    client.prepare("order-q", 30_000)
    with pytest.raises(CheckoutRefused):
        sandbox.checkout(merchant_uid="order-q", amount=3_000)
    assert paid(sandbox, "order-q", 30_000)


def test_usd_amounts_keep_their_cents(sandbox: Sandbox, client: PortOneClient) -> None:
    client.prepare("order-usd", Decimal("10.99"), currency="USD")
    imp_uid = paid(sandbox, "order-usd", Decimal("10.99"), currency="USD")

    payment = client.get_payment(imp_uid)

    assert payment.currency == "USD"
    assert payment.amount == Decimal("10.99")
    assert isinstance(payment.amount, Decimal)
    assert client.get_prepared("order-usd").amount == Decimal("10.99")


def test_floats_are_refused_as_amounts(client: PortOneClient) -> None:
    with pytest.raises(TypeError, match="never float"):
        client.prepare("order-float", 10.99)  # type: ignore[arg-type]
