"""The hosted checkout page: IMP.request_pay's parameters, computed on the server."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import ValidationError

from flask_nicepay import OrderState
from flask_nicepay import testing
from flask_nicepay.checkout import KST
from flask_nicepay.checkout import PAY_METHODS
from flask_nicepay.i18n import TEXTS
from flask_nicepay.sandbox import CheckoutRefused
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import Page
from .webshop import checkout_new_order
from .webshop import checkout_url
from .webshop import complete
from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import open_page
from .webshop import paid_order
from .webshop import pay_in_window
from .webshop import state

BUYER = {
    "buyer_name": "홍길동",
    "buyer_email": "gildong@example.com",
    "buyer_tel": "010-1234-5678",
    "buyer_addr": "서울특별시 강남구 테헤란로 1",
    "buyer_postcode": "06236",
}


def params_of(client: FlaskClient, url: str, method: str = "card") -> dict[str, t.Any]:
    return open_page(client, url).request_pay[method]


# -- what comes from the database --------------------------------------------------


def test_amount_uid_and_name_come_from_the_order_not_the_browser(
    app: Flask, client: FlaskClient
) -> None:
    uid = new_order(app, 25_000, name="반팔 티셔츠", **BUYER)
    other = new_order(app, 99_000)
    url = (
        f"/nicepay/checkout/{uid}?amount=1&merchant_uid={other}&name=free"
        "&currency=USD&pay_method=phone&buyer_name=eve"
    )
    page = open_page(client, url)

    assert set(page.request_pay) == set(PAY_METHODS)
    for method, params in page.request_pay.items():
        assert params["pay_method"] == method
        assert params["merchant_uid"] == uid
        assert params["amount"] == 25_000 and isinstance(params["amount"], int)
        assert params["name"] == "반팔 티셔츠"
        assert params["currency"] == "KRW"
        assert {k: params[k] for k in BUYER} == BUYER
    assert page.find(id="nicepay-checkout")["data-method"] == "card"
    assert page.by_testid("amount") == "25,000원"
    assert page.by_testid("order-name") == "반팔 티셔츠"


def test_every_pay_method_is_offered_and_accepted_by_portone(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, 60_000)
    page = open_page(client, checkout_url(app, uid, card_quota=[2, 3]))
    radios = [a["value"] for tag, a in page.tags if a.get("name") == "pay_method"]
    assert radios == list(PAY_METHODS)
    for method, params in page.request_pay.items():
        opened = sandbox.open_checkout(params)  # PortOne's window opens for each
        assert opened["pay_method"] == method
        assert opened["amount"] == 60_000
    kakao = page.request_pay["kakaopay"]
    assert kakao["pay_method"] == "kakaopay" and "display" not in kakao


def test_a_single_method_needs_no_choice(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app)
    page = open_page(client, checkout_url(app, uid, pay_methods=["trans"]))
    assert list(page.request_pay) == ["trans"]
    assert not [a for _, a in page.tags if a.get("name") == "pay_method"]
    assert page.find(id="nicepay-checkout")["data-method"] == "trans"


def test_chosen_method_is_preselected(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app)
    page = open_page(client, checkout_url(app, uid, pay_method="vbank"))
    assert page.find(id="nicepay-checkout")["data-method"] == "vbank"
    assert "checked" in page.find(data_testid="method-vbank")
    assert "checked" not in page.find(data_testid="method-card")
    with pytest.raises(ValidationError, match="pay_method"):
        checkout_url(app, uid, pay_methods=["card"], pay_method="vbank")


def test_tax_parts_and_custom_data_come_from_the_order(
    app: Flask, client: FlaskClient
) -> None:
    uid = new_order(
        app, 33_000, tax_free=3_000, vat_amount=2_727, custom_data={"cart": [1, 2]}
    )
    params = params_of(client, f"/nicepay/checkout/{uid}")
    assert params["tax_free"] == 3_000 and params["vat_amount"] == 2_727
    assert json.loads(params["custom_data"]) == {"cart": [1, 2]}
    assert "escrow" not in params

    # A checkout may carry its own custom_data instead.
    chosen = params_of(client, checkout_url(app, uid, custom_data={"coupon": "A1"}))
    assert chosen["custom_data"] == {"coupon": "A1"}


def test_no_tax_parts_when_the_order_has_none(app: Flask, client: FlaskClient) -> None:
    params = params_of(client, f"/nicepay/checkout/{new_order(app)}")
    assert "tax_free" not in params and "vat_amount" not in params
    assert "custom_data" not in params and "buyer_name" not in params


# -- channel, window and language ------------------------------------------------


def test_deprecated_pg_without_a_channel_key(client: FlaskClient, app: Flask) -> None:
    params = params_of(client, f"/nicepay/checkout/{new_order(app)}")
    assert params["pg"] == "nice" and "channelKey" not in params


def test_channel_key_when_configured(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_CHANNEL_KEY": "channel-key-test-1"})
    params = params_of(app.test_client(), f"/nicepay/checkout/{new_order(app)}")
    assert params["channelKey"] == "channel-key-test-1" and "pg" not in params


def test_nice_mobile_v2_default_and_per_checkout(make_app: AppFactory) -> None:
    plain = make_app()
    uid = new_order(plain)
    client = plain.test_client()
    assert params_of(client, f"/nicepay/checkout/{uid}")["niceMobileV2"] is False
    chosen = checkout_url(plain, uid, nice_mobile_v2=True)
    assert params_of(client, chosen)["niceMobileV2"] is True

    v2 = make_app({"NICEPAY_NICE_MOBILE_V2": True})
    uid = new_order(v2)
    assert params_of(v2.test_client(), f"/nicepay/checkout/{uid}")["niceMobileV2"]


def test_usd_is_card_only_in_the_new_mobile_window(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, 25, currency="USD", name="Gift card")
    # Without options the page offers what USD allows: the card.
    page = open_page(client, f"/nicepay/checkout/{uid}")
    assert list(page.request_pay) == ["card"]
    params = page.request_pay["card"]
    assert params["currency"] == "USD" and params["amount"] == 25
    assert params["niceMobileV2"] is True
    assert page.by_testid("amount") == "US$25.00"
    sandbox.open_checkout(params, channel="mobile")  # PortOne accepts it on phones

    assert list(open_page(client, checkout_url(app, uid)).request_pay) == ["card"]
    assert params_of(client, checkout_url(app, uid, escrow=True))["niceMobileV2"]
    with pytest.raises(ValidationError, match="USD can only be paid by card"):
        checkout_url(app, uid, pay_methods=["card", "vbank"])
    with pytest.raises(ValidationError, match="niceMobileV2"):
        checkout_url(app, uid, nice_mobile_v2=False)
    with pytest.raises(ValidationError, match="50,000 KRW"):
        checkout_url(app, uid, card_quota=[3])


def test_escrow(app: Flask, client: FlaskClient, sandbox: Sandbox) -> None:
    uid = new_order(app)
    params = params_of(client, checkout_url(app, uid, escrow=True), "trans")
    assert params["escrow"] is True
    assert sandbox.open_checkout(params)["escrow"] is True


def test_language_changes_the_page_and_the_window(
    make_app: AppFactory, app: Flask, client: FlaskClient
) -> None:
    uid = new_order(app)
    korean = open_page(client, f"/nicepay/checkout/{uid}")
    assert korean.find(lang="ko")
    assert "결제하기" in korean.text and korean.request_pay["card"]["language"] == "ko"

    english = open_page(client, checkout_url(app, uid, language="en"))
    assert english.find(lang="en")
    assert "Checkout" in english.text and "Pay" in english.text
    assert "결제하기" not in english.text
    assert english.request_pay["card"]["language"] == "en"
    assert korean.by_testid("amount") == "25,000원"
    assert english.by_testid("amount") == "₩25,000"


def test_configured_language_is_the_default_for_every_checkout(
    make_app: AppFactory,
) -> None:
    app = make_app({"NICEPAY_LANGUAGE": "en"})
    client = app.test_client()
    uid = new_order(app, 60_000)
    assert open_page(client, f"/nicepay/checkout/{uid}").find(lang="en")
    # Options that say nothing about the language keep the configured one.
    page = open_page(client, checkout_url(app, uid, card_quota=[2, 3]))
    assert page.find(lang="en")
    assert page.request_pay["card"]["language"] == "en"
    page = open_page(client, checkout_url(app, uid, language="ko"))
    assert page.request_pay["card"]["language"] == "ko"


# -- where PortOne sends the buyer and the webhook ----------------------------------


def test_return_and_notice_urls_point_at_our_routes(
    app: Flask, client: FlaskClient
) -> None:
    uid = new_order(app)
    params = params_of(client, f"/nicepay/checkout/{uid}")
    assert params["m_redirect_url"] == "http://localhost/nicepay/return"
    assert params["notice_url"] == "http://localhost/nicepay/webhook"

    # The signed options travel with the phone, so a retry keeps them.
    url = checkout_url(app, uid, escrow=True)
    token = url.split("o=", 1)[1]
    params = params_of(client, url)
    assert params["m_redirect_url"] == f"http://localhost/nicepay/return?o={token}"


def test_public_url_is_honoured(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_PUBLIC_URL": "https://shop.example.com/"})
    client = app.test_client()
    params = params_of(client, f"/nicepay/checkout/{new_order(app)}")
    assert params["m_redirect_url"] == "https://shop.example.com/nicepay/return"
    assert params["notice_url"] == "https://shop.example.com/nicepay/webhook"
    # Even when the request arrives through an internal host name.
    internal = client.get(
        f"/nicepay/checkout/{new_order(app)}", base_url="http://10.0.0.7:8000"
    )
    raw = Page(internal.get_data(as_text=True)).request_pay["card"]
    assert raw["notice_url"] == "https://shop.example.com/nicepay/webhook"


# -- installments and card choices -------------------------------------------------


def test_installments_from_50000_won(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, 50_000)
    params = params_of(client, checkout_url(app, uid, card_quota=[6, 2, 3, 3]))
    assert params["display"] == {"card_quota": [2, 3, 6]}
    opened = sandbox.open_checkout(params)
    paid = sandbox.complete_checkout(opened["imp_uid"], "approve", card_quota=3)
    assert paid["status"] == "paid" and paid["card_quota"] == 3

    lump = params_of(client, f"/nicepay/checkout/{uid}")
    assert lump["display"] == {"card_quota": []}


def test_no_installments_below_50000_won(app: Flask) -> None:
    uid = new_order(app, 10_000)
    with pytest.raises(ValidationError) as caught:
        checkout_url(app, uid, card_quota=[3])
    assert caught.value.messages == {
        "card_quota": ["Installments are offered only from 50,000 KRW."]
    }
    with pytest.raises(ValidationError, match="50,000 KRW"):
        checkout_url(app, uid, card_direct={"code": "366", "quota": 3})
    with pytest.raises(ValidationError, match="card_quota"):
        checkout_url(app, uid, card_quota=[1])


def test_card_direct_and_detail(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, 70_000)
    url = checkout_url(
        app,
        uid,
        card_direct={"code": "366", "quota": 3},
        card_detail=[
            {"card_code": "*", "enabled": False},
            {"card_code": "366", "enabled": True},
        ],
    )
    params = params_of(client, url)
    assert params["card"] == {
        "direct": {"code": "366", "quota": 3},
        "detail": [
            {"card_code": "*", "enabled": False},
            {"card_code": "366", "enabled": True},
        ],
    }
    assert "card" not in params_of(client, url, "trans")
    opened = sandbox.open_checkout(params)
    paid = sandbox.complete_checkout(opened["imp_uid"], "approve")
    assert paid["card_code"] == "366" and paid["card_quota"] == 3

    with pytest.raises(ValidationError, match="card_direct"):
        checkout_url(app, uid, card_direct={"code": "999"})
    with pytest.raises(ValidationError, match="card_direct"):
        checkout_url(app, uid, card_direct={"code": "366", "quota": 1})
    with pytest.raises(ValidationError, match="card_detail"):
        checkout_url(app, uid, card_detail=[{"card_code": "xyz", "enabled": True}])


# -- virtual accounts --------------------------------------------------------------


def _due(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=KST)


def test_vbank_due_by_default_and_by_choice(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_VBANK_DUE_DAYS": 5})
    client = app.test_client()
    uid = new_order(app)
    params = params_of(client, f"/nicepay/checkout/{uid}", "vbank")
    expected = dt.datetime.now(KST) + dt.timedelta(days=5)
    assert abs(_due(params["vbank_due"]) - expected) < dt.timedelta(minutes=2)
    assert "vbank_due" not in params_of(client, f"/nicepay/checkout/{uid}", "card")

    chosen = dt.datetime(2040, 1, 2, 3, 4, tzinfo=dt.UTC)
    url = checkout_url(app, uid, vbank_due=chosen.isoformat())
    assert params_of(client, url, "vbank")["vbank_due"] == "204001021204"
    with pytest.raises(ValidationError, match="future"):
        checkout_url(app, uid, vbank_due="2001-01-01T00:00:00+09:00")


# -- signed options ----------------------------------------------------------------


@on_both_databases
def test_tampered_options_are_a_400(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app, 60_000)
    url = checkout_url(app, uid, pay_methods=["card"], card_quota=[3])
    token = url.split("o=", 1)[1]
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "not-a-token", token.rsplit(".", 1)[0]):
        response = client.get(f"/nicepay/checkout/{uid}?o={bad}")
        assert response.status_code == 400
        assert "text/html" in response.content_type
        said = TEXTS["ko"]["checkout_link_invalid"]
        assert said in response.get_data(as_text=True)


def test_options_signed_by_another_shop_are_refused(make_app: AppFactory) -> None:
    ours = make_app()
    theirs = make_app({"SECRET_KEY": "another shop's key"})
    uid = new_order(ours)
    new_order(theirs, merchant_uid=uid)
    forged = checkout_url(theirs, uid, escrow=True)
    assert ours.test_client().get(forged).status_code == 400


@on_both_databases
def test_only_a_signed_error_is_shown(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app)
    with app.test_request_context():
        signed = state(app).signer.dumps({"error": "<script>alert(1)</script>"})
    page = Page(client.get(f"/nicepay/checkout/{uid}?e={signed}").text)
    assert page.by_testid("error-given") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert not page.inline_scripts

    # Words from a crafted link never reach the shop's page.
    for query in (
        "error=Call+010-0000-0000+to+finish+paying",
        "e=Call+010-0000-0000",
        f"e={signed[:-3]}xyz",
    ):
        page = Page(client.get(f"/nicepay/checkout/{uid}?{query}").text)
        assert page.by_testid("error-given") == ""
        assert "010-0000-0000" not in page.source
        assert "hidden" in page.find(data_testid="error")


# -- the page itself ---------------------------------------------------------------


def test_page_is_safe_under_a_strict_csp(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app, 60_000, **BUYER)
    page = open_page(client, checkout_url(app, uid, card_quota=[2], escrow=True))
    assert page.inline_scripts == []
    assert page.style_attributes() == []
    assert page.event_handlers() == []
    scripts = [a for tag, a in page.tags if tag == "script"]
    assert len(scripts) == 2 and all(a.get("src") for a in scripts)
    assert scripts[0]["src"] == "/_nicepay_sandbox/v1/iamport.js"
    for _, attrs in page.tags:
        for name in ("src", "href"):
            if attrs.get(name, "").startswith("/"):  # type: ignore[union-attr]
                with client.get(attrs[name]) as response:
                    assert response.status_code == 200, attrs[name]
    # The sandbox says so on the page.
    assert page.find(data_testid="sandbox-notice")


def test_live_page_loads_portone_sdk_and_sends_the_channel_key(
    make_live_app: t.Any,
) -> None:
    app = make_live_app()
    page = open_page(app.test_client(), f"/nicepay/checkout/{new_order(app)}")
    scripts = [a["src"] for tag, a in page.tags if tag == "script"]
    assert scripts[0] == "https://cdn.iamport.kr/v1/iamport.js"
    assert page.find(id="nicepay-checkout")["data-merchant-code"] == "imp12345678"
    assert page.request_pay["card"]["channelKey"] == "channel-key-nice-0001"
    assert not [a for _, a in page.tags if a.get("data-testid") == "sandbox-notice"]


def test_security_headers(app: Flask, client: FlaskClient) -> None:
    response = client.get(f"/nicepay/checkout/{new_order(app)}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@on_both_databases
def test_unknown_order_is_a_404(client: FlaskClient) -> None:
    assert client.get("/nicepay/checkout/np-20260101-000000000000").status_code == 404
    assert client.get("/nicepay/checkout/..%2F..%2Fetc").status_code == 404


def test_paid_order_goes_to_the_result_page(app: Flask, client: FlaskClient) -> None:
    uid, _ = paid_order(app)
    response = client.get(f"/nicepay/checkout/{uid}")
    assert response.status_code == 302
    assert response.location == f"/nicepay/orders/{uid}"


def test_paid_order_goes_to_the_store_success_page(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_SUCCESS_URL": "/orders/{merchant_uid}/thanks"})
    client = app.test_client()
    uid, _ = paid_order(app)
    assert client.get(f"/nicepay/checkout/{uid}").location == f"/orders/{uid}/thanks"


def test_declined_order_can_be_paid_again(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, declined = checkout_new_order(app, client, sandbox, outcome="decline")
    complete(client, declined)
    assert get_order(app, uid).state is OrderState.FAILED
    assert client.get(f"/nicepay/checkout/{uid}").status_code == 200
    _, paid = pay_in_window(client, sandbox, f"/nicepay/checkout/{uid}")
    assert paid["status"] == "paid"


def test_without_prepare_the_page_registers_nothing(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_PREPARE": False})
    client = app.test_client()
    uid = new_order(app)
    box = testing.sandbox_of(app)
    box.inject_fault("503", path="/payments/prepare*", times=10)
    params = params_of(client, f"/nicepay/checkout/{uid}")
    assert not get_order(app, uid).prepared
    # Nothing registered: PortOne's window takes any amount (the server-side
    # verification still refuses to mark such a payment paid).
    assert box.open_checkout({**params, "amount": 1})["status"] == "ready"


def test_order_created_while_portone_is_down_is_registered_before_the_window(
    app: Flask, sandbox: Sandbox
) -> None:
    sandbox.inject_fault("503", path="/payments/prepare", method="POST", times=1)
    uid = new_order(app)
    created = get_order(app, uid)
    assert created is not None and not created.prepared

    client = app.test_client()
    sandbox.inject_fault("503", path="/payments/prepare", method="POST", times=1)
    unavailable = client.get(checkout_url(app, uid))
    assert unavailable.status_code == 503
    assert "IMP.request_pay" not in unavailable.get_data(as_text=True)
    assert 'id="nicepay-checkout"' not in unavailable.get_data(as_text=True)

    page = client.get(checkout_url(app, uid))
    assert page.status_code == 200
    assert 'id="nicepay-checkout"' in page.get_data(as_text=True)
    assert get_order(app, uid).prepared
    # PortOne now refuses any other amount for this order.
    with pytest.raises(CheckoutRefused):
        sandbox.checkout(merchant_uid=uid, amount=100)
