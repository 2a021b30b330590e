"""Small pieces with many cases: parameter reading, form nesting, card helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from flask_nicepay.sandbox import TEST_CARDS
from flask_nicepay.sandbox import SandboxError
from flask_nicepay.sandbox.http.wire import nest
from flask_nicepay.sandbox.model.cards import luhn_ok
from flask_nicepay.sandbox.model.cards import mask
from flask_nicepay.sandbox.model.values import Params
from flask_nicepay.sandbox.model.values import json_amount


def test_php_style_keys_nest() -> None:
    pairs = MultiDict([
        ("imp_uid[]", "a"), ("imp_uid[]", "b"), ("merchant_uid", "x"),
        ("merchant_uid", "y"), ("schedules[1][amount]", "2"),
        ("schedules[0][amount]", "1"), ("schedules[0][merchant_uid]", "m0"),
        ("display[card_quota][]", "2"), ("name", "n"),
    ])  # fmt: skip
    assert nest(pairs) == {
        "imp_uid": ["a", "b"],
        "merchant_uid": ["x", "y"],
        "schedules": [{"amount": "1", "merchant_uid": "m0"}, {"amount": "2"}],
        "display": {"card_quota": ["2"]},
        "name": "n",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("1", True),
        ("false", False),
        ("0", False),
        (True, True),
        (None, False),
    ],
)
def test_flags(value: object, expected: bool) -> None:
    assert Params({"f": value}).flag("f") is expected


def test_bad_flag_and_amounts_are_400() -> None:
    for params, read in (
        ({"f": "maybe"}, lambda p: p.flag("f")),
        ({"a": "1.005"}, lambda p: p.amount("a")),
        ({"a": -1}, lambda p: p.amount("a")),
        ({"a": "ten"}, lambda p: p.amount("a")),
        ({"a": True}, lambda p: p.amount("a")),
    ):
        with pytest.raises(SandboxError) as caught:
            read(Params(params))
        assert caught.value.http_status == 400


def test_amounts_are_exact() -> None:
    assert Params({"a": 10.1}).amount("a") == Decimal("10.1")
    assert Params({"a": "1000"}).amount("a") == 1000
    assert (
        json_amount(Decimal("10.10")) == 10.1 and json_amount(Decimal("1000.0")) == 1000
    )
    assert type(json_amount(Decimal("1000.0"))) is int


def test_test_cards_are_luhn_valid_except_the_invalid_one() -> None:
    for number, card in TEST_CARDS.items():
        assert luhn_ok(number.replace("-", "")) is (card.behaviour != "invalid")
    assert mask("4242424242424242") == "424242******4242"
