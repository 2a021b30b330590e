"""The shop itself: a catalogue, its own orders table, pages and an admin list."""

from __future__ import annotations

import logging
import typing as t

import sqlalchemy as sa
from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from marshmallow import ValidationError
from sqlalchemy.engine import Connection

from flask_nicepay import Monthly
from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import Plan
from flask_nicepay import Transition
from flask_nicepay.db import create_tables
from flask_nicepay.db import write_transaction
from flask_nicepay.display import buyer_language
from flask_nicepay.portone import PortOneError
from flask_nicepay.sandbox import SandboxError
from flask_nicepay.signals import payment_cancelled
from flask_nicepay.signals import vbank_issued
from flask_nicepay.subscription_table import SubscriptionError

from . import shop_errors
from . import shop_stock
from . import shop_words
from .shop_errors import ShopError
from .shop_tables import metadata
from .shop_tables import shop_orders

log = logging.getLogger("example_app")
bp = Blueprint("shop", __name__)

#: What the shop sells, and for how many won; the names are in :mod:`.shop_words`.
PRODUCTS = {
    "tee": {"price": 19_000},
    "hoodie": {"price": 59_000},
    "mug": {"price": 12_000},
}
#: How many of one product an order may hold.
QUANTITIES = range(1, 11)


def init_app(app: Flask, nicepay: NicePay) -> None:
    create_tables(nicepay.state(app).payments.engine, metadata)
    shop_stock.init_app(app, nicepay)
    app.register_blueprint(bp)
    shop_words.init_app(app)
    shop_errors.init_app(app)
    vbank_issued.connect(_send_account_details, sender=app)
    payment_cancelled.connect(_send_refund_notice, sender=app)


def mirror_transition(conn: Connection, transition: Transition) -> None:
    """Runs inside the plugin's transaction: both rows change, or neither."""
    conn.execute(
        sa.update(shop_orders)
        .where(shop_orders.c.merchant_uid == transition.order.merchant_uid)
        .values(status=transition.to_state.value)
    )


def _nicepay() -> NicePay:
    return NicePay.state().extension


# Signal receivers: they run once per real change, after it was committed.


def _send_account_details(app: Flask, order: t.Any, **extra: t.Any) -> None:
    log.info(
        "Deposit instructions for %s: %s %s by %s",
        order.merchant_uid,
        order.vbank_name,
        order.vbank_num,
        order.vbank_due,
    )


def _send_refund_notice(
    app: Flask, order: t.Any, amount: t.Any = None, **extra: t.Any
) -> None:
    log.info("Refund notice for %s: %s won", order.merchant_uid, amount)


# Pages.


@bp.before_request
def _readable_query() -> None:
    # Werkzeug raises when request.args is first read from a query string that is
    # not UTF-8: refused here, before a page reads it, as a 400 of the shop's.
    try:
        request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        raise ShopError("error_body") from None


@bp.get("/")
def index() -> str:
    with _nicepay().payments.engine.connect() as conn:
        stock = shop_stock.available(conn)
    return render_template("index.html", products=PRODUCTS, stock=stock)


@bp.post("/buy")
def buy() -> t.Any:
    """Create the order with its stock taken, or neither (sold out)."""
    product_id = request.form.get("product", "")
    product = PRODUCTS.get(product_id)
    if product is None:
        raise ShopError("unknown_product")
    quantity = _quantity(request.form.get("quantity", "1"))
    email = request.form.get("email", "").strip() or None
    amount = product["price"] * quantity
    name = shop_words.product_name(product_id, buyer_language())
    nicepay = _nicepay()
    uid = nicepay.orders.new_merchant_uid()
    with write_transaction(nicepay.payments.engine) as conn:
        shop_stock.reserve(conn, uid, product_id, quantity)  # SoldOut: nothing made
        try:
            order = nicepay.create_order(
                connection=conn,
                merchant_uid=uid,
                amount=amount,
                name=f"{name} x{quantity}",
                buyer_email=email,
                buyer_name=request.form.get("name") or None,
            )
        except ValidationError as exc:  # the buyer's details: nothing is kept
            said = "bad_email" if "buyer_email" in exc.messages_dict else "bad_buyer"
            raise ShopError(said) from None
        conn.execute(
            sa.insert(shop_orders).values(
                merchant_uid=uid,
                product=product_id,
                quantity=quantity,
                buyer_email=email,
                status=order.state.value,
            )
        )
    return redirect(_pay_page(uid, amount))


def _pay_page(merchant_uid: str, amount: int) -> str:
    """The checkout page, or the key-in page when the buyer chose to type a card
    (and may keep it for the demo customer)."""
    if request.form.get("via") == "key_in":
        back = url_for("shop.order", merchant_uid=merchant_uid)
        return _nicepay().key_in_url(merchant_uid, next=back, keep_as=DEMO_CUSTOMER)
    options: dict[str, t.Any] = {
        "pay_methods": ["card", "trans", "vbank", "phone", "kakaopay"]
    }
    if amount >= 50_000:
        options["card_quota"] = [2, 3, 6]
    return _nicepay().checkout_url(merchant_uid, **options)


