"""The example store's admin: the plugin's console behind one password."""

from __future__ import annotations

import re
import typing as t

import pytest
from flask import Flask

from example_app import create_app
from example_app.admin import SANDBOX_PASSWORD
from flask_nicepay import testing

from .test_shop import buy
from .test_shop import shop_status


@pytest.fixture
def app(tmp_path: t.Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SHOP_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
            "NICEPAY_SANDBOX_AUTO_DELIVER": False,
        }
    )


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def test_the_console_is_closed_until_the_admin_logs_in(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/nicepay/console/").status_code == 403
    assert client.get("/admin/").location.endswith("/admin/login")

    wrong = client.post("/admin/login", data={"password": "guess"})
    assert wrong.status_code == 401
    assert client.get("/nicepay/console/").status_code == 403

    right = client.post("/admin/login", data={"password": SANDBOX_PASSWORD})
    assert right.status_code == 303
    page = client.get("/nicepay/console/")
    assert page.status_code == 200
    assert 'data-testid="operator">admin<' in page.get_data(as_text=True)

    client.post("/admin/logout")
    assert client.get("/nicepay/console/").status_code == 403


def test_the_default_password_is_shown_in_sandbox_mode_only(app: Flask) -> None:
    page = app.test_client().get("/admin/login").get_data(as_text=True)
    assert SANDBOX_PASSWORD in page


def test_a_configured_password_replaces_the_default(tmp_path: t.Any) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SHOP_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
            "SHOP_ADMIN_PASSWORD": "correct horse",
        }
    )
    client = app.test_client()
    assert (
        client.post("/admin/login", data={"password": SANDBOX_PASSWORD}).status_code
        == 401
    )
    assert (
        client.post("/admin/login", data={"password": "correct horse"}).status_code
        == 303
    )


def _live(tmp_path: t.Any, **config: t.Any) -> Flask:
    return create_app(
        {
            "TESTING": True,
            "SHOP_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
            "NICEPAY_SANDBOX": None,
            "NICEPAY_IMP_KEY": "live_key",
            "NICEPAY_IMP_SECRET": "live_secret",
            "NICEPAY_MERCHANT_CODE": "imp12345678",
            "NICEPAY_CHANNEL_KEY": "channel-key-nice-0001",
            **config,
        }
    )


def test_without_sandbox_the_shop_needs_a_password(tmp_path: t.Any) -> None:
    with pytest.raises(RuntimeError, match="SHOP_ADMIN_PASSWORD"):
        _live(tmp_path)


def test_without_sandbox_no_password_is_shown(tmp_path: t.Any) -> None:
    app = _live(tmp_path, SHOP_ADMIN_PASSWORD="correct horse")
    page = app.test_client().get("/admin/login").get_data(as_text=True)
    assert SANDBOX_PASSWORD not in page
    assert "correct horse" not in page


def test_the_admin_refunds_from_the_console(app: Flask) -> None:
    uid = buy(app, "tee")
    with app.app_context():
        testing.pay(uid)
    client = app.test_client()
    client.post("/admin/login", data={"password": SANDBOX_PASSWORD})
    page = client.get(f"/nicepay/console/orders/{uid}").get_data(as_text=True)

    done = client.post(
        f"/nicepay/console/orders/{uid}/refund",
        data={"csrf_token": _token(page), "amount": "9000"},
    )

    assert done.status_code == 303
    assert shop_status(app, uid) == "partially_cancelled"
