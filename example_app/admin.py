"""The shop's admin: the plugin's operator console behind a password.

One password from ``SHOP_ADMIN_PASSWORD``. In sandbox mode it defaults to
:data:`SANDBOX_PASSWORD` and the login page says so; with real keys the shop
refuses to start without one. A real store puts its own staff accounts behind the
same guard.
"""

from __future__ import annotations

import hmac
import typing as t

from flask import Blueprint
from flask import Flask
from flask import Request
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for

from flask_nicepay import NicePay
from flask_nicepay.console import Console

#: The admin password in sandbox mode when none is configured.
SANDBOX_PASSWORD = "sandbox-admin"  # noqa: S105  (public: sandbox mode only)
_SESSION_KEY = "shop_admin"

bp = Blueprint("admin", __name__, url_prefix="/admin")


def init_app(app: Flask, nicepay: NicePay) -> None:
    """Check the password setting, mount the login and the console."""
    sandbox = nicepay.state(app).settings.mode.sandbox
    password = app.config.get("SHOP_ADMIN_PASSWORD")
    if not password:
        if not sandbox:
            raise RuntimeError(
                "Set SHOP_ADMIN_PASSWORD: the admin console needs a password "
                "outside sandbox mode."
            )
        app.config["SHOP_ADMIN_PASSWORD"] = SANDBOX_PASSWORD
    app.register_blueprint(bp)
    Console(app, guard=logged_in)


def logged_in(request: Request) -> str | None:
    """The console's guard: the admin's name when logged in, else nothing."""
    return t.cast("str | None", session.get(_SESSION_KEY))


def _sandbox() -> bool:
    return bool(NicePay.state().settings.mode.sandbox)


@bp.get("/")
def home() -> t.Any:
    if session.get(_SESSION_KEY):
        return redirect(url_for("nicepay_console.orders"))
    return redirect(url_for("admin.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> t.Any:
    """The password form; a right password opens the console."""
    wrong = False
    if request.method == "POST":
        given = request.form.get("password", "").encode()
        expected = str(current_app.config["SHOP_ADMIN_PASSWORD"]).encode()
        if hmac.compare_digest(given, expected):
            session.clear()
            session[_SESSION_KEY] = "admin"
            return redirect(url_for("nicepay_console.orders"), code=303)
        wrong = True
    shown = SANDBOX_PASSWORD if _sandbox() else None
    status = 401 if wrong else 200
    return render_template("admin_login.html", wrong=wrong, shown=shown), status


@bp.post("/logout")
def logout() -> t.Any:
    session.pop(_SESSION_KEY, None)
    return redirect(url_for("admin.login"), code=303)
