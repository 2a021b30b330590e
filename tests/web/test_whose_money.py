"""Only the store's own live money, paid as its checkout offered, pays an order.

The buyer's browser holds every ``IMP.request_pay`` parameter the checkout page
computed, so each attack here is the page's own parameters edited before the
window opens, as a buyer would in the browser's console: the account's test-mode
MID named with ``pg``, installments widened past the ones offered, another pay
method, escrow added. Each payment is then reported through one door (the PC
completion, the phone's return, PortOne's webhook), then through the other two: the
order is never paid, the payment is cancelled at PortOne exactly once, and the
reason is kept on the order. The same page, untouched, is paid.
"""

from __future__ import annotations

import dataclasses
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import OrderState
from flask_nicepay import signals
from flask_nicepay.portone import Card
from flask_nicepay.sandbox import TEST_WINDOW_MID
from flask_nicepay.sandbox import Sandbox

from .consoleshop import Operator
from .consoleshop import console_app
from .webshop import AppFactory
from .webshop import checkout_url
from .webshop import complete
from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import open_page
from .webshop import return_url
from .webshop import state

#: The order of the issue's story: installments are offered from 50,000 KRW.
AMOUNT = 51_000
#: What the store's checkout link offers: the card, lump sum or 2 or 3 months.
OFFER = {"pay_methods": ["card", "vbank"], "card_quota": [2, 3]}
#: The sandbox account's test-mode window MID (PortOne selects it by ``pg``).
TEST_MID = TEST_WINDOW_MID


@dataclasses.dataclass(frozen=True)
class Attack:
    """An edit of the page's request_pay parameters, and what the buyer picks."""

    name: str
    params: dict[str, t.Any]
    reason: str
    window: dict[str, t.Any] = dataclasses.field(default_factory=dict)


ATTACKS = [
    Attack(
        "test_mid",
        {"pg": f"nice.{TEST_MID}"},
        f"pg_id is '{TEST_MID}', not a live MID of the window channel (nictest00m)",
    ),
    Attack(
        "installments",
        {"display": {"card_quota": [2, 3, 4, 5, 6]}},
        "card_quota is 6, offered 0, 2, 3",
        {"card_quota": 6},
    ),
    Attack(
        "pay_method",
        {"pay_method": "trans"},
        "pay_method is 'trans', offered card, vbank",
    ),
    Attack("escrow", {"escrow": True}, "escrow is True, offered False"),
]
DOORS = ("pc", "mobile", "webhook")


def _pay(
    client: FlaskClient,
    sandbox: Sandbox,
    url: str,
    edit: t.Mapping[str, t.Any],
    channel: str,
    **window: t.Any,
) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """Open the checkout page, edit its card parameters, pay in the window."""
    params = dict(open_page(client, url).request_pay["card"])
    params.pop("channelKey", None) if "pg" in edit else None
    params.update(edit)
    opened = sandbox.open_checkout(params, channel=channel)
    return params, sandbox.complete_checkout(opened["imp_uid"], "approve", **window)


def _report(
    client: FlaskClient,
    door: str,
    params: t.Mapping[str, t.Any],
    payment: t.Mapping[str, t.Any],
) -> None:
    """Tell the store about the payment the way ``door`` does."""
    if door == "pc":
        response = complete(client, payment)
    elif door == "mobile":
        response = client.get(return_url(params, payment))
    else:
        body = {k: payment[k] for k in ("imp_uid", "merchant_uid", "status")}
        response = client.post("/nicepay/webhook", json=body)
    assert response.status_code < 400, response.get_data(as_text=True)


@pytest.fixture
def mismatches(app: Flask) -> t.Iterator[list[dict[str, t.Any]]]:
    sent: list[dict[str, t.Any]] = []

    def keep(sender: Flask, **data: t.Any) -> None:
        sent.append(data)

    signals.payment_mismatch.connect(keep, app)
    yield sent
    signals.payment_mismatch.disconnect(keep, app)


@on_both_databases
@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_an_edited_checkout_never_pays_and_is_cancelled_once(
    app: Flask,
    client: FlaskClient,
    sandbox: Sandbox,
    mismatches: list[dict[str, t.Any]],
    attack: Attack,
    door: str,
) -> None:
    uid = new_order(app, AMOUNT)
    url = checkout_url(app, uid, **OFFER)
    channel = "mobile" if door == "mobile" else "pc"
    params, payment = _pay(
        client, sandbox, url, attack.params, channel, **attack.window
    )
    assert payment["status"] == "paid"  # PortOne took it: only the store can refuse

    _report(client, door, params, payment)
    for other in DOORS:  # every later delivery of the same payment is a no-op
        _report(client, other, params, payment)

    order = get_order(app, uid)
    assert order.state is OrderState.MISMATCH
    assert order.paid_at is None
    assert attack.reason in (order.mismatch_reason or "")
    at_portone = sandbox.payment(payment["imp_uid"])
    assert at_portone is not None and at_portone["status"] == "cancelled"
    assert len(at_portone["cancel_history"]) == 1
    assert sandbox.cancel_checksums(payment["imp_uid"]) == [AMOUNT]
    [signal] = mismatches
    assert attack.reason in signal["reasons"][0] and signal["action"] == "cancel"


