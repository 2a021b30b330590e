"""The window's installment menu: ``display.card_quota``, ``card.direct``, NICE's own.

``[]`` offers a lump sum only, ``[6]`` a lump sum or 6 months, ``[2, 3, 4, 5, 6]``
a lump sum or 2 to 6 months (PortOne's SDK reference); no ``display`` leaves NICE's
own menu; ``card.direct.quota`` fixes the installments; under 50,000 KRW a lump
sum only. The buyer can pick only what the menu offers.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import SandboxError
from flask_nicepay.sandbox.engine.window import NICE_MENU
from flask_nicepay.sandbox.engine.window import installment_menu
from flask_nicepay.sandbox.model.records import Window

from .test_sdk import open_window

TWELVE = (0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)


@pytest.mark.parametrize(
    ("window", "amount", "currency", "menu"),
    [
        (Window(), 60000, "KRW", TWELVE),
        (Window(quotas=()), 60000, "KRW", (0,)),
        (Window(quotas=(6,)), 60000, "KRW", (0, 6)),
        (Window(quotas=(2, 3, 4, 5, 6)), 60000, "KRW", (0, 2, 3, 4, 5, 6)),
        (Window(quotas=(6, 0, 1, 3, 3)), 60000, "KRW", (0, 3, 6)),
        (Window(quotas=(6,), direct_quota=3), 60000, "KRW", (3,)),
        (Window(direct_code="367", direct_quota=0), 60000, "KRW", (0,)),
        (Window(direct_code="367"), 60000, "KRW", TWELVE),
        (Window(), 49999, "KRW", (0,)),
        (Window(), 50000, "KRW", TWELVE),
        (Window(quotas=(6,)), Decimal("100.00"), "USD", (0,)),
    ],
)
def test_the_menu(
    window: Window, amount: Decimal | int, currency: str, menu: tuple[int, ...]
) -> None:
    assert installment_menu(window, amount, currency) == menu
    assert NICE_MENU == TWELVE


def opened(sb: Sandbox, merchant_uid: str, amount: int, **params: Any) -> str:
    request_pay = {"merchant_uid": merchant_uid, "amount": amount, **params}
    return str(sb.open_checkout(request_pay)["imp_uid"])


@pytest.mark.parametrize(
    ("params", "amount", "offered", "not_offered"),
    [
        ({"display": {"card_quota": [6]}}, 60000, [0, 6], [2, 3, 5, 12]),
        ({"display": {"card_quota": [2, 3]}}, 60000, [0, 2, 3], [1, 4, 6]),
        ({"display": {"card_quota": []}}, 60000, [0], [2, 6]),
        ({}, 60000, list(TWELVE), [1, 13, 24]),
        ({"display": {}}, 60000, list(TWELVE), [1, 13]),
        ({"card": {"direct": {"code": "367", "quota": 3}}}, 60000, [3], [0, 2, 6]),
        ({}, 30000, [0], [2, 3, 12]),
    ],
)
def test_the_buyer_picks_only_what_the_menu_offers(
    sb: Sandbox,
    params: dict[str, Any],
    amount: int,
    offered: list[int],
    not_offered: list[int],
) -> None:
    for n, quota in enumerate(not_offered):
        imp_uid = opened(sb, f"q-no-{n}", amount, **params)
        with pytest.raises(SandboxError) as caught:
            sb.complete_checkout(imp_uid, "approve", card_quota=quota)
        assert caught.value.http_status == 400
        assert f": {quota} " in caught.value.message
        # As if nothing was pressed: still open, no card on it.
        still = sb.payment(imp_uid) or {}
        assert (still["status"], still["card_name"]) == ("ready", None)
        assert sb.complete_checkout(imp_uid, "close")["status"] == "ready"
    for n, quota in enumerate(offered):
        imp_uid = opened(sb, f"q-ok-{n}", amount, **params)
        paid = sb.complete_checkout(imp_uid, "approve", card_quota=quota)
        assert (paid["status"], paid["card_quota"]) == ("paid", quota)


def test_without_a_pick_the_first_entry_is_taken(sb: Sandbox) -> None:
    direct = opened(sb, "q-d", 60000, card={"direct": {"code": "367", "quota": 3}})
    assert sb.complete_checkout(direct, "approve")["card_quota"] == 3
    plain = opened(sb, "q-p", 60000, display={"card_quota": [6]})
    assert sb.complete_checkout(plain, "approve")["card_quota"] == 0


def test_a_refused_pick_is_refused_for_declines_too(sb: Sandbox) -> None:
    imp_uid = opened(sb, "q-dec", 60000, display={"card_quota": [6]})
    with pytest.raises(SandboxError):
        sb.complete_checkout(imp_uid, "decline", card_quota=3)
    assert (sb.payment(imp_uid) or {})["status"] == "ready"


def test_one_call_checkout_offers_the_months_it_picks(sb: Sandbox) -> None:
    assert sb.checkout("q-1", 60000, card_quota=6)["card_quota"] == 6
    # One month is no installment NICE's menu has.
    with pytest.raises(SandboxError):
        sb.checkout("q-2", 60000, card_quota=1)


def options_of(client: FlaskClient, params: dict[str, Any]) -> list[str]:
    window = open_window(client, params)
    html = client.get(window["window_url"]).text
    return re.findall(r'<option value="(\d+)"(?: selected)?>(?:일시불|\d+개월)', html)


def test_the_window_page_shows_exactly_the_menu(sb: Sandbox) -> None:
    client = sb.app.test_client()
    big: dict[str, Any] = {"merchant_uid": "p-1", "amount": 60000}
    assert options_of(client, big) == [str(n) for n in TWELVE]
    six = {**big, "merchant_uid": "p-2", "display": {"card_quota": [6]}}
    assert options_of(client, six) == ["0", "6"]
    fixed = {**big, "merchant_uid": "p-3", "card": {"direct": {"quota": 3}}}
    assert options_of(client, fixed) == ["3"]
    # A lump sum only: no select at all.
    small = {"merchant_uid": "p-4", "amount": 30000}
    assert options_of(client, small) == []
    lump = {**big, "merchant_uid": "p-5", "display": {"card_quota": []}}
    assert options_of(client, lump) == []
