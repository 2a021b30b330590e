"""``POST /subscribe/payments/foreign``: a key-in payment with a foreign card.

PortOne V1's own Python client calls it with ``merchant_uid``, ``amount``,
``card_number`` and ``expiry``, and its test against PortOne expects code -1 for a
card that does not pass (iamport-rest-client-python ``tests/test_pay_foreign.py``).
"""

from __future__ import annotations

import pytest

from flask_nicepay.sandbox import Sandbox

from .peers import Api
from .peers import Store
from .peers import refusal

PATH = "/subscribe/payments/foreign"
CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2099-12"}


def test_a_foreign_card_pays_with_number_and_expiry_only(
    sb: Sandbox, api: Api, store: Store
) -> None:
    body = {**CARD, "merchant_uid": "f-1", "amount": 15000, "name": "해외 주문",
            "buyer_name": "Jane"}  # fmt: skip
    paid = api.ok(api.post(PATH, json=body))
    assert paid["status"] == "paid" and paid["channel"] == "api"
    assert paid["merchant_uid"] == "f-1" and paid["amount"] == 15000
    assert paid["name"] == "해외 주문" and paid["buyer_name"] == "Jane"
    assert paid["customer_uid"] is None and paid["customer_uid_usage"] is None
    assert paid["card_number"] == "424242******4242"
    assert api.ok(api.get(f"/payments/{paid['imp_uid']}")) == paid
    form = {**CARD, "merchant_uid": "f-2", "amount": "12.50", "currency": "USD"}
    dollars = api.ok(api.post(PATH, data=form))
    assert (dollars["currency"], dollars["amount"]) == ("USD", 12.5)
    sb.deliver_webhooks()
    sent = [(hook["merchant_uid"], hook["status"]) for hook in store.received]
    assert sent == [("f-1", "paid"), ("f-2", "paid")]  # as for onetime


@pytest.mark.parametrize(
    "card",
    [
        {"card_number": "card-number", "expiry": "2016-08"},  # the client's test
        {"card_number": "4242-4242-4242-4241", "expiry": "2099-12"},  # not Luhn
        {"card_number": "4000-0000-0000-0069", "expiry": "2099-12"},  # expired
        {"card_number": "4242-4242-4242-4242", "expiry": "2001-01"},
    ],
)
def test_card_data_that_does_not_pass_is_code_minus_1(
    sb: Sandbox, api: Api, card: dict[str, str]
) -> None:
    body = {**card, "merchant_uid": "f-3", "amount": 1000}
    status, code, message = refusal(api.post(PATH, json=body))
    assert (status, code) == (200, -1)
    assert message.startswith("카드정보 인증에 실패하였습니다. [")
    assert sb.payments_count() == 0


def test_a_decline_is_code_0_and_failed(api: Api) -> None:
    body = {"card_number": "4000-0000-0000-9995", "expiry": "2099-12",
            "merchant_uid": "f-4", "amount": 15000}  # fmt: skip
    failed = api.ok(api.post(PATH, json=body))
    assert failed["status"] == "failed"
    assert failed["fail_reason"] == "[3095]카드사 실패 응답(한도초과)"


@pytest.mark.parametrize(
    "left_out", ["merchant_uid", "amount", "card_number", "expiry"]
)
def test_each_required_field_is_a_400(api: Api, left_out: str) -> None:
    body = {**CARD, "merchant_uid": "f-5", "amount": 1000}
    del body[left_out]
    assert refusal(api.post(PATH, json=body))[:2] == (400, -1)


def test_a_paid_merchant_uid_is_refused(api: Api) -> None:
    api.ok(api.post(PATH, json={**CARD, "merchant_uid": "f-6", "amount": 1000}))
    again = refusal(
        api.post(PATH, json={**CARD, "merchant_uid": "f-6", "amount": 1000})
    )
    assert again == (200, 1, "이미 결제가 이루어진 거래건입니다.")


@pytest.mark.parametrize(
    "bad",
    [
        {"amount": "x"},
        {"amount": -5},
        {"card_number": ["4242-4242-4242-4242"]},
        {"expiry": {"y": 2099}},
        {"merchant_uid": "m" * 41},
        {"currency": "XYZ"},
    ],
)
def test_bad_values_are_a_400(sb: Sandbox, api: Api, bad: dict[str, object]) -> None:
    body = {**CARD, "merchant_uid": "f-7", "amount": 1000, **bad}
    assert refusal(api.post(PATH, json=body))[:2] == (400, -1)
    assert sb.payments_count() == 0
