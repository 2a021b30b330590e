"""The hosted key-in page: a signed link to an order, a card form, one payment."""

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
from flask_nicepay import OrderState
from flask_nicepay import tables
from flask_nicepay import testing
from flask_nicepay.card_forms import CSRF_COOKIE
from flask_nicepay.card_forms import MAX_ATTEMPTS_PER_CUSTOMER
from flask_nicepay.card_forms import MAX_ATTEMPTS_PER_ORDER
from flask_nicepay.key_in import take_claim
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import Page
from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import state

CARD = {
    "card_number": "4242-4242-4242-4242",
    "expiry": "2030-12",
    "birth": "900101",
    "pwd_2digit": "12",
}
DECLINED = "4000-0000-0000-9995"  # the sandbox's card company declines it
NOT_AUTHENTICATED = "4000-0000-0000-0002"  # PortOne cannot authenticate it
SECRETS = ("4242424242424242", "4242-4242-4242-4242", "900101", "4000000000009995")


def link(app: Flask, merchant_uid: str, **options: t.Any) -> str:
    with app.test_request_context():
        return state(app).extension.key_in_url(merchant_uid, **options)


def open_form(client: FlaskClient, url: str) -> tuple[Page, str]:
    """Open the page; its parsed HTML and CSRF token (its cookie is now set)."""
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', answer.text)
    assert match is not None, answer.text
    return Page(answer.text), match[1]


def submit(client: FlaskClient, url: str, **fields: str) -> t.Any:
    _, token = open_form(client, url)
    return client.post(url, data={**CARD, "csrf_token": token, **fields})


def onetime_calls(sandbox: Sandbox) -> int:
    return sandbox.payments_count()


def payment_of(app: Flask, merchant_uid: str) -> t.Any:
    """PortOne's latest attempt of the order, as its API shows it."""
    return state(app).payments.client.find_payment(merchant_uid)


@on_both_databases
def test_an_order_is_paid_and_the_buyer_goes_on(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, 25_000, name="머그컵")
    url = link(app, uid, next="/thanks")
    page, _ = open_form(client, url)
    assert page.by_testid("order-name") == "머그컵"
    assert page.by_testid("amount") == "25,000원"
    assert 'name="card_quota"' not in page.source  # under 50,000 KRW
    assert 'name="keep_card"' not in page.source  # no customer_uid in the link

    answer = submit(client, url)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/thanks"
    order = get_order(app, uid)
    assert order.state is OrderState.PAID and order.origin == "checkout"
    assert order.paid_amount == 25_000 and order.customer_uid is None
    payment = payment_of(app, uid)
    assert payment.channel == "api" and payment.card_quota == 0


