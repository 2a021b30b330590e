"""No secret, token or card data in logs, reprs or error messages."""

from __future__ import annotations

import logging

import pytest

from flask_nicepay.portone import Card
from flask_nicepay.portone import CardError
from flask_nicepay.portone import PaymentDeclinedError
from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone.errors import APIError
from flask_nicepay.portone.redact import redact
from flask_nicepay.sandbox import TEST_CARDS
from flask_nicepay.sandbox import Sandbox

from .sandbox_payments import KEY
from .sandbox_payments import SECRET


def _number(kind: str) -> str:
    return next(c.number for c in TEST_CARDS.values() if c.behaviour == kind)


def test_nothing_secret_is_logged_or_shown(
    sandbox: Sandbox, client: PortOneClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = Card(_number("approve"), "2030-12", "880214", "47")
    bad = Card(_number("auth_fail"), "2030-12", "880214", "47")
    declined = Card(_number("decline"), "2030-12", "880214", "47")

    client.issue_billing_key("cust-r1", good)
    client.pay_onetime(merchant_uid="order-x1", amount=10_000, card=good, name="x")
    messages = []
    for attempt in (
        lambda: client.issue_billing_key("cust-r2", bad),
        lambda: client.pay_onetime(
            merchant_uid="order-x2", amount=10_000, card=declined, name="x"
        ),
    ):
        with pytest.raises((CardError, PaymentDeclinedError)) as caught:
            attempt()
        messages.append(str(caught.value))
        messages.append(repr(caught.value))
    token = client.tokens.get()

    shown = "\n".join(
        [caplog.text, repr(client), repr(client.tokens), repr(good), *messages]
    )
    digits = [c.number.replace("-", "") for c in (good, bad, declined)]
    for secret in [SECRET, token, "880214", *digits, *(c.number for c in (good, bad))]:
        assert secret not in shown
    assert KEY not in repr(client)
    # The sandbox keeps only the masked number, as PortOne does.
    assert digits[0] not in repr(client.get_billing_key("cust-r1"))


def test_card_numbers_in_portone_messages_are_masked() -> None:
    error = APIError(
        200,
        -1,
        "유효하지않은 카드번호 4242-4242-4242-4242 입니다",
        method="POST",
        path="/x",
    )
    assert "4242-4242-4242-4242" not in str(error)
    assert "************4242" in str(error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111111111111111 ok", "card ************1111 ok"),
        ("card 4111 1111 1111 1111", "card ************1111"),
        ("masked 411111******1111 stays", "masked 411111******1111 stays"),
        ("order 20261126 and amount 50000", "order 20261126 and amount 50000"),
        ("imp_123456789012", "imp_123456789012"),
        ("American Express 3782-822463-10005", "American Express ***********0005"),
        ("번호4242424242424242입니다", "번호************4242입니다"),
        # A generated merchant_uid: a date and hex, never a card number's shape.
        ("np-20261126-123456789012", "np-20261126-123456789012"),
        ("np-20261126-0215996b1c84", "np-20261126-0215996b1c84"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_secret_is_not_in_client_repr() -> None:
    client = PortOneClient(
        "imp_live_key_1234", "very-secret-value", base_url="http://x"
    )
    assert "very-secret-value" not in repr(client)
    assert "imp_live_key_1234" not in repr(client)
