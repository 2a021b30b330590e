"""The example store in a real Chromium, on the embedded sandbox, over real sockets.

The store is served on 127.0.0.1 under a strict Content-Security-Policy (no inline
script or style anywhere), with the sandbox mounted inside it as in sandbox mode.
Each test buys something, pays in the sandbox's window and checks the page the buyer
ends on, and PortOne's record of the payment. Screenshots of every end page go to
``test-artifacts/store/``.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask import Response

from example_app import create_app
from example_app import nicepay
from flask_nicepay import OrderState
from flask_nicepay.extension import SANDBOX_MOUNT
from flask_nicepay.i18n import TEXTS

from ..chromium import PHONE
from ..chromium import Watched
from ..chromium import served

pytestmark = pytest.mark.browser

CSP = "default-src 'self'; script-src 'self'; style-src 'self'; frame-src 'self'"
OVERLAY = "[data-testid=imp-sandbox-overlay]"


@pytest.fixture
def store(tmp_path: Path) -> t.Iterator[tuple[Flask, str]]:
    """The example store on a real socket, webhooks delivered as PortOne would."""
    app = create_app(
        {
            "SHOP_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
            "NICEPAY_SANDBOX_AUTO_DELIVER": True,
        }
    )

    @app.after_request
    def strict_csp(response: Response) -> Response:
        if (
            response.mimetype == "text/html"
            and "Content-Security-Policy" not in response.headers
        ):
            response.headers["Content-Security-Policy"] = CSP
        return response

    try:
        with served(app) as url:
            yield app, url
    finally:
        sandbox = app.extensions["nicepay"].sandbox
        if sandbox is not None:
            sandbox.close()


class Buyer(Watched):
    """A shopper in one browser context."""

    def __init__(self, context: t.Any) -> None:
        super().__init__(context, "store")

    def buy(self, base_url: str, product: str) -> str:
        """Buy one product from the shop's front page; returns the merchant_uid."""
        self.page.goto(base_url + "/")
        self.page.click(f"[data-testid=buy-{product}]")
        self.page.wait_for_url("**/nicepay/checkout/**")
        return self.page.url.split("/checkout/")[1].split("?")[0]

    def window(self) -> t.Any:
        self.page.wait_for_selector(OVERLAY)
        return self.page.frame_locator(f"{OVERLAY} iframe")

    def pay_on_phone(self, card: str | None = None) -> None:
        """Open the payment window (a whole page on a phone) and approve, with
        ``card`` chosen when given."""
        self.page.click("[data-testid=pay]")
        self.page.wait_for_url("**/_sandbox/sdk/window/**")
        if card is not None:
            self.page.get_by_test_id("card-select").select_option(card)
        self.page.get_by_test_id("approve").click()


@pytest.fixture
def buyer(browser: t.Any) -> t.Iterator[Buyer]:
    """A desktop browser asking for Korean."""
    context = browser.new_context(locale="ko-KR")
    yield Buyer(context)
    context.close()


@pytest.fixture
def phone(browser: t.Any) -> t.Iterator[Buyer]:
    context = browser.new_context(**PHONE, locale="ko-KR")
    yield Buyer(context)
    context.close()


def state_of(app: Flask, merchant_uid: str) -> OrderState:
    with app.app_context():
        order = nicepay.get_order(merchant_uid)
    assert order is not None
    return order.state


def test_pc_card_payment_ends_on_a_paid_order_page(
    store: tuple[Flask, str], buyer: Buyer
) -> None:
    app, url = store
    uid = buyer.buy(url, "hoodie")
    buyer.page.click("[data-testid=pay]")
    window = buyer.window()
    window.get_by_test_id("approve").wait_for(state="visible")
    buyer.screenshot("pc-checkout-window")
    window.get_by_test_id("quota-select").select_option("3")
    window.get_by_test_id("approve").click()

    buyer.page.wait_for_url(f"**/orders/{uid}")
    buyer.page.wait_for_selector("[data-testid=order][data-state=paid]")
    buyer.screenshot("pc-card-paid")
    assert state_of(app, uid) is OrderState.PAID
    sandbox = app.extensions["nicepay"].sandbox
    with app.app_context():
        imp_uid = nicepay.get_order(uid).imp_uid  # type: ignore[union-attr]
    payment = sandbox.payment(imp_uid)
    assert payment["status"] == "paid" and payment["card_quota"] == 3
    assert payment["channel"] == "pc"
    receipt = buyer.page.get_by_test_id("order-receipt")
    assert receipt.get_attribute("href") == payment["receipt_url"]
    assert buyer.violations == []


