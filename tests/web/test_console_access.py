"""Who may use the console: the store's guard decides, forms need their token,
and a live app cannot register the console without a guard."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from flask import Flask

import flask_nicepay
from flask_nicepay import ConfigurationError
from flask_nicepay.console import Console
from flask_nicepay.console_base import CSRF_COOKIE
from flask_nicepay.console_journal import OUTCOMES
from flask_nicepay.console_reconcile import COUNTS
from flask_nicepay.console_texts import CONSOLE_TEXTS

from .consoleshop import PREFIX
from .consoleshop import Operator
from .consoleshop import actions
from .consoleshop import console_app
from .webshop import AppFactory
from .webshop import LiveFactory
from .webshop import Page
from .webshop import get_order
from .webshop import on_both_databases
from .webshop import paid_order

PAGES = ["/", "/orders/{uid}", "/vbanks", "/notifications", "/keys", "/subscriptions"]
ACTIONS = [
    "/orders/{uid}/refund",
    "/orders/{uid}/sync",
    "/notifications/1/replay",
    "/reconcile",
    "/vbanks/expire",
    "/keys/someone/delete",
    "/subscriptions/sub-1/cancel",
]


@on_both_databases
def test_without_the_guard_s_consent_nothing_is_shown_or_done(
    make_app: AppFactory,
) -> None:
    app = console_app(make_app)
    uid, _ = paid_order(app)
    stranger = app.test_client()
    for path in PAGES:
        response = stranger.get(PREFIX + path.format(uid=uid))
        assert response.status_code == 403, path
        assert uid not in response.get_data(as_text=True)
    for path in ACTIONS:
        response = stranger.post(PREFIX + path.format(uid=uid), data={"amount": "1"})
        assert response.status_code == 403, path
    assert get_order(app, uid).cancelled_amount == 0
    assert actions(app) == []


def test_the_guard_gets_the_request_and_names_the_operator(
    make_app: AppFactory,
) -> None:
    asked: list[str] = []

    def guard(request: object) -> str:
        asked.append(getattr(request, "path", ""))
        return "lee"

    app = make_app()
    Console(app, guard=guard)
    page = app.test_client().get(PREFIX + "/")
    assert page.status_code == 200
    assert asked == [PREFIX + "/"]
    assert Page(page.get_data(as_text=True)).by_testid("operator") == "lee"


def test_an_actor_callable_names_the_operator_the_guard_let_in(
    make_app: AppFactory,
) -> None:
    app = make_app()
    Console(app, guard=lambda request: True, actor=lambda request: "park")
    uid, _ = paid_order(app)
    operator = Operator(app)
    assert operator.post(f"/orders/{uid}/sync").status_code == 303
    assert [a["actor"] for a in actions(app)] == ["park"]


def test_a_post_without_the_form_token_is_refused(make_app: AppFactory) -> None:
    app = console_app(make_app)
    uid, _ = paid_order(app)
    operator = Operator(app)
    operator.token()  # the cookie is set; the form must still carry it
    path = f"{PREFIX}/orders/{uid}/refund"
    headers = {"X-Operator": "kim"}
    for form in ({"amount": "1000"}, {"amount": "1000", "csrf_token": "x" * 43}):
        response = operator.client.post(path, data=form, headers=headers)
        assert response.status_code == 400
    # Another site's form carries no cookie (SameSite=Strict), only a token.
    other = app.test_client()
    forged = other.post(path, data={"csrf_token": operator.token()}, headers=headers)
    assert forged.status_code == 400
    assert get_order(app, uid).cancelled_amount == 0
    assert actions(app) == []


def test_the_token_cookie_is_strict_and_kept_across_pages(make_app: AppFactory) -> None:
    app = console_app(make_app)
    operator = Operator(app)
    first = operator.get("/")
    cookie = first.headers["Set-Cookie"]
    assert f"{CSRF_COOKIE}=" in cookie
    assert "SameSite=Strict" in cookie and "HttpOnly" in cookie
    assert f"Path={PREFIX}" in cookie
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["X-Frame-Options"] == "DENY"
    token = operator.token()
    assert "Set-Cookie" not in operator.get("/vbanks").headers
    assert operator.token() == token


def test_registering_without_a_guard_outside_sandbox_mode_fails(
    make_live_app: LiveFactory,
) -> None:
    app = make_live_app()
    with pytest.raises(ConfigurationError, match="guard"):
        Console(app)
    assert "nicepay_console" not in app.extensions


def test_in_live_mode_the_token_cookie_is_secure(make_live_app: LiveFactory) -> None:
    app = make_live_app()
    Console(app, guard=lambda request: "kim")
    response = app.test_client().get(PREFIX + "/", base_url="https://shop.example")
    assert "Secure" in response.headers["Set-Cookie"]


def test_in_sandbox_mode_a_console_without_a_guard_warns(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    with caplog.at_level(logging.WARNING, logger="flask_nicepay"):
        Console(app)
    assert "no guard" in caplog.text
    page = app.test_client().get(PREFIX + "/")
    assert page.status_code == 200
    assert 'data-testid="sandbox-notice"' in page.get_data(as_text=True)


def test_the_console_needs_nicepay_first_and_registers_once(
    make_app: AppFactory,
) -> None:
    with pytest.raises(RuntimeError, match="init_app"):
        Console(Flask(__name__), guard=lambda request: True)
    app = console_app(make_app)
    with pytest.raises(RuntimeError, match="already registered"):
        Console(app, guard=lambda request: True)


def test_pages_speak_korean_or_english_and_run_no_inline_script(
    make_app: AppFactory,
) -> None:
    app = console_app(make_app)
    operator = Operator(app)
    korean = operator.page("/")
    assert "주문" in korean.text
    english = operator.page("/?lang=en")
    assert "Orders" in english.text and "주문" not in english.text
    assert "Orders" in operator.page("/vbanks").text  # the choice is kept
    for path in ("/", "/vbanks", "/notifications", "/keys", "/subscriptions",
                 "/actions"):  # fmt: skip
        page = operator.page(path)
        assert page.inline_scripts == [] and page.event_handlers() == []
        assert page.style_attributes() == []


def test_every_word_the_templates_use_is_in_both_languages() -> None:
    folder = Path(flask_nicepay.__file__).parent / "templates/nicepay/console"
    used: set[str] = set()
    for template in folder.glob("*.html"):
        used |= set(re.findall(r"\bt\.(\w+)", template.read_text(encoding="utf-8")))
    used |= {"transition", "notification", "refund", "action"}  # t[event.kind]
    used |= set(OUTCOMES)  # t[action.outcome]
    used |= {f"count_{name}" for name in COUNTS if name != "orders"}
    used |= {"denied", "form_expired", "bad_input", "not_found", "portone_down"}
    assert used, "no words found"
    for language, words in CONSOLE_TEXTS.items():
        assert used <= words.keys(), (language, used - words.keys())
        assert not set(words) & set(dir(dict)), "a key that Jinja reads as a method"
    assert CONSOLE_TEXTS["ko"].keys() == CONSOLE_TEXTS["en"].keys()