@on_both_databases
@pytest.mark.parametrize("door", DOORS)
def test_the_same_checkout_untouched_is_paid(
    app: Flask, client: FlaskClient, sandbox: Sandbox, door: str
) -> None:
    uid = new_order(app, AMOUNT)
    url = checkout_url(app, uid, **OFFER)
    channel = "mobile" if door == "mobile" else "pc"
    params, payment = _pay(client, sandbox, url, {}, channel, card_quota=3)

    _report(client, door, params, payment)

    order = get_order(app, uid)
    assert order.state is OrderState.PAID and order.mismatch_reason is None
    assert sandbox.payment(payment["imp_uid"])["card_quota"] == 3  # type: ignore[index]


def test_every_link_the_store_made_stays_payable(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    """Two links for one order: what either offered may be paid."""
    uid = new_order(app, AMOUNT)
    checkout_url(app, uid, pay_methods=["card"], card_quota=[2])
    url = checkout_url(app, uid, pay_methods=["card", "trans"], card_quota=[3])
    params, payment = _pay(client, sandbox, url, {"pay_method": "trans"}, "pc")

    _report(client, "pc", params, payment)

    assert get_order(app, uid).state is OrderState.PAID


def test_a_link_without_options_offers_the_lump_sum_only(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, AMOUNT)
    edit = {"display": {"card_quota": [2, 3]}}
    params, payment = _pay(
        client, sandbox, f"/nicepay/checkout/{uid}", edit, "pc", card_quota=2
    )

    _report(client, "pc", params, payment)

    order = get_order(app, uid)
    assert order.state is OrderState.MISMATCH
    assert "card_quota is 2, offered 0" in (order.mismatch_reason or "")


def test_nice_s_own_menu_accepts_the_installments_nice_offers(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, AMOUNT)
    url = checkout_url(app, uid, card_quota=None)
    page = open_page(client, url)
    assert "display" not in page.request_pay["card"]  # NICE's menu is left in place
    params, payment = _pay(client, sandbox, url, {}, "pc", card_quota=6)

    _report(client, "pc", params, payment)

    assert get_order(app, uid).state is OrderState.PAID


@on_both_databases
def test_a_key_in_payment_through_another_mid_never_pays(
    make_app: AppFactory, sandbox: Sandbox
) -> None:
    """An API payment is held to the API channel's live MIDs, not the window's."""
    app = make_app({"NICEPAY_API_CHANNEL_MIDS": ["nictest99m"]})
    with app.app_context():
        order = state(app).payments.billing.pay_key_in(
            Card("4242-4242-4242-4242", "2030-12", "900101", "12"), AMOUNT, "key-in"
        )

    assert order.state is OrderState.MISMATCH
    reason = "pg_id is 'nictest04m', not a live MID of the api channel (nictest99m)"
    assert reason in (order.mismatch_reason or "")
    at_portone = state(app).sandbox.payment(order.imp_uid)  # type: ignore[union-attr]
    assert at_portone is not None and at_portone["status"] == "cancelled"


@on_both_databases
def test_a_key_in_payment_through_the_api_mid_is_paid(
    make_app: AppFactory,
) -> None:
    app = make_app()
    with app.app_context():
        order = state(app).payments.billing.pay_key_in(
            Card("4242-4242-4242-4242", "2030-12", "900101", "12"), AMOUNT, "key-in"
        )

    assert order.state is OrderState.PAID


def test_the_reason_is_shown_in_the_console_and_by_show(make_app: AppFactory) -> None:
    app = console_app(make_app)
    client, box = app.test_client(), state(app).sandbox
    assert box is not None
    uid = new_order(app, AMOUNT)
    url = checkout_url(app, uid, **OFFER)
    edit = {"display": {"card_quota": [2, 3, 6]}}
    params, payment = _pay(client, box, url, edit, "pc", card_quota=6)
    _report(client, "pc", params, payment)

    reason = "card_quota is 6, offered 0, 2, 3"
    page = Operator(app).get(f"/orders/{uid}").get_data(as_text=True)
    assert reason in page
    shown = app.test_cli_runner().invoke(args=["nicepay", "show", uid])
    assert shown.exit_code == 0 and reason in shown.output


@on_both_databases
def test_a_usd_order_is_paid_through_the_usd_channel_only(make_app: AppFactory) -> None:
    """With a USD channel, a USD checkout opens the window with its key, and its
    payment must come through the USD MID; the KRW window's does not pay it."""
    app = make_app(
        {
            "NICEPAY_USD_CHANNEL_KEY": "channel-key-usd",
            "NICEPAY_USD_CHANNEL_MIDS": ["niceusd01m"],
        }
    )
    box = state(app).sandbox
    assert box is not None
    box.add_pg_setting("niceusd01m", kind="window", channel_key="channel-key-usd")
    client = app.test_client()
    uid = new_order(app, 25, currency="USD", name="Gift card")
    params = open_page(client, f"/nicepay/checkout/{uid}").request_pay["card"]
    assert params["channelKey"] == "channel-key-usd" and "pg" not in params

    _, payment = _pay(client, box, f"/nicepay/checkout/{uid}", {}, "pc")
    _report(client, "pc", params, payment)
    assert payment["pg_id"] == "niceusd01m"
    assert get_order(app, uid).state is OrderState.PAID

    other = new_order(app, 25, currency="USD", name="Gift card")
    krw_window = {"pg": "nice.nictest00m"}  # the page's channelKey dropped
    params, payment = _pay(client, box, f"/nicepay/checkout/{other}", krw_window, "pc")
    _report(client, "pc", params, payment)
    order = get_order(app, other)
    assert order.state is OrderState.MISMATCH
    reason = "pg_id is 'nictest00m', not a live MID of the usd channel (niceusd01m)"
    assert reason in (order.mismatch_reason or "")
