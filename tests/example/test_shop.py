"""The example store, end to end on the embedded sandbox, with the shipped helpers."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from example_app import create_app
from example_app import nicepay
from example_app.shop import shop_orders
from flask_nicepay import OrderState
from flask_nicepay import testing


@pytest.fixture
def app(tmp_path: t.Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SHOP_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
            "NICEPAY_SANDBOX_AUTO_DELIVER": False,
        }
    )


def buy(app: Flask, product: str = "hoodie", quantity: int = 1) -> str:
    client = app.test_client()
    response = client.post("/buy", data={"product": product, "quantity": str(quantity)})
    assert response.status_code == 302
    assert "/nicepay/checkout/" in response.location
    page = client.get(response.location)
    assert page.status_code == 200
    return response.location.split("/checkout/")[1].split("?")[0]


def shop_status(app: Flask, merchant_uid: str) -> str:
    with app.app_context():
        engine = nicepay.payments.engine
    with engine.connect() as conn:
        query = sa.select(shop_orders.c.status).where(
            shop_orders.c.merchant_uid == merchant_uid
        )
        return str(conn.execute(query).scalar_one())


def test_card_payment_moves_both_orders(app: Flask) -> None:
    uid = buy(app, "hoodie", 2)
    with app.app_context():
        order = nicepay.get_order(uid)
        assert order is not None and order.amount == 118_000
        testing.pay(order)
        assert nicepay.get_order(uid).state is OrderState.PAID  # type: ignore[union-attr]
    # The shop's own row moved in the same transaction.
    assert shop_status(app, uid) == "paid"
    page = app.test_client().get(f"/orders/{uid}")
    assert b'data-state="paid"' in page.data


def test_the_buyer_s_order_page_offers_no_refund(app: Flask) -> None:
    """Refunds are the operator's, in the console behind the admin login."""
    uid = buy(app, "tee")
    with app.app_context():
        testing.pay(uid)
    client = app.test_client()
    page = client.get(f"/orders/{uid}")
    assert b"refund" not in page.data
    assert client.post(
        f"/orders/{uid}/refund", data={"amount": "9000"}
    ).status_code in (
        404,
        405,
    )
    assert shop_status(app, uid) == "paid"


def test_virtual_account_then_deposit(app: Flask) -> None:
    uid = buy(app, "mug")
    with app.app_context():
        testing.pay(uid, pay_method="vbank")
    page = app.test_client().get(f"/orders/{uid}")
    assert b'data-testid="vbank"' in page.data
    assert shop_status(app, uid) == "vbank_issued"
    app.test_client().get(f"/_sandbox/deposit/{uid}")
    with app.app_context():
        testing.deliver_webhooks()
    assert shop_status(app, uid) == "paid"


def test_installments_offered_only_from_50000(app: Flask) -> None:
    client = app.test_client()
    cheap = client.get(client.post("/buy", data={"product": "tee"}).location)
    dear = client.get(client.post("/buy", data={"product": "hoodie"}).location)
    assert b"card_quota&#34;: []" in cheap.data
    assert b"card_quota&#34;: [2, 3, 6]" in dear.data


def test_unknown_product_is_refused(app: Flask) -> None:
    assert app.test_client().post("/buy", data={"product": "nope"}).status_code == 400


def test_a_card_is_registered_through_the_plugins_page(app: Flask) -> None:
    client = app.test_client()
    assert "등록된 카드가 없습니다" in client.get("/cards").text
    to_page = client.get("/cards/add")
    assert to_page.status_code == 303
    page = client.get(to_page.headers["Location"])
    assert page.status_code == 200
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    card = {
        "card_number": "4242 4242 4242 4242",
        "expiry": "2030-12",
        "birth": "900101",
        "pwd_2digit": "12",
        "csrf_token": token,
    }
    back = client.post(to_page.headers["Location"], data=card)
    assert back.status_code == 303 and back.headers["Location"] == "/cards"
    shown = client.get("/cards").text
    assert 'data-testid="card"' in shown
    assert "4242424242424242" not in shown.replace(" ", "").replace("-", "")
