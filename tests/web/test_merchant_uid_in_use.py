"""A ``merchant_uid`` that is taken is the library's own error, never a raw one.

Two calls racing with one ``merchant_uid`` end with one order and one charge at
PortOne; the other gets :class:`~flask_nicepay.MerchantUidInUseError` before
PortOne is asked, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import threading
import typing as t

import pytest
from flask import Flask

from flask_nicepay import MerchantUidInUseError
from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay.db import write_transaction
from flask_nicepay.portone import Card
from flask_nicepay.sandbox import Sandbox

from .webshop import on_both_databases

CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")


@on_both_databases
def test_a_charge_with_a_taken_merchant_uid_asks_portone_nothing(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    with app.app_context():
        nicepay.billing.issue_key("cust-taken", CARD)
        first = nicepay.billing.charge(
            "cust-taken", 9_900, "월 구독", merchant_uid="m-1"
        )
        payments = sandbox.payments_count()

        with pytest.raises(MerchantUidInUseError) as taken:
            nicepay.billing.charge("cust-taken", 9_900, "월 구독", merchant_uid="m-1")
        with pytest.raises(MerchantUidInUseError):
            nicepay.billing.pay_key_in(CARD, 5_000, "단건", merchant_uid="m-1")
        with pytest.raises(MerchantUidInUseError):
            nicepay.create_order(merchant_uid="m-1", amount=1_000, name="again")

        assert taken.value.merchant_uid == "m-1"
        assert "m-1" in str(taken.value)
        assert sandbox.payments_count() == payments
        assert nicepay.get_order("m-1") == first
        assert first.state is OrderState.PAID


@on_both_databases
def test_two_charges_racing_with_one_merchant_uid_charge_once(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    with app.app_context():
        nicepay.billing.issue_key("cust-race", CARD)
    start = threading.Barrier(2)
    outcomes: list[t.Any] = []

    def charge() -> None:
        with app.app_context():
            start.wait(timeout=10)
            try:
                outcomes.append(
                    nicepay.billing.charge(
                        "cust-race", 9_900, "월 구독", merchant_uid="m-race"
                    )
                )
            except MerchantUidInUseError as exc:
                outcomes.append(exc)

    before = sandbox.payments_count()
    threads = [threading.Thread(target=charge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    errors = [o for o in outcomes if isinstance(o, MerchantUidInUseError)]
    orders = [o for o in outcomes if not isinstance(o, MerchantUidInUseError)]
    assert len(errors) == 1 and len(orders) == 1
    assert orders[0].state is OrderState.PAID
    assert sandbox.payments_count() == before + 1


@on_both_databases
def test_an_order_made_in_the_store_s_transaction_commits_with_it(
    app: Flask, nicepay: NicePay
) -> None:
    """``create_order(connection=...)``: the order and the store's rows are one
    write; a taken id leaves the transaction usable, and PortOne is asked later."""
    with app.app_context():
        engine = nicepay.payments.engine
        nicepay.create_order(merchant_uid="m-taken", amount=1_000, name="first")
        with pytest.raises(RuntimeError), write_transaction(engine) as conn:
            nicepay.create_order(
                connection=conn, merchant_uid="m-undone", amount=2_000, name="x"
            )
            raise RuntimeError("the store's own write failed")
        assert nicepay.get_order("m-undone") is None
        with write_transaction(engine) as conn:
            with pytest.raises(MerchantUidInUseError):
                nicepay.create_order(
                    connection=conn, merchant_uid="m-taken", amount=1, name="x"
                )
            made = nicepay.create_order(
                connection=conn, merchant_uid="m-kept", amount=3_000, name="kept"
            )
        assert made.prepared is False  # the checkout page registers the amount
        assert nicepay.get_order("m-kept") == made
