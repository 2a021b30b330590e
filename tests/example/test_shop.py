"""The example store, end to end on the embedded sandbox, with the shipped helpers."""

from __future__ import annotations

import re
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from example_app import create_app
from example_app import nicepay
from example_app.admin import SANDBOX_PASSWORD
from example_app.shop import shop_orders
from example_app.shop_tables import metadata as shop_metadata
from example_app.shop_words import WORDS
from flask_nicepay import OrderState
from flask_nicepay import tables
from flask_nicepay import testing
from flask_nicepay.i18n import TEXTS

from ..databases import fresh_postgres_engine
from ..databases import postgres_url


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
    # The card slip, linked as the plugin's result page links it.
    with app.app_context():
        receipt = nicepay.get_order(uid).receipt_url  # type: ignore[union-attr]
    assert receipt and receipt.startswith("https://")
    href = receipt.replace("&", "&amp;")
    assert f'href="{href}"' in page.get_data(as_text=True)


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
    assert b"/sync" not in page.data  # asking PortOne again is the console's
    assert client.post(f"/orders/{uid}/sync").status_code in (404, 405)
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


# -- bad input and error pages ----------------------------------------------------


def error_page(response: t.Any) -> tuple[int, str, str]:
    """The status, the language and the message of one of the shop's error pages."""
    text = response.get_data(as_text=True)
    assert 'data-testid="error-page"' in text, text
    assert 'data-testid="shop-header"' in text  # the shop's own look
    language = text.split('<html lang="')[1].split('"')[0]
    message = text.split('data-testid="error-message">')[1].split("<")[0]
    return response.status_code, language, message


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"product": "nope"}, "unknown_product"),
        ({"product": "tee", "quantity": "abc"}, "bad_quantity"),
        ({"product": "tee", "quantity": "0"}, "bad_quantity"),
        ({"product": "tee", "quantity": "11"}, "bad_quantity"),
        ({"product": "tee", "quantity": "-1"}, "bad_quantity"),
        ({"product": "tee", "quantity": "1e9"}, "bad_quantity"),
        ({"product": "tee", "email": "a@b.c"}, "bad_email"),
        ({"product": "tee", "email": "not an address"}, "bad_email"),
        ({"product": "tee", "name": "n" * 300}, "bad_buyer"),
    ],
)
def test_a_bad_order_gets_a_clear_message(
    app: Flask, form: dict[str, str], message: str
) -> None:
    response = app.test_client().post("/buy", data=form)
    assert error_page(response) == (400, "ko", WORDS["ko"][message])
    english = app.test_client().post(
        "/buy", data=form, headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    assert error_page(english) == (400, "en", WORDS["en"][message])
    with app.app_context(), nicepay.payments.engine.connect() as conn:
        kept = [
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (tables.orders, shop_orders)
        ]
    assert kept == [0, 0]  # nothing was kept: no order, no shop order


def test_unknown_pages_and_orders_are_the_shops_404_in_the_buyers_language(
    app: Flask,
) -> None:
    client = app.test_client()
    for path in ("/no-such-page", "/orders/no-such-order", "/_sandbox/deposit/x"):
        korean = error_page(client.get(path))
        assert korean[:2] == (404, "ko") or korean[:2] == (409, "ko"), path
        english = error_page(client.get(path, headers={"Accept-Language": "en"}))
        assert english[1] == "en"
    assert error_page(client.get("/no-such-page"))[2] == WORDS["ko"]["error_404_body"]
    assert error_page(client.put("/"))[0] == 405


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app_on(request: pytest.FixtureRequest, tmp_path: t.Any) -> t.Iterator[Flask]:
    """The store on a SQLite file, and on PostgreSQL (emptied first)."""
    uri = None
    if request.param == "postgres":  # skips when no PostgreSQL is configured
        fresh_postgres_engine().dispose()  # every table of the schema, shop_* too
        uri = postgres_url()
    app = create_app(
        {
            "TESTING": True,
            "SHOP_DATABASE_URI": uri or f"sqlite:///{tmp_path / 'shop.db'}",
            "NICEPAY_SANDBOX_AUTO_DELIVER": False,
            "NICEPAY_SANDBOX_STATE_FILE": str(tmp_path / "sandbox.sqlite3"),
        }
    )
    yield app
    app.extensions["nicepay"].payments.engine.dispose()


def every_row(app: Flask) -> dict[str, list[t.Any]]:
    """Every row of the shop's tables and the plugin's."""
    with app.extensions["nicepay"].payments.engine.connect() as conn:
        return {
            name: sorted(conn.execute(sa.select(table)), key=repr)
            for meta in (shop_metadata, tables.metadata)
            for name, table in meta.tables.items()
        }


#: Order ids as a path may carry them that no order can have: NUL, a lone
#: surrogate and bytes that are not UTF-8 (Werkzeug 3 hands the view U+FFFD for
#: those), 3,000 characters.
ODD_IDS = ["%00", "np%00x", "%ED%A0%80", "%FF", "n" * 3000]


def test_the_store_s_pages_of_odd_order_ids_are_4xx(app_on: Flask) -> None:
    uid = buy(app_on)
    before, client = every_row(app_on), app_on.test_client()
    for odd in ODD_IDS:
        assert client.get(f"/orders/{odd}").status_code == 404, odd
        assert client.post(f"/orders/{odd}/pay").status_code == 404, odd
        # The sandbox's bank finds no account to pay into.
        assert client.get(f"/_sandbox/deposit/{odd}").status_code == 409, odd
    # Raw bytes that are not UTF-8 in the query: Werkzeug cannot parse them.
    for path in (f"/orders/{uid}", "/cards/add", "/"):
        raw = {"QUERY_STRING": "deposited=\xff"}
        assert client.get(path, environ_overrides=raw).status_code == 400, path
    assert every_row(app_on) == before


def test_the_admin_console_answers_odd_order_ids_with_4xx(app_on: Flask) -> None:
    uid = buy(app_on)
    client = app_on.test_client()
    client.post("/admin/login", data={"password": SANDBOX_PASSWORD})
    console = client.get(f"/nicepay/console/?q={uid}").get_data(as_text=True)
    assert f'data-merchant-uid="{uid}"' in console
    token = re.search(r'name="csrf_token" value="([^"]+)"', console)
    assert token is not None
    form = {"csrf_token": token.group(1), "imp_uid": "imp_1"}
    before = every_row(app_on)
    for odd in ODD_IDS:
        assert client.get(f"/nicepay/console/orders/{odd}").status_code == 404, odd
        for action in ("refund", "extra", "sync"):
            path = f"/nicepay/console/orders/{odd}/{action}"
            assert client.post(path, data=form).status_code == 404, path
    for query in ("q=abc%00def", "q=%00", "pay_method=%00"):
        assert client.get(f"/nicepay/console/?{query}").status_code == 400, query
    assert every_row(app_on) == before


def test_an_unexpected_failure_is_the_shops_500_page(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/broken", "broken", broken)
    response = app.test_client().get("/broken", headers={"Accept-Language": "en"})
    assert error_page(response) == (500, "en", WORDS["en"]["error_500_body"])
    assert "a bug" not in response.get_data(as_text=True)


# -- what the buyer reads ---------------------------------------------------------


def test_the_order_page_speaks_the_buyers_language(app: Flask) -> None:
    uid = buy(app, "hoodie", 2)
    with app.app_context():
        testing.pay(uid)
    client = app.test_client()
    english = client.get(f"/orders/{uid}", headers={"Accept-Language": "en-GB"})
    text = english.get_data(as_text=True)
    assert '<html lang="en">' in text
    assert 'data-testid="order-state">Paid<' in text
    assert "₩118,000 · Credit card" in text
    korean = client.get(f"/orders/{uid}").get_data(as_text=True)
    assert 'data-testid="order-state">결제 완료<' in korean
    assert "118,000원 · 신용카드" in korean
    for raw in (">paid<", "(card)", "· api", "ready →"):
        assert raw not in text and raw not in korean
    orders = client.get("/orders", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert f'data-testid="status-{uid}" data-state="paid">Paid<' in orders


def test_the_checkout_wears_the_shops_header_and_one_sandbox_banner(
    app: Flask,
) -> None:
    client = app.test_client()
    location = client.post("/buy", data={"product": "mug"}).location
    page = client.get(location).get_data(as_text=True)
    assert page.count('data-testid="shop-header"') == 1
    assert page.count('data-testid="sandbox-notice"') == 1
    assert page.count(TEXTS["ko"]["sandbox_notice"]) == 1
    shop_page = client.get("/").get_data(as_text=True)
    assert TEXTS["ko"]["sandbox_notice"] in shop_page


def test_after_the_sandbox_deposit_the_page_confirms_until_the_webhook(
    app: Flask,
) -> None:
    uid = buy(app, "mug")
    with app.app_context():
        testing.pay(uid, pay_method="vbank")
    client = app.test_client()
    back = client.get(f"/_sandbox/deposit/{uid}")
    assert back.status_code == 302 and "deposited=1" in back.location
    # The webhook has not landed: the page says so, and polls the status.
    waiting = client.get(back.location).get_data(as_text=True)
    assert 'data-testid="confirming" data-state="vbank_issued"' in waiting
    assert "shop.js" in waiting
    with app.app_context():
        testing.deliver_webhooks()
    landed = client.get(back.location).get_data(as_text=True)
    assert 'data-testid="confirming"' not in landed
    assert 'data-state="paid"' in landed


def test_a_decline_is_shown_as_it_came_until_the_order_is_paid(app: Flask) -> None:
    uid = buy(app, "mug")
    with app.app_context():
        declined = testing.pay(uid, outcome="decline")
        nicepay.sync(merchant_uid=uid)  # as the checkout's completion would
    client = app.test_client()
    english = client.get(f"/orders/{uid}", headers={"Accept-Language": "en"})
    text = english.get_data(as_text=True)
    assert 'data-testid="order-state">Payment failed<' in text
    assert TEXTS["en"]["failed_because"] in text
    assert f'data-testid="fail-reason-given">{declined["fail_reason"]}<' in text
    with app.app_context():
        testing.pay(uid)
    paid = client.get(f"/orders/{uid}").get_data(as_text=True)
    assert 'data-state="paid"' in paid and 'data-testid="fail-reason"' not in paid
