"""Each JSON shape is built with exactly the keys of its published list, in order."""

from __future__ import annotations

from typing import Any

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox.http import serialize

from .peers import Api
from .test_wire import PAYMENT_FIELDS

CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2099-12"}


def test_payment_keys_match_the_reference_list() -> None:
    assert set(serialize.PAYMENT_KEYS) == PAYMENT_FIELDS
    assert len(serialize.PAYMENT_KEYS) == len(PAYMENT_FIELDS)


def test_every_shape_follows_its_key_list(sb: Sandbox, api: Api) -> None:
    paid = sb.checkout("k-1", 10000)
    done: dict[str, Any] = api.ok(
        api.post("/payments/cancel", json={"imp_uid": paid["imp_uid"]})
    )
    vbank = sb.checkout("k-2", 10000, pay_method="vbank")
    customer = api.ok(api.post("/subscribe/customers/k-c", json=CARD))
    item = {"merchant_uid": "k-s", "schedule_at": sb.now() + 9, "amount": 1}
    body = {"customer_uid": "k-c", "schedules": [item]}
    [scheduled] = api.ok(api.post("/subscribe/payments/schedule", json=body))
    prepared = api.ok(
        api.post("/payments/prepare", json={"merchant_uid": "k-p", "amount": 1})
    )
    page = api.ok(api.get("/payments/status/all"))
    for payment in (paid, done, vbank, *page["list"]):
        assert tuple(payment) == serialize.PAYMENT_KEYS
    assert tuple(done["cancel_history"][0]) == serialize.CANCEL_KEYS
    assert tuple(customer) == serialize.CUSTOMER_KEYS
    assert tuple(scheduled) == serialize.SCHEDULE_KEYS
    assert tuple(page) == serialize.PAGED_KEYS
    assert tuple(prepared) == ("merchant_uid", "amount", "currency")
