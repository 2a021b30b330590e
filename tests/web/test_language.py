"""The buyer's language on every buyer page, and money and times written in it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import OrderState
from flask_nicepay.card_pages import registration_url as card_registration_url
from flask_nicepay.display import LANGUAGE_COOKIE
from flask_nicepay.display import Display
from flask_nicepay.display import format_moment
from flask_nicepay.display import format_money
from flask_nicepay.i18n import TEXTS
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import Page
from .webshop import checkout_new_order
from .webshop import checkout_url
from .webshop import complete
from .webshop import new_order
from .webshop import paid_order

ENGLISH_PHONE = "en-US,en;q=0.9"


def opened(client: FlaskClient, url: str, accept: str | None = None) -> Page:
    headers = {"Accept-Language": accept} if accept else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return Page(response.get_data(as_text=True))


def language_of(page: Page) -> str:
    [html] = [attrs for tag, attrs in page.tags if tag == "html"]
    return str(html["lang"])


# -- which language ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (ENGLISH_PHONE, "en"),
        ("en", "en"),
        ("ko-KR,ko;q=0.9,en-US;q=0.8", "ko"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),  # the best one the pages speak
        ("fr-FR,de;q=0.8", "ko"),  # none: the configured default
        (None, "ko"),
    ],
)
def test_accept_language_chooses_among_the_supported_ones(
    app: Flask, client: FlaskClient, accept: str | None, expected: str
) -> None:
    page = opened(client, f"/nicepay/checkout/{new_order(app)}", accept)
    assert language_of(page) == expected
    assert page.request_pay["card"]["language"] == expected
    assert TEXTS[expected]["checkout_title"] in page.text


def test_unsupported_languages_fall_back_to_the_configured_default(
    make_app: AppFactory,
) -> None:
    app = make_app({"NICEPAY_LANGUAGE": "en"})
    page = opened(app.test_client(), f"/nicepay/orders/{new_order(app)}", "ja-JP")
    assert language_of(page) == "en"


def test_the_checkouts_language_beats_the_browser_and_follows_to_the_result(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    page = opened(client, checkout_url(app, uid, language="ko"), ENGLISH_PHONE)
    assert language_of(page) == "ko"
    assert page.request_pay["card"]["language"] == "ko"
    # The confirming and result pages that follow speak the checkout's language.
    for after in (f"/nicepay/orders/{uid}/confirm", f"/nicepay/orders/{uid}"):
        assert language_of(opened(client, after, ENGLISH_PHONE)) == "ko"

    # A checkout that leaves the language open forgets the earlier choice.
    other = new_order(app)
    assert language_of(opened(client, checkout_url(app, other), ENGLISH_PHONE)) == "en"
    result = opened(client, f"/nicepay/orders/{other}", ENGLISH_PHONE)
    assert language_of(result) == "en"


def test_a_forged_language_cookie_is_ignored(app: Flask, client: FlaskClient) -> None:
    client.set_cookie(LANGUAGE_COOKIE, "<script>")
    page = opened(client, f"/nicepay/orders/{new_order(app)}", ENGLISH_PHONE)
    assert language_of(page) == "en"


def test_the_card_page_and_the_error_pages_follow_the_browser(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        url = card_registration_url("c-1")
    assert language_of(opened(client, url, ENGLISH_PHONE)) == "en"
    uid = new_order(app)
    bad = client.get(
        f"/nicepay/checkout/{uid}?o=forged", headers={"Accept-Language": "en"}
    )
    assert bad.status_code == 400
    assert language_of(Page(bad.get_data(as_text=True))) == "en"


# -- what the buyer reads ---------------------------------------------------------


def test_the_result_page_names_state_and_method_and_no_raw_code(
    app: Flask, client: FlaskClient
) -> None:
    uid, _ = paid_order(app)
    english = opened(client, f"/nicepay/orders/{uid}", ENGLISH_PHONE)
    assert english.by_testid("state-name") == "Paid"
    assert english.by_testid("pay-method") == "Credit card"
    assert english.by_testid("amount") == "₩25,000"
    korean = opened(client, f"/nicepay/orders/{uid}", "ko")
    assert korean.by_testid("state-name") == "결제 완료"
    assert korean.by_testid("pay-method") == "신용카드"
    assert korean.by_testid("amount") == "25,000원"


def test_a_decline_shows_the_reason_as_it_came_next_to_a_translated_sentence(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, declined = checkout_new_order(app, client, sandbox, outcome="decline")
    complete(client, declined)
    page = opened(client, f"/nicepay/orders/{uid}", ENGLISH_PHONE)
    assert page.find(data_testid="result")["data-state"] == OrderState.FAILED.value
    assert page.by_testid("fail-reason-given") == declined["fail_reason"]
    assert "[3095]" in declined["fail_reason"]  # the card company's own words
    assert TEXTS["en"]["failed_because"] in page.text


@pytest.mark.parametrize("state", list(OrderState))
@pytest.mark.parametrize("language", sorted(TEXTS))
def test_every_state_has_a_name_and_a_sentence(
    state: OrderState, language: str
) -> None:
    show = Display(language)
    assert show.state(state) != state.value
    assert f"state_{state.value}" in TEXTS[language]


def test_both_languages_have_every_text() -> None:
    assert TEXTS["ko"].keys() == TEXTS["en"].keys()


# -- Babel ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (25_000, "KRW", "ko", "25,000원"),
        (Decimal("1234567"), "KRW", "en", "₩1,234,567"),
        (Decimal("10.1"), "USD", "en", "$10.10"),
        (Decimal("10"), "USD", "ko", "US$10.00"),
        (Decimal("0.5"), "USD", "en", "$0.50"),
    ],
)
def test_money_is_written_by_babel_for_the_locale(
    amount: Decimal, currency: str, language: str, expected: str
) -> None:
    assert format_money(amount, currency, language) == expected


def test_times_are_written_in_korea_and_labelled() -> None:
    utc = dt.datetime(2026, 1, 2, 15, 4, tzinfo=dt.UTC)  # 00:04 on the 3rd in Seoul
    # CLDR puts a narrow no-break space before AM.
    assert format_moment(utc, "en") == "Jan 3, 2026, 12:04\u202fAM KST"
    assert format_moment(utc, "ko") == "2026. 1. 3. 오전 12:04 KST"
    assert format_moment(utc.replace(tzinfo=None), "en").startswith("Jan 3, 2026")
    assert format_moment(None, "en") == ""