def test_without_next_the_buyer_lands_on_the_result_page(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    answer = submit(client, link(app, uid))
    assert answer.headers["Location"] == f"/nicepay/orders/{uid}"


def test_the_page_has_no_script_and_a_strict_policy(
    app: Flask, client: FlaskClient
) -> None:
    answer = client.get(link(app, new_order(app)))
    page = Page(answer.text)
    assert page.inline_scripts == [] and 'src="' not in answer.text.split("<body")[1]
    assert page.style_attributes() == [] and page.event_handlers() == []
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_page_speaks_english(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_LANGUAGE": "en"})
    page, _ = open_form(app.test_client(), link(app, new_order(app, 25_000)))
    assert page.by_testid("amount") == "₩25,000"
    assert "Pay by card" in page.text


@on_both_databases
def test_a_declined_card_is_said_so_and_the_order_can_be_paid_again(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    url = link(app, uid)
    declined = submit(client, url, card_number=DECLINED)
    assert declined.status_code == 422
    assert "카드사에서 결제를 승인하지 않았습니다" in declined.text
    assert 'data-testid="refused"' in declined.text
    assert get_order(app, uid).state is OrderState.FAILED
    for typed in (DECLINED, DECLINED.replace("-", ""), "900101"):
        assert typed not in declined.text

    assert submit(client, url).status_code == 303  # another card, same order
    assert get_order(app, uid).state is OrderState.PAID


@on_both_databases
def test_a_card_portone_cannot_authenticate_leaves_the_order_ready(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    url = link(app, uid)
    before = onetime_calls(sandbox)
    refused = submit(client, url, card_number=NOT_AUTHENTICATED)
    assert refused.status_code == 422
    assert "카드 정보를 확인하지 못했습니다" in refused.text
    assert NOT_AUTHENTICATED not in refused.text
    assert get_order(app, uid).state is OrderState.READY
    assert onetime_calls(sandbox) == before  # nothing was charged

    assert submit(client, url).status_code == 303
    assert get_order(app, uid).state is OrderState.PAID


def test_a_typo_is_named_and_nothing_written_back(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    answer = submit(client, link(app, uid), card_number="4242-4242-4242-4241")
    assert answer.status_code == 422
    assert 'data-testid="error-card_number"' in answer.text
    assert "4242-4242-4242-4241" not in answer.text and "900101" not in answer.text
    assert onetime_calls(sandbox) == 0


def test_installments_are_offered_from_50000_krw(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, 60_000)
    url = link(app, uid)
    page, _ = open_form(client, url)
    assert 'name="card_quota"' in page.source and 'value="12"' in page.source
    assert submit(client, url, card_quota="3").status_code == 303
    assert payment_of(app, uid).card_quota == 3


def test_installments_under_50000_krw_are_refused_before_portone(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app, 49_000)
    answer = submit(client, link(app, uid), card_quota="3")
    assert answer.status_code == 422
    assert 'data-testid="error-card_quota"' in answer.text
    assert "50,000원 이상" in answer.text
    assert get_order(app, uid).state is OrderState.READY
    assert onetime_calls(sandbox) == 0


@on_both_databases
def test_a_card_kept_by_choice_becomes_a_billing_key_of_masked_data(
    app: Flask, client: FlaskClient, sandbox: Sandbox, nicepay: NicePay
) -> None:
    uid = new_order(app)
    url = link(app, uid, keep_as="cust-9")
    page, _ = open_form(client, url)
    assert 'name="keep_card"' in page.source
    assert submit(client, url, keep_card="1").status_code == 303
    with app.app_context():
        key = nicepay.billing.get_key("cust-9")
        charged = [row.merchant_uid for row in nicepay.billing.orders_of("cust-9")]
    assert key is not None and key.status == "active"
    assert key.card_number and "4242424242424242" not in key.card_number
    assert charged == [uid]
    assert payment_of(app, uid).customer_uid == "cust-9"


def test_a_card_not_kept_leaves_no_key(
    app: Flask, client: FlaskClient, sandbox: Sandbox, nicepay: NicePay
) -> None:
    unticked = new_order(app)
    assert submit(client, link(app, unticked, keep_as="cust-9")).status_code == 303
    # Without keep_as in the link, a forged box is no choice at all.
    forged = new_order(app)
    assert submit(client, link(app, forged), keep_card="1").status_code == 303
    with app.app_context():
        assert nicepay.billing.get_key("cust-9") is None
        assert nicepay.billing.keys() == []
    assert payment_of(app, unticked).customer_uid is None


@pytest.mark.parametrize("finish", ["pay", "close"])
def test_an_order_not_to_be_paid_shows_its_result_not_the_form(
    app: Flask, client: FlaskClient, sandbox: Sandbox, finish: str
) -> None:
    uid = new_order(app)
    if finish == "pay":
        testing.pay(uid, app=app)
    else:
        with app.app_context():
            state(app).payments.reconciler.close(uid, reason="out of stock")
    url = link(app, uid)
    before = onetime_calls(sandbox)
    for answer in (client.get(url), client.post(url, data=CARD)):
        assert answer.status_code == 200
        assert 'data-testid="result"' in answer.text
        assert 'name="card_number"' not in answer.text
    assert onetime_calls(sandbox) == before


def test_attempts_are_limited_per_order(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    url = link(app, uid)
    for _ in range(MAX_ATTEMPTS_PER_ORDER):
        assert submit(client, url, card_number="1234").status_code == 422
    blocked = submit(client, url)  # even a good card waits now
    assert blocked.status_code == 429 and "한 시간 뒤에" in blocked.text
    assert get_order(app, uid).state is OrderState.READY
    # Another order from the same address is not held up.
    assert submit(client, link(app, new_order(app))).status_code == 303


def test_attempts_count_against_the_customer_on_both_card_pages(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    for _ in range(MAX_ATTEMPTS_PER_CUSTOMER):
        url = link(app, new_order(app), keep_as="cust-3")
        assert submit(client, url, birth="x").status_code == 422
    with app.test_request_context():
        register = state(app).extension.card_registration_url("cust-3")
    _, token = open_form(client, register)
    answer = client.post(register, data={**CARD, "csrf_token": token})
    assert answer.status_code == 429


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
    answer = client.get(tamper(link(app, new_order(app))))
    assert answer.status_code == 400
    assert 'data-testid="fatal"' in answer.text
    assert 'name="card_number"' not in answer.text


def test_an_expired_link_is_refused(app: Flask, client: FlaskClient) -> None:
    url = link(app, new_order(app), valid_for=dt.timedelta(seconds=-1))
    assert client.get(url).status_code == 400


def test_a_registration_link_does_not_open_the_key_in_page(
    app: Flask, client: FlaskClient
) -> None:
    with app.test_request_context():
        register = state(app).extension.card_registration_url("cust-1")
    token = register.split("t=")[1]
    assert client.get(f"/nicepay/key-in?t={token}").status_code == 400


def test_the_link_takes_a_same_site_path_and_a_known_order(app: Flask) -> None:
    uid = new_order(app)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil", "x"):
        with pytest.raises(ValueError):
            link(app, uid, next=target)
    with pytest.raises(LookupError):
        link(app, "no-such-order")


def test_a_post_from_another_site_is_refused(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    url = link(app, uid)
    open_form(client, url)
    assert client.post(url, data={**CARD, "csrf_token": "guessed"}).status_code == 400
    client.delete_cookie(CSRF_COOKIE, path="/nicepay/key-in")
    assert client.post(url, data={**CARD, "csrf_token": ""}).status_code == 400
    assert onetime_calls(sandbox) == 0
    assert get_order(app, uid).state is OrderState.READY


def test_live_mode_answers_only_over_https(make_app: AppFactory) -> None:
    app = make_app(
        {
            "NICEPAY_SANDBOX": False,
            "NICEPAY_IMP_KEY": "key",
            "NICEPAY_IMP_SECRET": "secret",
            "NICEPAY_MERCHANT_CODE": "imp00000000",
            "NICEPAY_CHANNEL_KEY": "channel-key-00000000",
            "NICEPAY_CREATE_TABLES": True,
            "NICEPAY_PREPARE": False,
        }
    )
    url = link(app, new_order(app))
    assert app.test_client().get(url).status_code == 403
    secure = app.test_client().get(url, base_url="https://shop.example")
    assert secure.status_code == 200
    assert "Secure" in secure.headers["Set-Cookie"]


def test_a_submission_while_another_is_paying_is_turned_away(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    url = link(app, uid)
    take_claim(state(app).payments.engine, uid, state(app).payments.clock())
    answer = submit(client, url)
    assert answer.status_code == 409
    assert 'data-testid="reload"' in answer.text
    assert onetime_calls(sandbox) == 0


@on_both_databases
def test_a_lost_answer_is_looked_up_and_the_buyer_goes_on(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    sandbox.inject_fault("timeout", path="/subscribe/payments/onetime")
    answer = submit(client, link(app, uid, next="/thanks"))
    assert answer.status_code == 303 and answer.headers["Location"] == "/thanks"
    assert get_order(app, uid).state is OrderState.PAID
    assert onetime_calls(sandbox) == 1


@on_both_databases
def test_a_retry_after_a_lost_answer_never_pays_twice(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    url = link(app, uid)
    sandbox.inject_fault("timeout", path="/subscribe/payments/onetime")
    sandbox.inject_fault("503", path="/payments/find/*", times=10)
    lost = submit(client, url)
    assert lost.status_code == 503 and "아직 확인하지 못했습니다" in lost.text
    assert get_order(app, uid).state is OrderState.READY  # paid, as yet unknown here
    sandbox.clear_faults()

    shown = client.get(url)  # the look-up comes first: the order is paid
    assert (
        'data-testid="result"' in shown.text and 'name="card_number"' not in shown.text
    )
    assert get_order(app, uid).state is OrderState.PAID
    assert onetime_calls(sandbox) == 1


def test_a_form_posted_after_a_lost_answer_gets_the_result(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    url = link(app, uid)
    _, token = open_form(client, url)
    sandbox.inject_fault("timeout", path="/subscribe/payments/onetime")
    sandbox.inject_fault("503", path="/payments/find/*", times=10)
    assert client.post(url, data={**CARD, "csrf_token": token}).status_code == 503
    _, token = open_form(client, url)  # still unknown: PortOne cannot be asked
    sandbox.clear_faults()
    again = client.post(url, data={**CARD, "csrf_token": token})
    assert again.status_code == 200 and 'data-testid="result"' in again.text
    assert get_order(app, uid).state is OrderState.PAID
    assert onetime_calls(sandbox) == 1


def test_a_retry_after_a_request_that_never_arrived_pays(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    url = link(app, uid)
    sandbox.inject_fault("disconnect", path="/subscribe/payments/onetime")
    sandbox.inject_fault("503", path="/payments/find/*", times=10)
    assert submit(client, url).status_code == 503
    sandbox.clear_faults()
    assert submit(client, url).status_code == 303
    assert get_order(app, uid).state is OrderState.PAID
    assert onetime_calls(sandbox) == 1


@on_both_databases
def test_no_card_data_is_logged_stored_rendered_or_kept_in_a_cookie(
    app: Flask,
    client: FlaskClient,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    uid = new_order(app, 60_000)
    url = link(app, uid, keep_as="cust-5")
    answers = [
        submit(client, url, expiry="2020-01"),
        submit(client, url, card_number=DECLINED),
        submit(client, url, card_number=NOT_AUTHENTICATED),
        submit(client, url, keep_card="1", card_quota="2"),
    ]
    assert [a.status_code for a in answers] == [422, 422, 422, 303]
    assert sandbox.deliver_webhooks()  # the inbox is scanned too

    logged = "\n".join(r.getMessage() for r in caplog.records)
    sent = "\n".join(a.text + str(a.headers) for a in answers)
    with state(app).payments.engine.connect() as conn:
        stored = "\n".join(
            repr(tuple(row))
            for table in tables.metadata.sorted_tables
            for row in conn.execute(sa.select(table))
        )
    for secret in (*SECRETS, "4000000000000002", "pwd_2digit=12"):
        assert secret not in logged
        assert secret not in sent
        assert secret not in stored
    assert uid in stored and "cust-5" in stored  # who and which order, no card
