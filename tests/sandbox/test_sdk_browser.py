"""The browser SDK in a real Chromium: a store page, the modal, the mobile redirect.

A tiny store (one page, one external script, a strict CSP) runs on one origin and
the sandbox on another, each on a real socket; the page loads
``<sandbox>/v1/iamport.js`` and pays on a button click, as a store page would with
PortOne's CDN script. One test mounts the sandbox inside the store instead.
Every test also checks that nothing broke the store's Content-Security-Policy.
A screenshot of each end state goes to ``test-artifacts/sandbox-sdk/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask import Response
from flask import render_template_string
from flask import request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_nicepay.sandbox import TEST_WINDOW_MID
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import serve

from ..chromium import IPHONE
from ..chromium import Watched
from ..chromium import served
from .peers import Api

pytestmark = pytest.mark.browser

MOUNT = "/_nicepay_sandbox"
OVERLAY = "[data-testid=imp-sandbox-overlay]"

SHOP_PAGE = """<!doctype html>
<html lang="ko">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Shop</title>
  <script src="{{ script_url }}"></script>
  <script src="/shop.js" defer></script>
</head>
<body>
  <h1>Shop</h1>
  <button id="pay" data-merchant="{{ merchant }}"
          data-params="{{ params }}">Pay</button>
  <pre id="result"></pre>
</body>
</html>
"""

SHOP_JS = """
(function () {
  "use strict";
  const button = document.getElementById("pay");
  const result = document.getElementById("result");
  button.addEventListener("click", function () {
    if (button.dataset.merchant) {
      IMP.init(button.dataset.merchant);
    }
    IMP.request_pay(JSON.parse(button.dataset.params), function (rsp) {
      result.textContent = JSON.stringify(rsp);
      result.dataset.done = "yes";
    });
  });
})();
"""

RETURN_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Return</title></head>
<body><h1>Returned</h1><pre id="query">{{ query }}</pre></body></html>
"""


class Shop:
    """A store with a checkout page under a strict CSP.

    :param script_url: where the page loads ``iamport.js`` from.
    :param sandbox_origin: the sandbox's origin, or None when it is mounted.
    """

    def __init__(self, script_url: str, sandbox_origin: str | None) -> None:
        self.script_url = script_url
        allowed = f"'self' {sandbox_origin}" if sandbox_origin else "'self'"
        frames = sandbox_origin or "'self'"
        self.csp = (
            f"default-src {allowed}; frame-src {frames}; "
            f"script-src {allowed}; style-src {allowed}"
        )
        self.merchant = "imp00000000"
        self.params: dict[str, Any] = {}
        self.app = Flask("shop")
        self.app.add_url_rule("/pay", "pay", self._page)
        self.app.add_url_rule("/shop.js", "script", self._script)
        self.app.add_url_rule("/return", "back", self._return)
        self.app.after_request(self._protect)

    def _page(self) -> str:
        return render_template_string(
            SHOP_PAGE,
            script_url=self.script_url,
            merchant=self.merchant,
            params=json.dumps(self.params, ensure_ascii=False),
        )

    def _script(self) -> Response:
        return Response(SHOP_JS, mimetype="text/javascript")

    def _return(self) -> str:
        query = json.dumps(request.args.to_dict(), ensure_ascii=False)
        return render_template_string(RETURN_PAGE, query=query)

    def _protect(self, response: Response) -> Response:
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = self.csp
        return response


def stored(sb: Sandbox, imp_uid: str) -> dict[str, Any]:
    """The payment as the REST API would show it; it must exist."""
    payment = sb.payment(imp_uid)
    assert payment is not None, imp_uid
    return payment


# Fixtures -------------------------------------------------------------------


@pytest.fixture
def sandbox_url(sb: Sandbox) -> Iterator[str]:
    with serve(sb) as url:
        yield url


