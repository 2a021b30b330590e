"""A buyer edits the checkout's parameters in a real Chromium, and is not paid for it.

A small store sells one 51,000 KRW item, offered by card, as a lump sum or in 2 or
3 months, on the embedded sandbox over a real socket, with PortOne's webhooks
delivered as PortOne would. The buyer opens the checkout page and, as anyone can in
the browser's console, wraps ``IMP.request_pay`` so the page's own parameters go
out edited: the account's test-mode MID named with ``pg``, the installment menu
widened (then six months picked in the window), another pay method. The window
approves each one, as NICE's would. The order never becomes paid, the payment is
cancelled at PortOne exactly once, and the order keeps the reason. The same page,
left alone, pays. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask import redirect
from werkzeug.wrappers import Response

from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay.sandbox import TEST_WINDOW_MID
from flask_nicepay.store import Order

from ..chromium import Watched
from ..chromium import served
from ..databases import fresh_postgres_engine
from ..databases import postgres_url

pytestmark = pytest.mark.browser

OVERLAY = "[data-testid=imp-sandbox-overlay]"
AMOUNT = 51_000
TEST_MID = TEST_WINDOW_MID
#: What the buyer's console does: wrap the SDK so the page's parameters go out
#: with the edit laid over them.
EDIT = """(edit) => {
  const original = window.IMP.request_pay.bind(window.IMP);
  window.IMP.request_pay = (params, callback) => {
    const edited = Object.assign({}, params, edit);
    if ("pg" in edit) { delete edited.channelKey; }
    return original(edited, callback);
  };
}"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shop(
    request: pytest.FixtureRequest, tmp_path: Path
) -> t.Iterator[tuple[Flask, str]]:
    """The store on a real socket; ``/buy`` makes an order and sends the buyer to
    its checkout, which offers the card as a lump sum or 2 or 3 months."""
    if request.param == "postgres":
        fresh_postgres_engine().dispose()
        database = postgres_url()
    else:
        database = f"sqlite:///{tmp_path / 'shop.db'}"
    app = Flask("tamper_shop", instance_path=str(tmp_path / "instance"))
    app.config.update(
        SECRET_KEY="tamper-shop",
        NICEPAY_SANDBOX=True,
        NICEPAY_SANDBOX_AUTO_DELIVER=True,
        NICEPAY_DATABASE_URI=database,
    )
    nicepay = NicePay(app)

    @app.get("/")
    def home() -> str:
        return (
            '<!doctype html><form method="post" action="/buy">'
            '<button data-testid="buy">가습기 51,000원</button></form>'
        )

    @app.post("/buy")
    def buy() -> Response:
        order = nicepay.create_order(amount=AMOUNT, name="가습기")
        url = nicepay.checkout_url(order, pay_methods=["card"], card_quota=[2, 3])
        return redirect(url)

    try:
        with served(app) as url:
            yield app, url
    finally:
        NicePay.state(app).sandbox.close()  # type: ignore[union-attr]
        NicePay.state(app).payments.engine.dispose()


class Buyer(Watched):
    def __init__(self, context: t.Any) -> None:
        super().__init__(context, "tamper")

    def checkout(self, base_url: str) -> str:
        """Buy the item; returns the order's merchant_uid, on its checkout page."""
        self.page.goto(base_url + "/")
        self.page.click("[data-testid=buy]")
        self.page.wait_for_url("**/nicepay/checkout/**")
        self.page.wait_for_function("() => window.IMP && window.IMP.request_pay")
        return self.page.url.split("/checkout/")[1].split("?")[0]

    def pay(self, quota: str | None = None) -> None:
        self.page.click("[data-testid=pay]")
        self.page.wait_for_selector(OVERLAY)
        window = self.page.frame_locator(f"{OVERLAY} iframe")
        window.get_by_test_id("approve").wait_for(state="visible")
        if quota is not None:
            window.get_by_test_id("quota-select").select_option(quota)
        window.get_by_test_id("approve").click()


@pytest.fixture
def buyer(browser: t.Any) -> t.Iterator[Buyer]:
    context = browser.new_context(locale="ko-KR")
    yield Buyer(context)
    context.close()


def settled(app: Flask, merchant_uid: str) -> Order:
    """The order once the page's callback and the webhook have been processed."""
    deadline = time.monotonic() + 15
    while True:
        with app.app_context():
            order = NicePay.state(app).payments.orders.get(merchant_uid)
        assert order is not None
        if order.state is not OrderState.READY or time.monotonic() > deadline:
            return order
        time.sleep(0.1)


ATTACKS = {
    "test_mid": (
        {"pg": f"nice.{TEST_MID}"},
        None,
        f"pg_id is '{TEST_MID}', not a live MID of the window channel",
    ),
    "installments": (
        {"display": {"card_quota": [2, 3, 4, 5, 6]}},
        "6",
        "card_quota is 6, offered 0, 2, 3",
    ),
    "pay_method": (
        {"pay_method": "trans"},
        None,
        "pay_method is 'trans', offered card",
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_edited_checkout_is_cancelled_not_paid(
    shop: tuple[Flask, str], buyer: Buyer, attack: str
) -> None:
    app, url = shop
    edit, quota, reason = ATTACKS[attack]
    uid = buyer.checkout(url)
    buyer.page.evaluate(EDIT, edit)
    buyer.pay(quota)

    order = settled(app, uid)
    buyer.screenshot(f"edited-{attack}")
    assert order.state is OrderState.MISMATCH
    assert reason in (order.mismatch_reason or "")
    sandbox = NicePay.state(app).sandbox
    assert sandbox is not None and order.imp_uid is not None
    payment = sandbox.payment(order.imp_uid)
    assert payment is not None and payment["status"] == "cancelled"
    assert len(payment["cancel_history"]) == 1
    assert sandbox.cancel_checksums(order.imp_uid) == [AMOUNT]
    assert buyer.violations == []


def test_the_same_checkout_left_alone_is_paid(
    shop: tuple[Flask, str], buyer: Buyer
) -> None:
    app, url = shop
    uid = buyer.checkout(url)
    buyer.pay("3")

    order = settled(app, uid)
    assert order.state is OrderState.PAID
    sandbox = NicePay.state(app).sandbox
    assert sandbox is not None and order.imp_uid is not None
    assert sandbox.payment(order.imp_uid)["card_quota"] == 3  # type: ignore[index]