def _quantity(raw: str) -> int:
    text = raw.strip()
    if not text.isdigit() or int(text) not in QUANTITIES:  # isdigit: no "1e9", "-1"
        raise ShopError("bad_quantity")
    return int(text)


@bp.get("/orders")
def orders() -> str:
    query = sa.select(shop_orders).order_by(shop_orders.c.merchant_uid.desc()).limit(50)
    with _nicepay().payments.engine.connect() as conn:
        rows = list(conn.execute(query).mappings())
    return render_template("orders.html", rows=rows, products=PRODUCTS)


#: The one customer of this example. A real store uses its logged-in user's id,
#: and makes the link only for that user: the link is all the card page trusts.
DEMO_CUSTOMER = "example-customer"


@bp.get("/cards")
def cards() -> str:
    key = _nicepay().billing.get_key(DEMO_CUSTOMER)
    return render_template("cards.html", key=key)


@bp.get("/cards/add")
def add_card() -> t.Any:
    back = request.args.get("next") == "subscription"
    after = url_for("shop.subscription" if back else "shop.cards")
    url = _nicepay().card_registration_url(DEMO_CUSTOMER, next=after)
    return redirect(url, code=303)


#: What the shop sells by subscription: a coffee box every month.
MONTHLY_BOX = Plan(name="월간 원두 구독", amount=15_900, interval=Monthly())


def _live_subscription() -> t.Any:
    """The demo customer's subscription that has not ended, if any."""
    found = _nicepay().subscriptions.find(customer_uid=DEMO_CUSTOMER)
    return next((s for s in found if s.status != "cancelled"), None)


@bp.get("/subscription")
def subscription() -> str:
    key = _nicepay().billing.get_key(DEMO_CUSTOMER)
    return render_template(
        "subscription.html",
        plan=MONTHLY_BOX,
        key=key if key and key.status == "active" else None,
        sub=_live_subscription(),
    )


@bp.post("/subscription")
def subscribe() -> t.Any:
    """Start, cancel or resume the demo customer's subscription."""
    action, sub = request.form.get("action"), _live_subscription()
    subscriptions = _nicepay().subscriptions
    try:
        if action == "start" and sub is None:
            started = subscriptions.start(DEMO_CUSTOMER, MONTHLY_BOX)
            said = shop_words.words()[f"sub_{started.status}"]
            flash(said + (f": {started.fail_reason}" if started.fail_reason else ""))
        elif action == "cancel" and sub is not None:
            subscriptions.cancel(sub.subscription_uid)
            flash(shop_words.words()["sub_ends"])
        elif action == "resume" and sub is not None:
            subscriptions.resume(sub.subscription_uid)
            flash(shop_words.words()["sub_resumed"])
        else:
            abort(400)
    except (SubscriptionError, PortOneError) as exc:
        flash(f"{shop_words.words()['sub_failed']} {exc}")
    return redirect(url_for("shop.subscription"), code=303)


@bp.get("/orders/<merchant_uid>")
def order(merchant_uid: str) -> str:
    payment = _nicepay().get_order(merchant_uid)
    if payment is None:
        abort(404)
    history = _nicepay().orders.history(merchant_uid)
    refunds = _nicepay().orders.refunds_of(merchant_uid)
    with _nicepay().payments.engine.connect() as conn:
        receipt = shop_stock.receipt(conn, merchant_uid)
    # Just after the sandbox's deposit, PortOne's webhook may not have landed
    # yet: the page says so and asks the plugin's status until it has.
    confirming = bool(request.args.get("deposited")) and (
        payment.state is OrderState.VBANK_ISSUED
    )
    return render_template(
        "order.html",
        order=payment,
        history=history,
        refunds=refunds,
        receipt=receipt,
        confirming=confirming,
    )


@bp.post("/orders/<merchant_uid>/pay")
def pay_again(merchant_uid: str) -> t.Any:
    """A failed order's stock taken back, then its checkout; or "sold out"."""
    order = _nicepay().get_order(merchant_uid)
    if order is None:
        abort(404)
    if order.state in (OrderState.READY, OrderState.FAILED):
        shop_stock.hold_again(_nicepay().payments.engine, merchant_uid)
    return redirect(url_for("nicepay.checkout", merchant_uid=merchant_uid))


@bp.get("/_sandbox/deposit/<merchant_uid>")
def sandbox_deposit(merchant_uid: str) -> t.Any:
    """Sandbox only: play the bank and pay into an issued virtual account."""
    box = _nicepay().sandbox
    if box is None:
        abort(404)
    try:
        box.deposit(merchant_uid=merchant_uid)
    except SandboxError:
        raise ShopError("no_account", 409) from None
    flash(shop_words.words()["sandbox_deposited"])
    return redirect(url_for("shop.order", merchant_uid=merchant_uid, deposited=1))


@bp.app_context_processor
def _shop_context() -> dict[str, t.Any]:
    return {"sandbox": current_app.extensions["nicepay"].settings.mode.sandbox}