@pytest.fixture
def shop(sandbox_url: str) -> Shop:
    return Shop(Sandbox.sdk_url(sandbox_url), sandbox_url)


@pytest.fixture
def shop_url(shop: Shop) -> Iterator[str]:
    with served(shop.app) as url:
        yield url


class Buyer(Watched):
    """One browser context: its page and every CSP violation any frame reported."""

    def __init__(self, context: Any) -> None:
        super().__init__(context, "sandbox-sdk")

    def pay(self, url: str) -> None:
        """Open the checkout page and press the pay button."""
        self.page.goto(url)
        self.page.click("#pay")

    def window(self) -> Any:
        """The payment window inside the modal."""
        self.page.wait_for_selector(OVERLAY)
        return self.page.frame_locator(f"{OVERLAY} iframe")

    def rsp(self) -> dict[str, Any]:
        """What the store's callback received."""
        self.page.wait_for_selector("#result[data-done=yes]", state="attached")
        rsp: dict[str, Any] = json.loads(self.page.inner_text("#result"))
        return rsp

    def returned(self) -> dict[str, list[str]]:
        """The query the store's return page was reached with."""
        self.page.wait_for_url("**/return?**")
        return parse_qs(urlsplit(self.page.url).query)


@pytest.fixture
def buyer_factory(browser: Any) -> Iterator[Callable[..., Buyer]]:
    contexts: list[Any] = []

    def make(**options: Any) -> Buyer:
        context = browser.new_context(**options)
        contexts.append(context)
        return Buyer(context)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def desktop(buyer_factory: Callable[..., Buyer]) -> Buyer:
    return buyer_factory(viewport={"width": 1280, "height": 800})


@pytest.fixture
def phone(buyer_factory: Callable[..., Buyer]) -> Buyer:
    return buyer_factory(
        user_agent=IPHONE,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )


def order(merchant_uid: str, amount: int = 15000, **params: Any) -> dict[str, Any]:
    return {
        "pg": "nice",
        "pay_method": "card",
        "merchant_uid": merchant_uid,
        "name": "샌드박스 티셔츠",
        "amount": amount,
        "buyer_name": "홍길동",
        "buyer_email": "buyer@example.com",
        **params,
    }


# PC -------------------------------------------------------------------------


def test_pc_card_approval(
    sb: Sandbox, shop: Shop, shop_url: str, sandbox_url: str, desktop: Buyer
) -> None:
    shop.params = order("pc-approve", 60000, display={"card_quota": [2, 3]})
    desktop.pay(f"{shop_url}/pay")
    window = desktop.window()
    assert window.get_by_test_id("amount").inner_text() == "60,000원"
    assert window.get_by_test_id("order-name").inner_text() == "샌드박스 티셔츠"
    window.get_by_test_id("card-select").select_option("5555-5555-5555-4444")
    window.get_by_test_id("quota-select").select_option("3")
    overlay = desktop.page.locator(OVERLAY).bounding_box()
    assert overlay == {"x": 0, "y": 0, "width": 1280, "height": 800}
    desktop.screenshot("pc-card-window")
    window.get_by_test_id("approve").click()

    rsp = desktop.rsp()
    assert rsp["success"] is True and rsp["status"] == "paid"
    assert rsp["merchant_uid"] == "pc-approve" and rsp["paid_amount"] == 60000
    assert rsp["card_name"] == "삼성카드" and rsp["card_quota"] == 3
    assert desktop.page.locator(OVERLAY).count() == 0
    payment = stored(sb, rsp["imp_uid"])
    assert payment["status"] == "paid"
    assert payment["channel"] == "pc" and "HeadlessChrome" in payment["user_agent"]
    desktop.screenshot("pc-card-approved")
    assert desktop.violations == []


