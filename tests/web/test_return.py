"""GET /return: the phone comes back from the payment window (m_redirect_url)."""

from __future__ import annotations

import typing as t
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import OrderState
from flask_nicepay.i18n import TEXTS
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import Page
from .webshop import checkout_new_order
from .webshop import checkout_url
from .webshop import get_order
from .webshop import inbox
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import open_app
from .webshop import pay_in_window
from .webshop import portone_down
from .webshop import return_url
from .webshop import state

CLOSED = "[결제포기] 사용자가 결제를 취소하셨습니다"


def phone_pays(
    app: Flask, client: FlaskClient, sandbox: Sandbox, **window: t.Any
) -> tuple[str, str, dict[str, t.Any]]:
    """A new order paid on the phone: page, window, and the URL it comes back to.

    :returns: the order's merchant_uid, that URL and PortOne's payment.
    """
    uid, params, payment = checkout_new_order(
        app, client, sandbox, channel="mobile", **window
    )
    return uid, return_url(params, payment), payment


def test_paid_goes_to_the_result_page(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, back, payment = phone_pays(app, client, sandbox)
    assert back.startswith("/nicepay/return?")

    response = client.get(back)

    assert response.status_code == 302
    assert response.location == f"/nicepay/orders/{uid}"
    assert get_order(app, uid).state is OrderState.PAID
    [entry] = inbox(app, merchant_uid=uid)
    assert (entry.kind, entry.outcome, entry.method) == ("mobile", "applied", "GET")
    assert entry.hint_imp_uid == payment["imp_uid"]
    assert entry.path is not None and entry.path.startswith("/nicepay/return?")


def test_store_pages_for_success_and_failure(make_app: AppFactory) -> None:
    app, client, box = open_app(
        make_app,
        {
            "NICEPAY_SUCCESS_URL": "/orders/{merchant_uid}/thanks",
            "NICEPAY_FAILURE_URL": "/orders/{merchant_uid}/sorry",
        },
    )
    paid, back, payment = phone_pays(app, client, box)
    assert client.get(back).location == f"/orders/{paid}/thanks"

    # Cancelled in the console before the phone got back: the failure page.
    cancelled, back, payment = phone_pays(app, client, box)
    box.console_cancel(str(payment["imp_uid"]))
    assert client.get(back).location == f"/orders/{cancelled}/sorry"
    assert get_order(app, cancelled).state is OrderState.CANCELLED


def test_vbank_issued_goes_to_the_success_page(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, back, _ = phone_pays(app, client, sandbox, method="vbank")
    response = client.get(back)
    assert response.location == f"/nicepay/orders/{uid}"
    assert get_order(app, uid).state is OrderState.VBANK_ISSUED


@on_both_databases
@pytest.mark.parametrize(
    "extra",
    [
        "&next=https://evil.example",
        "&redirect=//evil.example&return_to=https://evil.example",
        "&url=/%5Cevil.example&success_url=https://evil.example",
    ],
)
def test_no_open_redirect(make_app: AppFactory, extra: str) -> None:
    app, client, box = open_app(
        make_app, {"NICEPAY_SUCCESS_URL": "/thanks/{merchant_uid}"}
    )
    uid, back, _ = phone_pays(app, client, box)
    response = client.get(back + extra)
    assert response.location == f"/thanks/{uid}"


@on_both_databases
def test_no_open_redirect_through_a_crafted_merchant_uid(
    app: Flask, client: FlaskClient
) -> None:
    for crafted in ("//evil.example", "https://evil.example", "/\\evil.example"):
        response = client.get("/nicepay/return", query_string={"merchant_uid": crafted})
        assert response.status_code == 400
        assert "evil.example" not in (response.location or "")
    assert {e.outcome for e in inbox(app)} == {"invalid"}


def test_declined_goes_back_to_the_checkout_with_the_error(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, 60_000)
    url = checkout_url(app, uid, card_quota=[3])
    token = parse_qs(urlsplit(url).query)["o"][0]
    params, payment = pay_in_window(
        client, sandbox, url, channel="mobile", card_number="4000-0000-0000-9995"
    )
    back = return_url(params, payment)

    response = client.get(back)

    assert response.status_code == 302
    target = urlsplit(response.location)
    assert target.path == f"/nicepay/checkout/{uid}"
    query = parse_qs(target.query)
    assert state(app).signer.loads(query["e"][0]) == {
        "error": "[3095]카드사 실패 응답(한도초과)"
    }
    assert query["o"] == [token]  # the same options again
    assert get_order(app, uid).state is OrderState.FAILED

    page = Page(client.get(response.location).get_data(as_text=True))
    assert page.by_testid("error-given") == "[3095]카드사 실패 응답(한도초과)"
    assert page.request_pay["card"]["display"] == {"card_quota": [3]}


def test_closed_window_goes_back_to_the_checkout(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, back, _ = phone_pays(app, client, sandbox, outcome="close")
    location = client.get(back).location
    assert urlsplit(location).path == f"/nicepay/checkout/{uid}"
    assert Page(client.get(location).text).by_testid("error-given") == CLOSED
    assert get_order(app, uid).state is OrderState.READY


def test_unknown_truth_goes_to_the_confirming_page(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, back, _ = phone_pays(app, client, sandbox)
    portone_down(sandbox)

    response = client.get(back)

    assert response.status_code == 302
    assert response.location == f"/nicepay/orders/{uid}/confirm"
    assert get_order(app, uid).state is OrderState.READY
    assert [e.outcome for e in inbox(app, merchant_uid=uid)] == ["error"]

    # The confirming page's poll finds the truth once PortOne answers again.
    sandbox.clear_faults()
    page = client.get(response.location)
    assert page.status_code == 200


def test_return_without_imp_uid_looks_the_order_up(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, _ = phone_pays(app, client, sandbox)
    response = client.get(f"/nicepay/return?merchant_uid={uid}&imp_success=true")
    assert response.location == f"/nicepay/orders/{uid}"
    assert get_order(app, uid).state is OrderState.PAID


def test_imp_success_true_is_not_believed(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, payment = checkout_new_order(
        app, client, sandbox, channel="mobile", outcome="decline"
    )
    forged = {
        "imp_uid": payment["imp_uid"],
        "merchant_uid": uid,
        "imp_success": "true",
        "success": "true",
    }
    response = client.get("/nicepay/return", query_string=forged)
    assert urlsplit(response.location).path == f"/nicepay/checkout/{uid}"
    assert get_order(app, uid).state is OrderState.FAILED


@on_both_databases
def test_unknown_order_is_a_404_page(app: Flask, client: FlaskClient) -> None:
    response = client.get("/nicepay/return?merchant_uid=np-nobody")
    assert response.status_code == 404
    assert "text/html" in response.content_type
    assert "이 주문은 지금 결제할 수 없습니다" in response.get_data(as_text=True)
    assert [e.kind for e in inbox(app)] == ["mobile"]


@on_both_databases
@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("", "merchant_uid"),
        ("?imp_uid=imp_123&merchant_uid=", "merchant_uid"),
        ("?merchant_uid=np-1&imp_uid=12%3B%20drop", "imp_uid"),
        ("?merchant_uid=np-1&error_msg=" + "x" * 501, "error_msg"),
    ],
)
def test_bad_query_is_a_400_page_and_recorded(
    app: Flask, client: FlaskClient, query: str, words: str
) -> None:
    response = client.get("/nicepay/return" + query)
    assert response.status_code == 400
    assert "text/html" in response.content_type
    page = response.get_data(as_text=True)
    assert TEXTS["ko"]["return_invalid"] in page and words not in page
    [entry] = inbox(app)
    assert (entry.kind, entry.outcome) == ("mobile", "invalid")
    assert entry.error is not None and words in entry.error  # the details are kept


@on_both_databases
def test_post_is_a_405_with_allow(app: Flask, client: FlaskClient) -> None:
    response = client.post("/nicepay/return", data={"merchant_uid": "np-1"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert [(e.kind, e.method, e.outcome) for e in inbox(app)] == [
        ("mobile", "POST", "invalid")
    ]


def test_english_error_page(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_LANGUAGE": "en"})
    response = app.test_client().get("/nicepay/return?merchant_uid=np-nobody")
    page = Page(response.get_data(as_text=True))
    assert page.find(lang="en")
    assert "This order cannot be paid now." in page.text
