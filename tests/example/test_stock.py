"""The example store's stock and receipts, kept by the plugin's signals.

Each runs on a SQLite file and on PostgreSQL. An order takes its stock with it or
is not made; a payment's failure, a full refund or an expired virtual account give
the stock back once; a payment records one receipt. The process tests deliver the
same signals from several processes at once, as a replay or a second receiver
would, and the doors test races every door of many orders at once.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from example_app import create_app
from example_app import nicepay
from example_app import shop_stock
from example_app.shop_tables import metadata
from example_app.shop_tables import shop_orders
from example_app.shop_tables import shop_receipts
from example_app.shop_tables import shop_reservations
from flask_nicepay import signals
from flask_nicepay import tables

from ..databases import fresh_postgres_engine
from ..databases import postgres_url
from ..lifecycle.test_races import in_processes
from . import stock_worker

STOCK = {"tee": 30, "hoodie": 10, "mug": 5}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_uri(request: pytest.FixtureRequest, tmp_path: t.Any) -> str:
    """A fresh database for the shop and the plugin: a SQLite file, PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shop.db'}"
    engine = fresh_postgres_engine()
    metadata.drop_all(engine)
    engine.dispose()
    url = postgres_url()
    assert url is not None
    return url


@pytest.fixture
def app(database_uri: str, tmp_path: t.Any) -> t.Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SHOP_DATABASE_URI": database_uri,
            "SHOP_STOCK": STOCK,
            "NICEPAY_SANDBOX_AUTO_DELIVER": False,
            "NICEPAY_SANDBOX_STATE_FILE": str(tmp_path / "sandbox.sqlite3"),
        }
    )
    yield app
    engine(app).dispose()


def engine(app: Flask) -> t.Any:
    return app.extensions["nicepay"].payments.engine


def buy(app: Flask, product: str = "mug", quantity: int = 1, **headers: str) -> t.Any:
    form = {"product": product, "quantity": str(quantity)}
    return app.test_client().post("/buy", data=form, headers=headers)


def bought(app: Flask, product: str = "mug", quantity: int = 1) -> str:
    response = buy(app, product, quantity)
    assert response.status_code == 302, response.text
    return str(response.location.split("/checkout/")[1].split("?")[0])


def stock(app: Flask) -> dict[str, int]:
    with engine(app).connect() as conn:
        return shop_stock.available(conn)


def reservation(app: Flask, uid: str) -> str:
    with engine(app).connect() as conn:
        return str(shop_stock.reservation(conn, uid)["state"])


def receipts(app: Flask) -> dict[str, int]:
    """How many receipts each order has."""
    uid = shop_receipts.c.merchant_uid
    query = sa.select(uid, sa.func.count()).group_by(uid)
    with engine(app).connect() as conn:
        return dict(conn.execute(query).all())  # type: ignore[arg-type]


def adds_up(app: Flask) -> None:
    """What is on the shelf plus what orders hold is what the shop started with."""
    query = sa.select(
        shop_reservations.c.product, sa.func.sum(shop_reservations.c.quantity)
    ).where(shop_reservations.c.state != "released")
    with engine(app).connect() as conn:
        held = dict(conn.execute(query.group_by(shop_reservations.c.product)).all())
    left = stock(app)
    assert {p: left[p] + held.get(p, 0) for p in STOCK} == STOCK


def test_the_product_page_shows_what_is_left(app: Flask) -> None:
    page = app.test_client().get("/").text
    assert (
        "남은 수량 5개" in page and 'data-testid="stock-mug" data-available="5"' in page
    )
    bought(app, "mug", 5)
    page = app.test_client().get("/", headers={"Accept-Language": "en"}).text
    assert "Sold out" in page and 'data-available="0"' in page
    assert 'data-testid="buy-mug" disabled' in page


def test_an_order_takes_its_stock_in_its_own_transaction(app: Flask) -> None:
    uid = bought(app, "hoodie", 3)
    assert stock(app)["hoodie"] == 7
    assert reservation(app, uid) == "held"
    adds_up(app)