def test_pc_installment_menu_and_test_mid(
    sb: Sandbox, shop: Shop, shop_url: str, desktop: Buyer
) -> None:
    # ``[6]``: a lump sum or 6 months, through the test window setting named.
    shop.params = order(
        "pc-quota", 60000, display={"card_quota": [6]}, pg=f"nice.{TEST_WINDOW_MID}"
    )
    desktop.pay(f"{shop_url}/pay")
    window = desktop.window()
    quota = window.get_by_test_id("quota-select")
    values = quota.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert values == ["0", "6"]
    # The buyer edits the page to offer 3 months and picks it: the sandbox,
    # like NICE's window, has no such choice and refuses it.
    quota.evaluate(
        "s => { const o = document.createElement('option');"
        " o.value = '3'; o.textContent = '3개월'; s.appendChild(o); s.value = '3'; }"
    )
    window.get_by_test_id("approve").click()
    status = window.get_by_test_id("status")
    status.filter(has_text="0, 6").wait_for()
    ready = sb.state()["payments"]
    assert [(p["status"], p["card_quota"]) for p in ready] == [("ready", 0)]
    desktop.screenshot("pc-quota-refused")
    quota.select_option("6")
    window.get_by_test_id("approve").click()
    rsp = desktop.rsp()
    assert rsp["success"] is True and rsp["card_quota"] == 6
    payment = stored(sb, rsp["imp_uid"])
    assert (payment["pg_id"], payment["sandbox"]) == (TEST_WINDOW_MID, True)
    assert desktop.violations == []


def test_pc_decline(sb: Sandbox, shop: Shop, shop_url: str, desktop: Buyer) -> None:
    shop.params = order("pc-decline")
    desktop.pay(f"{shop_url}/pay")
    desktop.window().get_by_test_id("decline").click()
    rsp = desktop.rsp()
    assert rsp["success"] is False and rsp["status"] == "failed"
    assert rsp["error_code"] == "3095" and "한도초과" in rsp["error_msg"]
    assert stored(sb, rsp["imp_uid"])["status"] == "failed"
    desktop.screenshot("pc-card-declined")
    assert desktop.violations == []


def test_pc_close_in_english(
    sb: Sandbox, shop: Shop, shop_url: str, desktop: Buyer
) -> None:
    shop.params = order("pc-close", language="en")
    desktop.pay(f"{shop_url}/pay")
    close = desktop.window().get_by_test_id("close")
    assert close.inner_text() == "Close"
    close.click()
    rsp = desktop.rsp()
    assert rsp["success"] is False and rsp["error_code"] is None
    assert "사용자가 결제를 취소" in rsp["error_msg"]
    assert stored(sb, rsp["imp_uid"])["status"] == "ready"
    assert desktop.page.locator(OVERLAY).count() == 0
    desktop.screenshot("pc-closed")
    assert desktop.violations == []


def test_pc_vbank_issued(
    sb: Sandbox, shop: Shop, shop_url: str, desktop: Buyer
) -> None:
    shop.params = order("pc-vbank", 30000, pay_method="vbank", vbank_due="20991231")
    desktop.pay(f"{shop_url}/pay")
    window = desktop.window()
    window.get_by_test_id("bank-select").select_option("004")
    desktop.screenshot("pc-vbank-window")
    window.get_by_test_id("issue-vbank").click()
    rsp = desktop.rsp()
    assert rsp["success"] is True and rsp["status"] == "ready"
    assert rsp["vbank_num"] and rsp["vbank_name"] == "KB국민은행"
    assert stored(sb, rsp["imp_uid"])["vbank_code"] == "004"
    desktop.screenshot("pc-vbank-issued")
    assert desktop.violations == []


def test_pc_prepared_amount_mismatch_is_refused(
    sb: Sandbox, shop: Shop, shop_url: str, desktop: Buyer
) -> None:
    api = Api(sb)
    api.ok(api.post("/payments/prepare", json={"merchant_uid": "pc-m", "amount": 9900}))
    shop.params = order("pc-m", 15000)
    desktop.pay(f"{shop_url}/pay")
    rsp = desktop.rsp()
    assert rsp["success"] is False and rsp["imp_uid"] is None
    assert rsp["error_code"] == "F1001" and rsp["merchant_uid"] == "pc-m"
    assert desktop.page.locator(OVERLAY).count() == 0
    assert sb.payments_count() == 0
    desktop.screenshot("pc-prepare-mismatch")
    assert desktop.violations == []


