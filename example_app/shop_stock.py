"""Stock reserved at order, released on failure, cancel or expiry; receipts.

An order takes its stock in the transaction that creates it (:func:`reserve`), or
is not created: the buyer of the last mug gets it, the next one a "sold out" page.
The plugin's signals then move the reservation on:

* ``payment_paid``: the reservation is sold and a receipt is recorded, in one
  transaction;
* ``payment_failed``, ``vbank_expired``, and ``payment_cancelled`` when nothing
  is left paid (a full refund, or an unpaid order closed): it is released, and its
  quantity goes back on the shelf.

The plugin sends each signal once per real change, but a store's side effects
should not rest on that alone (a replayed notification, a second receiver, a
job run twice): every move is a compare-and-swap on the reservation's ``state``,
and the receipt is unique by ``merchant_uid``, so a signal delivered twice, or by
two processes at once, moves the stock once and writes one receipt.

A failed order can be paid again: the order page's button takes its stock back
first (:func:`hold_again`), or says the product is sold out. The truth can also
arrive late (a payment PortOne approved after all): selling a released reservation
takes its stock again, even below zero, because the money is already taken; the
shop logs that it oversold.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

from flask_nicepay import NicePay
from flask_nicepay.db import write_transaction
from flask_nicepay.signals import payment_cancelled
from flask_nicepay.signals import payment_failed
from flask_nicepay.signals import payment_paid
from flask_nicepay.signals import vbank_expired

from .shop_errors import ShopError
from .shop_tables import insert_new
from .shop_tables import shop_receipts
from .shop_tables import shop_reservations
from .shop_tables import shop_stock

log = logging.getLogger("example_app")

#: How many of each product the shop starts with (``SHOP_STOCK`` overrides it).
STOCK = {"tee": 30, "hoodie": 10, "mug": 5}


class SoldOut(ShopError):
    """Not enough of a product is left for an order; nothing was created."""

    def __init__(self, product: str) -> None:
        super().__init__("sold_out", 409)
        self.product = product


def init_app(app: Flask, nicepay: NicePay) -> None:
    """Put the starting stock on the shelf (once) and connect the receivers."""
    stock = app.config.get("SHOP_STOCK") or STOCK
    with write_transaction(nicepay.state(app).payments.engine) as conn:
        rows = [{"product": p, "available": n} for p, n in stock.items()]
        insert_new(conn, shop_stock, rows)
    payment_paid.connect(_on_paid, sender=app)
    payment_failed.connect(_on_released, sender=app)
    vbank_expired.connect(_on_released, sender=app)
    payment_cancelled.connect(_on_cancelled, sender=app)


def _engine(app: Flask) -> Engine:
    return NicePay.state(app).payments.engine


def _on_paid(app: Flask, order: t.Any, **extra: t.Any) -> None:
    sell(_engine(app), order)


def _on_released(app: Flask, order: t.Any, **extra: t.Any) -> None:
    release(_engine(app), order.merchant_uid)


def _on_cancelled(
    app: Flask, order: t.Any, partial: bool = False, **extra: t.Any
) -> None:
    if not partial:  # a partial refund leaves the goods sold
        release(_engine(app), order.merchant_uid)


def available(conn: Connection) -> dict[str, int]:
    """How many of each product are left."""
    query = sa.select(shop_stock.c.product, shop_stock.c.available)
    return {product: left for product, left in conn.execute(query)}


def reserve(conn: Connection, merchant_uid: str, product: str, quantity: int) -> None:
    """Take ``quantity`` of ``product`` for an order, in the transaction on ``conn``.

    :raises SoldOut: fewer are left; nothing was taken.
    """
    reserve_stock(conn, product, quantity)
    conn.execute(
        sa.insert(shop_reservations).values(
            merchant_uid=merchant_uid, product=product, quantity=quantity, state="held"
        )
    )


def hold_again(engine: Engine, merchant_uid: str) -> None:
    """Take a released reservation's stock again, before the buyer pays again.

    A reservation still held (or sold) is left as it is.

    :raises SoldOut: too few are left now; the reservation stays released.
    """
    with write_transaction(engine) as conn:
        row = reservation(conn, merchant_uid)
        if row is None or not _move(conn, merchant_uid, ("released",), "held", 0):
            return
        reserve_stock(conn, row["product"], row["quantity"])


def reserve_stock(conn: Connection, product: str, quantity: int) -> None:
    """Take ``quantity`` of ``product`` off the shelf.

    :raises SoldOut: fewer are left; nothing was taken.
    """
    taken = conn.execute(
        sa.update(shop_stock)
        .where(shop_stock.c.product == product)
        .where(shop_stock.c.available >= quantity)
        .values(available=shop_stock.c.available - quantity)
    ).rowcount
    if taken != 1:
        raise SoldOut(product)


def release(engine: Engine, merchant_uid: str) -> bool:
    """Put an order's reservation back in stock; whether this call did it."""
    with write_transaction(engine) as conn:
        return _move(conn, merchant_uid, ("held", "sold"), "released", +1)


def sell(engine: Engine, order: t.Any) -> bool:
    """Mark a paid order's reservation sold and record its receipt, together.

    Whether this call recorded the receipt; a second call changes nothing.
    """
    with write_transaction(engine) as conn:
        if _move(conn, order.merchant_uid, ("released",), "sold", -1):
            log.warning(
                "Oversold: %s was paid after its stock went back", order.merchant_uid
            )
        else:
            _move(conn, order.merchant_uid, ("held",), "sold", 0)
        return record_receipt(conn, order)


def _move(
    conn: Connection, merchant_uid: str, froms: tuple[str, ...], to: str, sign: int
) -> bool:
    """Compare-and-swap the reservation from one of ``froms`` to ``to``, and move
    its quantity into (``+1``) or out of (``-1``) stock if this call won."""
    where = shop_reservations.c.merchant_uid == merchant_uid
    row = conn.execute(sa.select(shop_reservations).where(where)).first()
    if row is None or row.state not in froms:
        return False
    won = conn.execute(
        sa.update(shop_reservations)
        .where(where, shop_reservations.c.state == row.state)
        .values(state=to)
    ).rowcount
    if won != 1:
        return False  # another process moved it between the read and the write
    if sign:
        conn.execute(
            sa.update(shop_stock)
            .where(shop_stock.c.product == row.product)
            .values(available=shop_stock.c.available + sign * row.quantity)
        )
    return True


def record_receipt(conn: Connection, order: t.Any) -> bool:
    """Record the receipt of a paid order unless it has one; whether it was new."""
    row = {
        "merchant_uid": order.merchant_uid,
        "amount": order.paid_amount,
        "currency": order.currency,
        "pay_method": order.pay_method,
        "paid_at": order.paid_at,
        "recorded_at": dt.datetime.now(dt.UTC),
    }
    return insert_new(conn, shop_receipts, [row]) == 1


def receipt(conn: Connection, merchant_uid: str) -> t.Any:
    """The receipt of an order, or ``None``."""
    where = shop_receipts.c.merchant_uid == merchant_uid
    return conn.execute(sa.select(shop_receipts).where(where)).mappings().first()


def reservation(conn: Connection, merchant_uid: str) -> t.Any:
    """An order's reservation, or ``None``."""
    where = shop_reservations.c.merchant_uid == merchant_uid
    return conn.execute(sa.select(shop_reservations).where(where)).mappings().first()
