"""The buyer's view afterwards: status polling, the confirming page, the result page."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import tables
from flask_nicepay.checkout import KST
from flask_nicepay.display import format_moment
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import Page
from .webshop import checkout_new_order
from .webshop import complete
from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import open_app
from .webshop import open_page
from .webshop import paid_order
from .webshop import portone_down
from .webshop import return_url
from .webshop import state


def age(app: Flask, merchant_uid: str, seconds: int) -> None:
    """Let time pass for an order, as far as its last change is concerned."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    with state(app).payments.engine.begin() as conn:
        conn.execute(
            sa.update(tables.orders)
            .where(tables.orders.c.merchant_uid == merchant_uid)
            .values(updated_at=when)
        )


# -- status ------------------------------------------------------------------------


def test_status_of_a_ready_order(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app)
    response = client.get(f"/nicepay/orders/{uid}/status")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "merchant_uid": uid,
        "state": "ready",
        "final": False,
        "redirect": None,
    }


def test_status_of_a_paid_order_says_where_to_go(
    make_app: AppFactory,
) -> None:
    app = make_app({"NICEPAY_SUCCESS_URL": "/orders/{merchant_uid}"})
    client = app.test_client()
    uid, _ = paid_order(app)
    assert client.get(f"/nicepay/orders/{uid}/status").json == {
        "merchant_uid": uid,
        "state": "paid",
        "final": True,
        "redirect": f"/orders/{uid}",
    }


@on_both_databases
def test_status_of_an_unknown_order_is_a_404(client: FlaskClient) -> None:
    assert client.get("/nicepay/orders/np-nobody/status").status_code == 404


def test_polling_finds_the_truth_after_portone_was_down(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, params, payment = checkout_new_order(app, client, sandbox, channel="mobile")
    portone_down(sandbox)
    assert client.get(return_url(params, payment)).location.endswith("/confirm")
    sandbox.clear_faults()

    # Within a few seconds of the last change, a poll does not ask PortOne.
    sandbox.inject_fault("500", path="/payments/*", times=1)
    assert client.get(f"/nicepay/orders/{uid}/status").json["final"] is False  # type: ignore[index]
    assert sandbox.active_faults()["api"], "PortOne was asked too soon"
    sandbox.clear_faults()

    # Later, the poll asks PortOne itself; the webhook has not come (yet).
    age(app, uid, 10)
    status = client.get(f"/nicepay/orders/{uid}/status").json
    assert status == {
        "merchant_uid": uid,
        "state": "paid",
        "final": True,
        "redirect": f"/nicepay/orders/{uid}",
    }
    assert get_order(app, uid).imp_uid == payment["imp_uid"]


def test_polling_survives_portone_still_down(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, _ = checkout_new_order(app, client, sandbox)
    age(app, uid, 10)
    portone_down(sandbox)
    response = client.get(f"/nicepay/orders/{uid}/status")
    assert response.status_code == 200
    assert response.json["final"] is False  # type: ignore[index]


# -- the confirming page -----------------------------------------------------------


def test_confirming_page(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app)
    page = open_page(client, f"/nicepay/orders/{uid}/confirm")
    assert page.inline_scripts == [] and page.style_attributes() == []
    assert page.event_handlers() == []
    root = page.find(id="nicepay-confirm")
    assert root["data-status-url"] == f"/nicepay/orders/{uid}/status"
    assert root["data-result-url"] == f"/nicepay/orders/{uid}"
    scripts = [a["src"] for tag, a in page.tags if tag == "script"]
    assert scripts == ["/nicepay/static/nicepay/confirm.js"]
    with client.get(scripts[0]) as script:
        assert "statusUrl" in script.get_data(as_text=True)
    assert "결제를 확인하고 있습니다" in page.text
    assert client.get("/nicepay/orders/np-nobody/confirm").status_code == 404


def test_confirming_page_in_english(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_LANGUAGE": "en"})
    uid = new_order(app)
    page = open_page(app.test_client(), f"/nicepay/orders/{uid}/confirm")
    assert "Confirming your payment" in page.text
    assert page.find(lang="en")


# -- the result page ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "ko",
            ["가상계좌가 발급되었습니다", "은행", "계좌번호", "예금주", "입금 기한"],
        ),
        (
            "en",
            ["A virtual account was issued", "Bank", "Account", "Holder", "Deposit by"],
        ),
    ],
)
def test_result_page_shows_the_virtual_account(
    make_app: AppFactory, language: str, words: list[str]
) -> None:
    app, client, box = open_app(make_app, {"NICEPAY_LANGUAGE": language})
    uid, _, issued = checkout_new_order(
        app, client, box, method="vbank", vbank_code="088"
    )
    complete(client, issued)

    page = open_page(client, f"/nicepay/orders/{uid}")

    assert page.find(data_testid="result")["data-state"] == "vbank_issued"
    assert page.by_testid("vbank-name") == issued["vbank_name"]
    assert page.by_testid("vbank-num") == issued["vbank_num"]
    assert issued["vbank_holder"] in page.text
    due = dt.datetime.fromtimestamp(issued["vbank_date"], KST)
    assert page.by_testid("vbank-due") == format_moment(due, language)
    assert page.by_testid("vbank-due").endswith(" KST")
    for word in words:
        assert word in page.text
    assert page.inline_scripts == [] and page.style_attributes() == []
    assert not [a for _, a in page.tags if a.get("data-testid") == "try-again"]


def test_result_page_for_paid_and_failed(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    paid, _ = paid_order(app, name="모자")
    page = open_page(client, f"/nicepay/orders/{paid}")
    assert "결제가 완료되었습니다." in page.text and "25,000원" in page.text
    assert "모자" in page.text
    assert "계좌번호" not in page.text

    failed, _, declined = checkout_new_order(app, client, sandbox, outcome="decline")
    complete(client, declined)
    page = open_page(client, f"/nicepay/orders/{failed}")
    assert "결제에 실패했습니다." in page.text
    again = page.find(data_testid="try-again")
    assert again["href"] == f"/nicepay/checkout/{failed}"


def test_result_page_in_english(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_LANGUAGE": "en"})
    page = open_page(app.test_client(), f"/nicepay/orders/{new_order(app)}")
    assert "The payment was not completed." in page.text
    assert "₩25,000" in page.text and "원" not in page.text
    assert "Try again" in page.text


@on_both_databases
def test_result_page_of_an_unknown_order(client: FlaskClient) -> None:
    assert client.get("/nicepay/orders/np-nobody").status_code == 404


@on_both_databases
def test_pages_escape_what_the_store_wrote(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app, name="<img src=x onerror=alert(1)>")
    for url in (f"/nicepay/orders/{uid}", f"/nicepay/checkout/{uid}"):
        page = Page(client.get(url).get_data(as_text=True))
        assert page.event_handlers() == []
        assert not [a for tag, a in page.tags if tag == "img"]


def test_polling_an_order_nobody_tried_to_pay(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app)
    age(app, uid, 10)
    response = client.get(f"/nicepay/orders/{uid}/status")
    assert response.status_code == 200
    assert response.json["state"] == "ready"  # type: ignore[index]