def test_phone_payment_returns_through_m_redirect_url(
    store: tuple[Flask, str], phone: Buyer
) -> None:
    app, url = store
    uid = phone.buy(url, "tee")
    phone.page.click("[data-testid=pay]")
    # The whole page goes to the payment window, then comes back.
    phone.page.wait_for_url("**/_sandbox/sdk/window/**")
    phone.page.get_by_test_id("approve").click()

    phone.page.wait_for_url(f"**/orders/{uid}")
    phone.page.wait_for_selector("[data-testid=order][data-state=paid]")
    phone.screenshot("mobile-card-paid")
    assert state_of(app, uid) is OrderState.PAID
    sandbox = app.extensions["nicepay"].sandbox
    with app.app_context():
        imp_uid = nicepay.get_order(uid).imp_uid  # type: ignore[union-attr]
    assert sandbox.payment(imp_uid)["channel"] == "mobile"
    assert phone.violations == []


@pytest.mark.parametrize(("locale", "language"), [("ko-KR", "ko"), ("en-US", "en")])
def test_a_checkout_whose_sdk_cannot_load_says_so_in_the_buyer_s_language(
    store: tuple[Flask, str], browser: t.Any, locale: str, language: str
) -> None:
    _, url = store
    context = browser.new_context(locale=locale)
    buyer = Buyer(context)
    buyer.page.route("**/v1/iamport.js", lambda route: route.abort())
    try:
        buyer.buy(url, "mug")
        missing = buyer.page.get_by_test_id("sdk-missing")
        missing.wait_for(state="visible")
        assert missing.inner_text() == TEXTS[language]["sdk_missing"]
        assert buyer.page.get_by_test_id("pay").is_disabled()
        buyer.screenshot(f"checkout-sdk-missing-{language}")
        assert buyer.violations == []
    finally:
        context.close()


def test_declined_card_stays_on_checkout_with_the_reason(
    store: tuple[Flask, str], buyer: Buyer
) -> None:
    app, url = store
    uid = buyer.buy(url, "mug")
    buyer.page.click("[data-testid=pay]")
    window = buyer.window()
    window.get_by_test_id("card-select").select_option("4000-0000-0000-9995")
    window.get_by_test_id("approve").click()

    error = buyer.page.get_by_test_id("error")
    error.wait_for(state="visible")
    assert "3095" in error.inner_text()
    assert buyer.page.get_by_test_id("pay").is_enabled()  # ready for another try
    buyer.screenshot("pc-card-declined")
    assert state_of(app, uid) is OrderState.FAILED
    assert buyer.violations == []


def test_virtual_account_issued_then_deposited(
    store: tuple[Flask, str], buyer: Buyer
) -> None:
    app, url = store
    uid = buyer.buy(url, "hoodie")
    buyer.page.check("[data-testid=method-vbank]")
    buyer.page.click("[data-testid=pay]")
    window = buyer.window()
    window.get_by_test_id("bank-select").select_option("004")
    window.get_by_test_id("issue-vbank").click()

    buyer.page.wait_for_url(f"**/orders/{uid}")
    buyer.page.wait_for_selector("[data-testid=order][data-state=vbank_issued]")
    account = buyer.page.get_by_test_id("vbank").inner_text()
    assert "KB국민" in account
    buyer.screenshot("vbank-issued")

    # The bank: a deposit through the sandbox's control API, over HTTP.
    deposit = requests.post(
        f"{url}{SANDBOX_MOUNT}/_sandbox/deposit", json={"merchant_uid": uid}, timeout=10
    )
    assert deposit.status_code == 200 and deposit.json()["code"] == 0
    # PortOne's webhook reaches the shop in the background; the page shows it.
    for _ in range(50):
        buyer.page.reload()
        if buyer.page.get_attribute("[data-testid=order]", "data-state") == "paid":
            break
        buyer.page.wait_for_timeout(100)
    buyer.page.wait_for_selector("[data-testid=order][data-state=paid]")
    buyer.screenshot("vbank-deposited-paid")
    assert state_of(app, uid) is OrderState.PAID
    assert buyer.violations == []


@pytest.mark.parametrize("who", ["buyer", "phone"])
def test_a_card_is_registered_on_the_hosted_page(
    store: tuple[Flask, str], who: str, request: pytest.FixtureRequest
) -> None:
    """The example store's card page, in Chromium on a desktop and on a phone: a
    typo is named and the field asked for again, then the card is kept."""
    app, url = store
    customer: Buyer = request.getfixturevalue(who)
    page = customer.page
    page.goto(url + "/cards")
    page.click("[data-testid=add-card]")
    page.wait_for_url("**/nicepay/cards/new?t=*")
    customer.screenshot(f"card-register-{who}")

    page.fill("[data-testid=card_number]", "4242 4242 4242 4241")
    page.fill("[data-testid=expiry]", "2030-12")
    page.fill("[data-testid=birth]", "900101")
    page.fill("[data-testid=pwd_2digit]", "12")
    page.click("[data-testid=register]")
    page.get_by_test_id("error-card_number").wait_for(state="visible")
    assert page.input_value("[data-testid=card_number]") == ""
    assert page.input_value("[data-testid=birth]") == ""
    customer.screenshot(f"card-register-typo-{who}")

    page.fill("[data-testid=card_number]", "4242 4242 4242 4242")
    page.fill("[data-testid=expiry]", "2030-12")
    page.fill("[data-testid=birth]", "900101")
    page.fill("[data-testid=pwd_2digit]", "12")
    page.click("[data-testid=register]")
    page.wait_for_url(f"{url}/cards")
    shown = page.get_by_test_id("card").inner_text()
    assert "4242" in shown and "4242424242424242" not in shown.replace("-", "")
    customer.screenshot(f"card-registered-{who}")
    with app.app_context():
        key = nicepay.billing.get_key("example-customer")
    assert key is not None and key.status == "active"
    assert customer.violations == []