@pytest.mark.parametrize(
    ("language", "said"), [("ko", "재고가 부족합니다"), ("en", "Not enough")]
)
def test_sold_out_makes_no_order_and_says_so(
    app: Flask, language: str, said: str
) -> None:
    bought(app, "mug", 4)
    response = buy(app, "mug", 2, **{"Accept-Language": language})
    assert response.status_code == 409
    assert said in response.text and f'<html lang="{language}">' in response.text
    with engine(app).connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(tables.orders)).scalar()
            == 1
        )
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(shop_orders)).scalar()
            == 1
        )
    assert stock(app)["mug"] == 1
    bought(app, "mug", 1)  # the last one still sells
    assert stock(app)["mug"] == 0


def test_a_paid_order_gets_one_receipt_shown_to_the_buyer(
    app: Flask, nicepay_buyer: t.Any
) -> None:
    uid = bought(app, "tee", 2)
    order = nicepay_buyer.checkout(uid)
    assert order.state.value == "paid"
    assert reservation(app, uid) == "sold" and receipts(app) == {uid: 1}
    # The same signal again, as a replay or a second receiver would send it.
    with app.app_context():
        signals.send(app, "pay", order, None, amount=order.paid_amount, late=False)
    assert receipts(app) == {uid: 1} and stock(app)["tee"] == 28
    page = app.test_client().get(f"/orders/{uid}").text
    assert 'data-testid="receipt"' in page and "영수증 번호" in page
    assert "38,000원" in page.split('data-testid="receipt"')[1]


def test_a_closed_window_keeps_the_stock_for_the_next_try(
    app: Flask, nicepay_buyer: t.Any
) -> None:
    uid = bought(app, "mug", 2)
    assert nicepay_buyer.checkout(uid, outcome="close").state.value == "ready"
    assert reservation(app, uid) == "held" and stock(app)["mug"] == 3


def test_a_failed_payment_gives_the_stock_back_once(
    app: Flask, nicepay_buyer: t.Any
) -> None:
    uid = bought(app, "mug", 2)
    order = nicepay_buyer.checkout(uid, outcome="decline")
    assert order.state.value == "failed"
    assert reservation(app, uid) == "released" and stock(app)["mug"] == 5
    with app.app_context():
        signals.send(app, "fail", order, None)
    assert stock(app)["mug"] == 5 and receipts(app) == {}
    # Paid after all (the buyer tries again): the stock is taken again.
    nicepay_buyer.checkout(uid)
    assert reservation(app, uid) == "sold" and stock(app)["mug"] == 3
    assert receipts(app) == {uid: 1}
    adds_up(app)


def pay_again(app: Flask, uid: str, **headers: str) -> t.Any:
    """The order page's "pay" button of a failed order."""
    return app.test_client().post(f"/orders/{uid}/pay", headers=headers)


def test_paying_a_failed_order_again_takes_its_stock_back_first(
    app: Flask, nicepay_buyer: t.Any
) -> None:
    uid = bought(app, "mug", 2)
    nicepay_buyer.checkout(uid, outcome="decline")
    assert reservation(app, uid) == "released" and stock(app)["mug"] == 5
    assert 'data-testid="pay-again"' in app.test_client().get(f"/orders/{uid}").text

    response = pay_again(app, uid)

    assert response.status_code == 302 and f"/checkout/{uid}" in response.location
    assert reservation(app, uid) == "held" and stock(app)["mug"] == 3
    assert pay_again(app, uid).status_code == 302  # pressed twice: taken once
    assert stock(app)["mug"] == 3
    nicepay_buyer.checkout(uid)
    assert reservation(app, uid) == "sold" and stock(app)["mug"] == 3
    adds_up(app)


