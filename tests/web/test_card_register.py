"""The hosted card registration page: a signed link, a form, a billing key."""

from __future__ import annotations

import datetime as dt
import logging
import re
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import NicePay
from flask_nicepay import tables
from flask_nicepay.card_pages import CSRF_COOKIE
from flask_nicepay.card_pages import MAX_ATTEMPTS_PER_ADDRESS
from flask_nicepay.card_pages import MAX_ATTEMPTS_PER_CUSTOMER
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import on_both_databases
from .webshop import state

CARD = {
    "card_number": "4242-4242-4242-4242",
    "expiry": "2030-12",
    "birth": "900101",
    "pwd_2digit": "12",
}
SECRETS = ("4242424242424242", "4242-4242-4242-4242", "900101")


def _link(app: Flask, customer_uid: str = "cust-1", **options: t.Any) -> str:
    with app.test_request_context():
        return state(app).extension.card_registration_url(customer_uid, **options)


def _form(client: FlaskClient, url: str) -> str:
    """Open the page; returns its CSRF token (its cookie is now set)."""
    page = client.get(url)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match[1]


def _submit(client: FlaskClient, url: str, **fields: str) -> t.Any:
    token = _form(client, url)
    return client.post(url, data={**CARD, "csrf_token": token, **fields})


@on_both_databases
def test_a_card_becomes_the_customers_billing_key(
    app: Flask, client: FlaskClient, sandbox: Sandbox, nicepay: NicePay
) -> None:
    url = _link(app, "cust-1", next="/account/cards")
    answer = _submit(client, url)

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/account/cards"
    with app.app_context():
        key = nicepay.billing.get_key("cust-1")
    assert key is not None and key.status == "active"
    assert key.card_number and "4242424242424242" not in key.card_number


def test_the_page_says_what_to_fix_and_writes_nothing_back(
    app: Flask, client: FlaskClient, sandbox: Sandbox, nicepay: NicePay
) -> None:
    url = _link(app)
    answer = _submit(client, url, card_number="4242-4242-4242-4241", expiry="2020-01")

    assert answer.status_code == 422
    assert 'data-testid="error-card_number"' in answer.text
    assert 'data-testid="error-expiry"' in answer.text
    assert "카드번호가 올바르지 않습니다" in answer.text
    for secret in (*SECRETS, "4242-4242-4242-4241", "2020-01"):
        assert secret not in answer.text
    with app.app_context():
        assert nicepay.billing.get_key("cust-1") is None


def test_a_card_portone_refuses_is_said_so(
    app: Flask, client: FlaskClient, sandbox: Sandbox, nicepay: NicePay
) -> None:
    refused = "4000-0000-0000-0002"  # the sandbox refuses it (see its cards)
    answer = _submit(client, _link(app), card_number=refused)
    assert answer.status_code == 422
    assert 'data-testid="refused"' in answer.text
    assert refused not in answer.text
    with app.app_context():
        assert nicepay.billing.get_key("cust-1") is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url: url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb"),
        lambda url: url.split("?")[0],
    ],
)
def test_a_link_not_signed_here_is_refused(
    app: Flask, client: FlaskClient, tamper: t.Callable[[str], str]
) -> None:
    answer = client.get(tamper(_link(app)))
    assert answer.status_code == 400
    assert 'data-testid="fatal"' in answer.text
    assert 'name="card_number"' not in answer.text


def test_an_expired_link_is_refused(app: Flask, client: FlaskClient) -> None:
    url = _link(app, valid_for=dt.timedelta(seconds=-1))
    assert client.get(url).status_code == 400


def test_the_link_takes_only_a_same_site_path(app: Flask) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil", "x"):
        with pytest.raises(ValueError):
            _link(app, next=target)


def test_a_post_from_another_site_is_refused(
    app: Flask, client: FlaskClient, sandbox: Sandbox, nicepay: NicePay
) -> None:
    url = _link(app)
    _form(client, url)
    forged = client.post(url, data={**CARD, "csrf_token": "guessed"})
    assert forged.status_code == 400
    client.delete_cookie(CSRF_COOKIE, path="/nicepay/cards/new")
    cookieless = client.post(url, data={**CARD, "csrf_token": ""})
    assert cookieless.status_code == 400
    with app.app_context():
        assert nicepay.billing.get_key("cust-1") is None


def test_attempts_are_limited_per_customer(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    url = _link(app, "cust-tester")
    for _ in range(MAX_ATTEMPTS_PER_CUSTOMER):
        assert _submit(client, url, card_number="1234").status_code == 422
    blocked = _submit(client, url)  # even a good card waits now
    assert blocked.status_code == 429
    assert "한 시간 뒤에" in blocked.text
    # Another customer is not held up: this address is still under its own limit.
    assert _submit(app.test_client(), _link(app, "cust-2")).status_code == 303


def test_attempts_are_limited_per_address(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    for i in range(MAX_ATTEMPTS_PER_ADDRESS):
        assert _submit(client, _link(app, f"c{i}"), birth="x").status_code == 422
    assert _submit(client, _link(app, "fresh")).status_code == 429


def test_live_mode_answers_only_over_https(make_app: AppFactory) -> None:
    app = make_app(
        {
            "NICEPAY_SANDBOX": False,
            "NICEPAY_IMP_KEY": "key",
            "NICEPAY_IMP_SECRET": "secret",
            "NICEPAY_MERCHANT_CODE": "imp00000000",
            "NICEPAY_CHANNEL_KEY": "channel-key-00000000",
            "NICEPAY_CREATE_TABLES": True,
        }
    )
    url = _link(app)
    plain = app.test_client().get(url)
    assert plain.status_code == 403
    secure = app.test_client().get(url, base_url="https://shop.example")
    assert secure.status_code == 200
    assert "Secure" in secure.headers["Set-Cookie"]


def test_no_card_data_is_logged_stored_or_kept_in_a_cookie(
    app: Flask,
    client: FlaskClient,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = _link(app)
    answers = [_submit(client, url, expiry="2020-01"), _submit(client, url)]

    logged = "\n".join(r.getMessage() for r in caplog.records)
    cookies = " ".join(a.headers.get("Set-Cookie", "") for a in answers)
    with state(app).payments.engine.connect() as conn:
        stored = "\n".join(
            repr(tuple(row))
            for table in tables.metadata.sorted_tables
            for row in conn.execute(sa.select(table))
        )
    for secret in (*SECRETS, "pwd_2digit=12"):
        assert secret not in logged
        assert secret not in cookies
        assert secret not in stored
    assert "cust-1" in stored  # the attempts and the key are there, the card is not
