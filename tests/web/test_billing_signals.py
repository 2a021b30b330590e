"""Billing-key signals: sent after the commit, once per change."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay import signals
from flask_nicepay.portone import Card
from flask_nicepay.sandbox import Sandbox

CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")


class Heard:
    def __init__(self, app: Flask) -> None:
        self.calls: list[tuple[str, str, str | None]] = []
        for signal in (signals.billing_key_issued, signals.billing_key_deleted):
            signal.connect(self._receiver(signal.name), sender=app, weak=False)
        self.app = app

    def _receiver(self, name: str) -> t.Callable[..., None]:
        def receive(sender: Flask, key: t.Any, **extra: t.Any) -> None:
            assert sender is self.app and not extra
            self.calls.append((name, key.customer_uid, key.card_number))

        return receive

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


@pytest.fixture
def heard(app: Flask) -> t.Iterator[Heard]:
    listener = Heard(app)
    yield listener
    for signal in (signals.billing_key_issued, signals.billing_key_deleted):
        for receiver in list(signal.receivers_for(app)):
            signal.disconnect(receiver, sender=app)


def test_issue_and_delete_send_one_signal_each(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    with app.app_context():
        nicepay.billing.issue_key("cust-s", CARD)
        assert heard.names() == ["billing-key-issued"]
        _, uid, masked = heard.calls[0]
        assert uid == "cust-s" and masked is not None
        assert "4242424242424242" not in masked.replace("-", "")

        nicepay.billing.issue_key("cust-s", CARD)  # a new card for the key
        nicepay.billing.delete_key("cust-s")
        nicepay.billing.delete_key("cust-s")  # gone already: nothing more
        assert heard.names() == [
            "billing-key-issued",
            "billing-key-issued",
            "billing-key-deleted",
        ]


def test_a_key_kept_by_a_key_in_payment_is_issued(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    with app.app_context():
        nicepay.billing.pay_key_in(CARD, 5_000, "단건", customer_uid="cust-k")
        nicepay.billing.pay_key_in(CARD, 5_000, "단건")  # no key kept
        nicepay.billing.delete_key("nobody")  # never a key: nothing to say
    assert heard.names() == ["billing-key-issued"]


def test_a_failing_receiver_keeps_neither_the_key_nor_others_from_their_work(
    app: Flask, nicepay: NicePay, sandbox: Sandbox, heard: Heard
) -> None:
    def broken(sender: Flask, **extra: t.Any) -> None:
        raise RuntimeError("receiver down")

    signals.billing_key_issued.connect(broken, sender=app)
    try:
        with app.app_context():
            key = nicepay.billing.issue_key("cust-f", CARD)
            assert nicepay.billing.get_key("cust-f") == key
    finally:
        signals.billing_key_issued.disconnect(broken, sender=app)
    assert heard.names() == ["billing-key-issued"]
