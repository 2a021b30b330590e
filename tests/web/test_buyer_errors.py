"""Every error a buyer's page shows is said in the buyer's language.

What was wrong in detail (English, for the store's developer) goes to the inbox
or the log; the page says a sentence of :data:`~flask_nicepay.i18n.TEXTS` in the
language :func:`~flask_nicepay.display.buyer_language` chose: Korean or English
here, from ``Accept-Language`` alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_nicepay.card_forms import card_page
from flask_nicepay.i18n import TEXTS
from flask_nicepay.sandbox import Sandbox

from .test_card_register import CARD
from .test_card_register import _form
from .test_card_register import _link
from .webshop import AppFactory
from .webshop import Page
from .webshop import checkout_url
from .webshop import inbox
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import state

LANGUAGES = pytest.mark.parametrize("language", ["ko", "en"])


class Buyer:
    """A browser that asks for one language and nothing else."""

    def __init__(self, app: Flask, language: str) -> None:
        self.client: FlaskClient = app.test_client()
        self.language = language
        self.headers = {"Accept-Language": language}

    def get(self, url: str, query: bytes = b"") -> TestResponse:
        return self.open("GET", url, query)

    def post(self, url: str, **options: t.Any) -> TestResponse:
        return self.client.post(url, headers=self.headers, **options)

    def open(self, method: str, url: str, query: bytes) -> TestResponse:
        """A request whose query is exactly these bytes (WSGI carries them as
        Latin-1 text)."""
        environ = {"QUERY_STRING": query.decode("latin-1")} if query else {}
        return self.client.open(
            url, method=method, headers=self.headers, environ_overrides=environ
        )

    def says(self, response: TestResponse, key: str, status: int) -> Page:
        """The answer is ``status``, in the buyer's language, saying ``key``."""
        assert response.status_code == status, response.get_data(as_text=True)
        page = Page(response.get_data(as_text=True))
        other = "en" if self.language == "ko" else "ko"
        assert page.find(lang=self.language)  # <html lang=...>
        assert page.by_testid("error") == TEXTS[self.language][key]
        assert TEXTS[other][key] not in page.source
        assert TEXTS[self.language]["error_title"] in page.text
        return page


@LANGUAGES
def test_options_that_no_longer_fit_the_order(
    app: Flask, sandbox: Sandbox, language: str, caplog: pytest.LogCaptureFixture
) -> None:
    uid = new_order(app)
    soon = state(app).payments.clock() + dt.timedelta(hours=1)
    url = checkout_url(app, uid, pay_methods=["vbank"], vbank_due=soon.isoformat())
    sandbox.advance_clock(2 * 3600)  # the deadline chosen has passed
    buyer = Buyer(app, language)

    with caplog.at_level(logging.INFO, logger=app.logger.name):
        page = buyer.says(buyer.get(url), "checkout_invalid", 400)

    assert "vbank_due" not in page.source
    assert "deadline must be in the future" in caplog.text  # for the developer


@LANGUAGES
def test_options_changed_in_the_link(app: Flask, language: str) -> None:
    uid = new_order(app)
    buyer = Buyer(app, language)
    answer = buyer.get(f"/nicepay/checkout/{uid}?o=not-a-token")
    page = buyer.says(answer, "checkout_link_invalid", 400)
    assert "changed or are invalid" not in page.source


@LANGUAGES
@pytest.mark.parametrize("path", ["checkout/{}", "orders/{}", "orders/{}/confirm"])
def test_an_unknown_order(app: Flask, language: str, path: str) -> None:
    buyer = Buyer(app, language)
    for uid in ("np-nobody", "no%00such"):
        page = buyer.says(
            buyer.get("/nicepay/" + path.format(uid)), "order_not_found", 404
        )
        assert "Not Found" not in page.source


def test_a_store_s_own_404_page_still_answers_an_unknown_order(
    app: Flask,
) -> None:
    app.register_error_handler(404, lambda exc: ("the store's own", 404))
    answer = app.test_client().get("/nicepay/orders/np-nobody")
    assert (answer.status_code, answer.text) == (404, "the store's own")


@LANGUAGES
def test_an_address_that_is_not_utf_8(app: Flask, language: str) -> None:
    uid = new_order(app)
    buyer = Buyer(app, language)
    answer = buyer.get(f"/nicepay/orders/{uid}", query=b"x=\xff")
    page = buyer.says(answer, "bad_query", 400)
    assert "UTF-8" not in page.source


@on_both_databases
@LANGUAGES
@pytest.mark.parametrize(
    ("method", "query", "status", "detail"),
    [
        ("GET", b"merchant_uid=np-1&imp_uid=12%3B%20drop", 400, "imp_uid"),
        ("GET", b"merchant_uid=np-1&imp_uid=\xff", 400, "UTF-8"),
        ("POST", b"", 405, "method POST not allowed"),
    ],
    ids=["bad-imp_uid", "not-utf-8", "post"],
)
def test_a_return_that_cannot_be_read(
    app: Flask, language: str, method: str, query: bytes, status: int, detail: str
) -> None:
    buyer = Buyer(app, language)
    answer = buyer.open(method, "/nicepay/return", query)
    page = buyer.says(answer, "return_invalid", status)
    assert detail not in page.source
    [entry] = inbox(app)
    assert entry.error is not None and detail in entry.error  # kept, for replays


@on_both_databases
@LANGUAGES
def test_a_card_form_too_large_is_said_so_and_none_of_it_kept(
    make_app: AppFactory, language: str
) -> None:
    """The card form carries a birth date and password digits: a body over the
    limit is refused without a trace of it in the inbox."""
    app = make_app({"NICEPAY_MAX_BODY": 2048})
    buyer = Buyer(app, language)
    url = _link(app)
    token = _form(buyer.client, url)
    form = {**CARD, "csrf_token": token, "pad": "x" * 4096}

    buyer.says(buyer.post(url, data=form), "too_large", 413)

    assert inbox(app) == []


@LANGUAGES
def test_a_refused_card_shows_portone_s_reason_not_the_request(
    app: Flask, sandbox: Sandbox, language: str
) -> None:
    buyer = Buyer(app, language)
    url = _link(app)
    token = _form(buyer.client, url)
    form = {**CARD, "card_number": "4000-0000-0000-0002", "csrf_token": token}

    answer = buyer.post(url, data=form)

    assert answer.status_code == 422
    refused = Page(answer.text).by_testid("refused")
    assert refused.startswith(TEXTS[language]["card_refused"])
    assert "PortOne refused" not in refused and "/subscribe" not in refused
    assert len(refused) > len(TEXTS[language]["card_refused"])  # PortOne's reason


@LANGUAGES
def test_a_card_refused_with_no_reason_still_says_it_was_refused(
    app: Flask, language: str
) -> None:
    with app.test_request_context("/nicepay/cards/new"):
        answer = card_page(
            state(app), "nicepay/card_register.html", 422, language, refused=""
        )
    said = Page(answer.get_data(as_text=True)).by_testid("refused")
    assert said == TEXTS[language]["card_refused"]


@LANGUAGES
def test_the_checkout_says_in_the_buyer_s_language_when_the_sdk_is_missing(
    app: Flask, language: str
) -> None:
    uid = new_order(app)
    page = Page(Buyer(app, language).get(f"/nicepay/checkout/{uid}").text)
    missing = page.find(data_testid="sdk-missing")
    assert "hidden" in missing  # until checkout.js finds no IMP
    assert page.by_testid("sdk-missing") == TEXTS[language]["sdk_missing"]