def register_card(page: t.Any, number: str) -> None:
    """Fill the hosted card page and send it."""
    page.fill("[data-testid=card_number]", number)
    page.fill("[data-testid=expiry]", "2030-12")
    page.fill("[data-testid=birth]", "900101")
    page.fill("[data-testid=pwd_2digit]", "12")
    page.click("[data-testid=register]")


@pytest.mark.parametrize("who", ["buyer", "phone"])
def test_a_card_registered_then_a_subscription_charged(
    store: tuple[Flask, str], who: str, request: pytest.FixtureRequest
) -> None:
    """From the store's subscription page: register a card on the hosted page, come
    back, subscribe; the first period is charged to the card. Then a card with no
    balance: the next start is declined and the reason shown."""
    app, url = store
    customer: Buyer = request.getfixturevalue(who)
    page = customer.page
    page.goto(url + "/subscription")
    page.click("[data-testid=add-card]")
    page.wait_for_url("**/nicepay/cards/new?t=*")
    register_card(page, "4242 4242 4242 4242")
    page.wait_for_url(f"{url}/subscription")
    page.click("[data-testid=subscribe]")
    page.wait_for_url(f"{url}/subscription")
    # On a loaded machine PortOne's answer can outlast the client's timeout; the
    # charge is then settled by its webhook a moment later, and the page says so.
    for _ in range(30):
        if page.get_by_test_id("subscription-status").inner_text() == "이용 중":
            break
        page.wait_for_timeout(500)
        page.reload()
    assert page.get_by_test_id("subscription-status").inner_text() == "이용 중"
    customer.screenshot(f"subscription-active-{who}")
    with app.app_context():
        [sub] = nicepay.subscriptions.find(customer_uid="example-customer")
        charges = nicepay.subscriptions.charges(sub.subscription_uid)
    assert [(c.period, c.state) for c in charges] == [(1, "paid"), (2, "ready")]

    page.click("[data-testid=cancel]")
    page.wait_for_url(f"{url}/subscription")
    assert "이후 해지" in page.get_by_test_id("subscription").inner_text()
    with app.app_context():
        nicepay.subscriptions.cancel(sub.subscription_uid, at_period_end=False)
    page.goto(url + "/cards/add?next=subscription")
    register_card(page, "4000 0000 0000 0341")  # a key, but no balance behind it
    page.wait_for_url(f"{url}/subscription")
    page.click("[data-testid=subscribe]")
    page.wait_for_url(f"{url}/subscription")
    assert page.get_by_test_id("subscription-status").inner_text() == "결제 대기"
    assert "잔액부족" in page.get_by_test_id("subscription").inner_text()
    customer.screenshot(f"subscription-declined-{who}")
    assert customer.violations == []


def _type_card(page: t.Any, number: str) -> None:
    page.fill("[data-testid=card_number]", number)
    page.fill("[data-testid=expiry]", "2030-12")
    page.fill("[data-testid=birth]", "900101")
    page.fill("[data-testid=pwd_2digit]", "12")


