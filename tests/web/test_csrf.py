"""Alongside Flask-WTF's CSRFProtect: our doors take tokenless posts, the store's
forms stay protected."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask import render_template_string
from flask import request
from flask_wtf.csrf import CSRFProtect

from flask_nicepay import NicePay
from flask_nicepay import OrderState
from flask_nicepay import testing
from flask_nicepay.views import bp as nicepay_blueprint

from .webshop import SECRET_KEY
from .webshop import checkout_new_order
from .webshop import complete
from .webshop import get_order
from .webshop import inbox
from .webshop import new_order
from .webshop import state

FORM = '<form method="post"><input name="csrf_token" value="{{ csrf_token() }}"></form>'


def store_app(tmp_path: Path, order: str) -> tuple[Flask, CSRFProtect]:
    """A store with its own form, CSRFProtect and NicePay, set up in ``order``."""
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        NICEPAY_SANDBOX=True,
        NICEPAY_SANDBOX_AUTO_DELIVER=False,
        NICEPAY_DATABASE_URI=f"sqlite:///{tmp_path / 'shop.db'}",
    )

    @app.route("/buy", methods=["GET", "POST"])
    def buy() -> str:
        if request.method == "POST":
            return "bought"
        return render_template_string(FORM)

    csrf = CSRFProtect()
    nicepay = NicePay()
    steps: dict[str, t.Callable[[], t.Any]] = {
        "csrf": lambda: csrf.init_app(app),
        "nicepay": lambda: nicepay.init_app(app),
        "exempt": lambda: csrf.exempt(nicepay_blueprint),
    }
    for step in order.split(","):
        steps[step]()
    return app, csrf


@pytest.fixture(
    params=["csrf,nicepay,exempt", "csrf,nicepay", "nicepay,csrf"],
    ids=["documented exempt", "csrf first", "csrf last"],
)
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[Flask]:
    app, _ = store_app(tmp_path, request.param)
    yield app
    state(app).sandbox.close()  # type: ignore[union-attr]
    state(app).payments.engine.dispose()


def test_the_store_form_stays_protected(shop: Flask) -> None:
    client = shop.test_client()
    refused = client.post("/buy", data={"item": "1"})
    assert refused.status_code == 400
    assert "CSRF token is missing" in refused.get_data(as_text=True)

    page = client.get("/buy").get_data(as_text=True)
    token = re.search(r'value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    accepted = client.post("/buy", data={"item": "1", "csrf_token": token})
    assert accepted.status_code == 200 and accepted.get_data(as_text=True) == "bought"


def test_the_buyer_pays_without_a_token(shop: Flask) -> None:
    client = shop.test_client()
    box = testing.sandbox_of(shop)
    uid, _, payment = checkout_new_order(shop, client, box)

    response = complete(client, payment)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert get_order(shop, uid).state is OrderState.PAID


def test_portone_webhooks_need_no_token(shop: Flask) -> None:
    client = shop.test_client()
    uid = new_order(shop)
    testing.pay(uid, deliver=False, app=shop)

    [delivery] = testing.deliver_webhooks(shop)

    assert delivery.status == 200
    assert get_order(shop, uid).state is OrderState.PAID
    form = client.post("/nicepay/webhook", data={"imp_uid": "imp_000000000000"})
    assert form.status_code == 400  # looked up (not at PortOne), not a CSRF refusal
    assert (inbox(shop)[-1].error or "").startswith("not at PortOne")


def test_the_store_blueprints_are_not_exempted(tmp_path: Path) -> None:
    app, csrf = store_app(tmp_path, "nicepay,csrf")
    try:
        client = app.test_client()
        client.post("/nicepay/complete", json={"merchant_uid": "np-1"})  # first request
        assert app.blueprints["nicepay"] in csrf._exempt_blueprints
        assert len(csrf._exempt_blueprints) == 1 and not csrf._exempt_views
        assert client.post("/buy").status_code == 400
    finally:
        state(app).sandbox.close()  # type: ignore[union-attr]
        state(app).payments.engine.dispose()


def test_csrf_switched_off_changes_nothing(tmp_path: Path) -> None:
    app, _ = store_app(tmp_path, "csrf,nicepay")
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        assert app.test_client().post("/buy").status_code == 200
    finally:
        state(app).sandbox.close()  # type: ignore[union-attr]
        state(app).payments.engine.dispose()