def test_a_failed_order_whose_stock_sold_meanwhile_is_not_paid_again(
    app: Flask, nicepay_buyer: t.Any
) -> None:
    uid = bought(app, "mug", 2)
    nicepay_buyer.checkout(uid, outcome="decline")
    bought(app, "mug", 4)  # one left

    response = pay_again(app, uid, **{"Accept-Language": "en"})

    assert response.status_code == 409 and "Not enough" in response.text
    assert reservation(app, uid) == "released" and stock(app)["mug"] == 1
    assert app.test_client().post("/orders/nope/pay").status_code == 404
    adds_up(app)


def test_a_full_refund_gives_the_stock_back_a_partial_one_does_not(
    app: Flask, nicepay_buyer: t.Any
) -> None:
    uid = bought(app, "hoodie", 2)
    nicepay_buyer.checkout(uid)
    with app.app_context():
        nicepay.refund(uid, amount=59_000)
        assert reservation(app, uid) == "sold" and stock(app)["hoodie"] == 8
        nicepay.refund(uid)
    assert reservation(app, uid) == "released" and stock(app)["hoodie"] == 10
    assert receipts(app) == {uid: 1}
    adds_up(app)


def test_an_unpaid_virtual_account_closed_gives_the_stock_back(
    app: Flask, nicepay_buyer: t.Any
) -> None:
    uid = bought(app, "mug", 2)
    nicepay_buyer.checkout(uid, method="vbank")
    with app.app_context():
        assert nicepay.cancel(uid).order.state.value == "cancelled"  # type: ignore[union-attr]
    assert reservation(app, uid) == "released" and stock(app)["mug"] == 5
    assert receipts(app) == {}


def test_an_expired_virtual_account_gives_the_stock_back_once(
    app: Flask, nicepay_buyer: t.Any, nicepay_clock: t.Any
) -> None:
    due = nicepay_clock.now() + dt.timedelta(days=3)
    uid = bought(app, "mug", 3)
    nicepay_buyer.checkout(uid, method="vbank", options={"vbank_due": due})
    assert reservation(app, uid) == "held" and stock(app)["mug"] == 2
    with app.app_context():
        nicepay_clock.advance(days=3, hours=1)
        assert [o.merchant_uid for o in nicepay.expire_vbanks()] == [uid]
        assert nicepay.expire_vbanks() == []
    assert reservation(app, uid) == "released" and stock(app)["mug"] == 5


def test_every_door_of_many_orders_at_once(app: Flask, nicepay_race: t.Any) -> None:
    """Webhook three times, the PC completion and the mobile return, per order."""
    doors = ["webhook", "webhook", "webhook", "pc", "mobile"]
    paid = [bought(app, "tee", 1 + n % 3) for n in range(6)]
    declined = [bought(app, "hoodie", 2) for _ in range(3)]
    for uid in paid:
        assert nicepay_race(uid, doors).order.state.value == "paid"
    for uid in declined:
        assert nicepay_race(uid, doors, outcome="decline").order.state.value == "failed"
    assert receipts(app) == dict.fromkeys(paid, 1)
    assert stock(app) == {"tee": 30 - 12, "hoodie": 10, "mug": 5}
    adds_up(app)


@pytest.mark.slow
def test_signals_from_several_processes_move_the_stock_once(
    app: Flask, nicepay_buyer: t.Any
) -> None:
    """Four processes deliver every order's signal at once: one move each."""
    paid = [bought(app, "tee", 2) for _ in range(4)]
    released = [bought(app, "hoodie", 1) for _ in range(4)]
    for uid in paid:
        nicepay_buyer.checkout(uid, deliver=False)
    with engine(app).begin() as conn:  # undo what this process's receivers did
        conn.execute(sa.delete(shop_receipts))
        conn.execute(sa.update(shop_reservations).values(state="held"))
    moves = [("paid", uid) for uid in paid] + [("failed", uid) for uid in released]
    url = engine(app).url.render_as_string(hide_password=False)
    reports = in_processes(stock_worker.settle, (url, moves), 4)
    assert sum(r["won"] for r in reports) == len(moves)
    assert receipts(app) == dict.fromkeys(paid, 1)
    assert stock(app) == {"tee": 22, "hoodie": 10, "mug": 5}
    adds_up(app)