def test_a_page_that_never_called_init_is_refused(
    sb: Sandbox, shop: Shop, shop_url: str, desktop: Buyer
) -> None:
    shop.merchant = ""
    shop.params = order("pc-no-init")
    desktop.pay(f"{shop_url}/pay")
    rsp = desktop.rsp()
    assert rsp["success"] is False and rsp["error_code"] == "F400"
    assert "IMP.init" in rsp["error_msg"] and sb.payments_count() == 0
    assert desktop.violations == []


def test_the_violation_detector_sees_violations(shop_url: str, desktop: Buyer) -> None:
    # Without this, "no violation" above could mean "not listening".
    desktop.page.goto(f"{shop_url}/pay")
    desktop.page.evaluate("document.body.setAttribute('style', 'color: red')")
    desktop.page.wait_for_timeout(100)
    assert any("style-src" in text for text in desktop.violations)


# Mobile ---------------------------------------------------------------------


def test_mobile_approval_returns_to_m_redirect_url(
    sb: Sandbox, shop: Shop, shop_url: str, sandbox_url: str, phone: Buyer
) -> None:
    shop.params = order("m-approve", m_redirect_url=f"{shop_url}/return?from=shop")
    phone.pay(f"{shop_url}/pay")
    phone.page.wait_for_url(f"{sandbox_url}/_sandbox/sdk/window/**")
    approve = phone.page.get_by_test_id("approve")
    assert approve.bounding_box()["height"] >= 44
    phone.screenshot("mobile-window")
    approve.click()

    query = phone.returned()
    assert query["imp_success"] == ["true"] and query["from"] == ["shop"]
    assert query["merchant_uid"] == ["m-approve"]
    payment = stored(sb, query["imp_uid"][0])
    assert payment["status"] == "paid"
    assert payment["channel"] == "mobile" and "iPhone" in payment["user_agent"]
    assert json.loads(phone.page.inner_text("#query"))["imp_success"] == "true"
    phone.screenshot("mobile-returned")
    assert phone.violations == []


def test_mobile_refusal_redirects(
    sb: Sandbox, shop: Shop, shop_url: str, phone: Buyer
) -> None:
    sb.checkout("m-paid", 15000)
    shop.params = order("m-paid", m_redirect_url="/return")
    phone.pay(f"{shop_url}/pay")
    query = phone.returned()
    assert query["imp_success"] == ["false"] and query["error_code"] == ["F1002"]
    assert query["merchant_uid"] == ["m-paid"] and "imp_uid" not in query
    phone.screenshot("mobile-refused")
    assert phone.violations == []


# Mounted inside the store ---------------------------------------------------


def test_mounted_under_a_prefix_on_the_stores_origin(
    sb: Sandbox, desktop: Buyer
) -> None:
    shop = Shop(Sandbox.sdk_url(MOUNT), None)
    shop.params = order("mounted")
    store = DispatcherMiddleware(shop.app.wsgi_app, {MOUNT: sb.app})
    with served(store) as shop_url:
        desktop.pay(f"{shop_url}/pay")
        frame = desktop.page.locator(f"{OVERLAY} iframe")
        src = frame.get_attribute("src") or ""
        assert src.startswith(f"{shop_url}{MOUNT}/_sandbox/sdk/window/")
        desktop.window().get_by_test_id("approve").click()
        rsp = desktop.rsp()
        desktop.screenshot("mounted-approved")
    assert rsp["success"] is True
    assert stored(sb, rsp["imp_uid"])["status"] == "paid"
    assert desktop.violations == []