@pytest.mark.parametrize("who", ["buyer", "phone"])
def test_an_order_is_paid_by_key_in_after_a_declined_card(
    store: tuple[Flask, str], who: str, request: pytest.FixtureRequest
) -> None:
    """The example store's "pay by card number", in Chromium on a desktop and on a
    phone: a declined card is said so and asked for again, then another card pays
    the same order in 3 installments and is kept."""
    app, url = store
    customer: Buyer = request.getfixturevalue(who)
    page = customer.page
    page.goto(url + "/")
    page.click("[data-testid=key-in-hoodie]")
    page.wait_for_url("**/nicepay/key-in?t=*")
    assert page.get_by_test_id("amount").inner_text() == "59,000원"

    _type_card(page, "4000 0000 0000 9995")
    page.click("[data-testid=pay]")
    page.get_by_test_id("refused").wait_for(state="visible")
    assert "승인하지 않았습니다" in page.get_by_test_id("refused").inner_text()
    assert page.input_value("[data-testid=card_number]") == ""
    customer.screenshot(f"key-in-declined-{who}")

    _type_card(page, "4242 4242 4242 4242")
    page.select_option("[data-testid=card_quota]", "3")
    page.check("[data-testid=keep_card]")
    page.click("[data-testid=pay]")
    page.wait_for_url(f"{url}/orders/*")
    assert page.get_by_test_id("order-state").inner_text() == "결제 완료"
    customer.screenshot(f"key-in-paid-{who}")
    merchant_uid = page.url.rsplit("/", 1)[1]
    with app.app_context():
        payment = nicepay.client.find_payment(merchant_uid)
        key = nicepay.billing.get_key("example-customer")
    assert payment.status == "paid" and payment.card_quota == 3
    assert key is not None and key.status == "active"
    assert customer.violations == []


@pytest.fixture
def english_phone(browser: t.Any) -> t.Iterator[Buyer]:
    """A phone whose browser asks for English, and says nothing else about it."""
    context = browser.new_context(**PHONE, locale="en-US")
    yield Buyer(context)
    context.close()


def test_an_english_phone_buyer_is_declined_then_pays(
    store: tuple[Flask, str], english_phone: Buyer
) -> None:
    """From ``Accept-Language`` alone: the shop, the checkout, the payment window,
    the decline and the paid order all speak English; the card company's own
    reason is shown as it came."""
    app, url = store
    page = english_phone.page
    page.goto(url + "/")
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_by_test_id("price-mug").inner_text() == "₩12,000"
    uid = english_phone.buy(url, "mug")
    assert page.get_attribute("html", "lang") == "en"
    assert page.get_by_test_id("shop-header").is_visible()
    assert page.locator("[data-testid=sandbox-notice]").count() == 1
    english_phone.screenshot("english-phone-checkout")

    english_phone.pay_on_phone(card="4000-0000-0000-9995")
    page.wait_for_url(f"**/nicepay/checkout/{uid}**")
    error = page.get_by_test_id("error")
    error.wait_for(state="visible")
    assert "did not go through" in page.get_by_test_id("error-general").inner_text()
    assert "[3095]" in page.get_by_test_id("error-given").inner_text()
    english_phone.screenshot("english-phone-declined")
    assert state_of(app, uid) is OrderState.FAILED

    english_phone.pay_on_phone()
    page.wait_for_url(f"**/orders/{uid}")
    page.wait_for_selector("[data-testid=order][data-state=paid]")
    assert page.get_by_test_id("order-state").inner_text() == "Paid"
    assert page.get_by_test_id("order-paid").inner_text() == "₩12,000 · Credit card"
    assert page.get_by_test_id("fail-reason").count() == 0  # paid: no old decline
    english_phone.screenshot("english-phone-paid")
    assert state_of(app, uid) is OrderState.PAID
    assert english_phone.violations == []


def test_a_deposit_that_lands_after_the_redirect_is_caught_up(
    store: tuple[Flask, str], buyer: Buyer
) -> None:
    """The sandbox's deposit button redirects before PortOne's webhook lands: the
    order page says it is confirming, asks the status route, and shows the paid
    order once the webhook has moved it."""
    app, url = store
    uid = buyer.buy(url, "tee")
    buyer.page.check("[data-testid=method-vbank]")
    buyer.page.click("[data-testid=pay]")
    window = buyer.window()
    window.get_by_test_id("bank-select").select_option("004")
    window.get_by_test_id("issue-vbank").click()
    buyer.page.wait_for_selector("[data-testid=order][data-state=vbank_issued]")

    sandbox = app.extensions["nicepay"].sandbox
    sandbox.inject_webhook_fault("delay", delay=600)  # held until the clock moves
    buyer.page.click("[data-testid=sandbox-deposit]")
    buyer.page.wait_for_url(f"**/orders/{uid}?deposited=1")
    confirming = buyer.page.get_by_test_id("confirming")
    assert confirming.is_visible()
    assert buyer.page.get_by_test_id("order-state").inner_text() == "입금 대기"
    buyer.screenshot("vbank-deposit-confirming")
    assert state_of(app, uid) is OrderState.VBANK_ISSUED

    sandbox.advance_clock(601)  # the bank's webhook is delivered now
    buyer.page.wait_for_url(f"**/orders/{uid}", timeout=20_000)
    buyer.page.wait_for_selector("[data-testid=order][data-state=paid]")
    assert buyer.page.get_by_test_id("confirming").count() == 0
    assert buyer.page.get_by_test_id("order-state").inner_text() == "결제 완료"
    buyer.screenshot("vbank-deposit-caught-up")
    assert state_of(app, uid) is OrderState.PAID
    assert buyer.violations == []
