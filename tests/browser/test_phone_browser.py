"""A Korean buyer on a phone, in a real Chromium: every state said in Korean.

The phone asks for Korean (``Accept-Language: ko-KR``) and nothing else. The
shop's product page shows what is left in stock; the checkout, the sandbox's
payment window, a decline, a second try that pays, the receipt and a virtual
account waiting for its deposit all speak Korean, with the card company's own
reason shown as it came. Screenshots go to ``test-artifacts/store/``.
"""

from __future__ import annotations

import pytest
from flask import Flask

from flask_nicepay import OrderState

from .test_store_browser import Buyer
from .test_store_browser import phone  # noqa: F401  (the fixtures)
from .test_store_browser import state_of
from .test_store_browser import store  # noqa: F401

pytestmark = pytest.mark.browser

DECLINED_CARD = "4000-0000-0000-9995"


def test_a_korean_phone_buyer_is_declined_then_pays_and_gets_a_receipt(
    store: tuple[Flask, str],  # noqa: F811
    phone: Buyer,  # noqa: F811
) -> None:
    app, url = store
    page = phone.page
    page.goto(url + "/")
    assert page.get_attribute("html", "lang") == "ko"
    assert page.get_by_test_id("stock-mug").inner_text() == "남은 수량 5개"
    phone.screenshot("korean-phone-products")
    uid = phone.buy(url, "mug")
    assert page.get_attribute("html", "lang") == "ko"
    phone.screenshot("korean-phone-checkout")

    phone.pay_on_phone(card=DECLINED_CARD)
    page.wait_for_url(f"**/nicepay/checkout/{uid}**")
    page.get_by_test_id("error").wait_for(state="visible")
    general = page.get_by_test_id("error-general").inner_text()
    assert "결제가 이루어지지 않았습니다" in general
    assert "[3095]" in page.get_by_test_id("error-given").inner_text()
    phone.screenshot("korean-phone-declined")
    assert state_of(app, uid) is OrderState.FAILED

    phone.pay_on_phone()
    page.wait_for_url(f"**/orders/{uid}")
    page.wait_for_selector("[data-testid=order][data-state=paid]")
    assert page.get_by_test_id("order-state").inner_text() == "결제 완료"
    assert page.get_by_test_id("order-paid").inner_text() == "12,000원 · 신용카드"
    assert page.get_by_test_id("receipt-no").inner_text().startswith("R-")
    phone.screenshot("korean-phone-paid")
    page.goto(url + "/")
    assert page.get_by_test_id("stock-mug").inner_text() == "남은 수량 4개"
    assert phone.violations == []


def test_a_korean_phone_buyer_waits_for_a_deposit(
    store: tuple[Flask, str],  # noqa: F811
    phone: Buyer,  # noqa: F811
) -> None:
    app, url = store
    page = phone.page
    uid = phone.buy(url, "hoodie")
    page.check("[data-testid=method-vbank]")
    page.click("[data-testid=pay]")
    page.wait_for_url("**/_sandbox/sdk/window/**")
    page.get_by_test_id("bank-select").select_option("004")
    page.get_by_test_id("issue-vbank").click()
    page.wait_for_url(f"**/orders/{uid}")
    page.wait_for_selector("[data-testid=order][data-state=vbank_issued]")
    assert page.get_by_test_id("order-state").inner_text() == "입금 대기"
    assert "KB국민" in page.get_by_test_id("vbank").inner_text()
    assert "KST" in page.get_by_test_id("vbank-due").inner_text()
    phone.screenshot("korean-phone-vbank")
    assert state_of(app, uid) is OrderState.VBANK_ISSUED
    assert phone.violations == []
