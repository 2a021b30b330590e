"""No secret leaves the box: not in logs (even at DEBUG), reprs, answers or tables."""

from __future__ import annotations

import logging
import re
import typing as t

import pytest
from flask import Flask

from flask_nicepay import OrderState
from flask_nicepay import testing
from flask_nicepay.portone import Buyer
from flask_nicepay.portone import Card
from flask_nicepay.portone import CardError
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import complete
from .webshop import completion_body
from .webshop import inbox
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import pay_in_window
from .webshop import return_url
from .webshop import state
from .webshop import table_rows

SECRET = "imp-secret-Zq81-never-shown"
CARD = "4242-4242-4242-4242"
BIRTH = "880705"
PASSWORD = "87"
REFUSED = "4000-0000-0000-0002"


@pytest.fixture
def secretive(make_app: AppFactory, tmp_path: t.Any) -> Flask:
    return make_app(
        {
            "NICEPAY_IMP_KEY": "redaction_key",
            "NICEPAY_IMP_SECRET": SECRET,
            "NICEPAY_DATABASE_URI": f"sqlite:///{tmp_path / 'secret.db'}",
        }
    )


def _leaks(text: str, token: str) -> list[str]:
    """Every secret found in ``text``, by name."""
    digits = re.sub(r"[^\d*]", "", text)
    found = []
    if SECRET in text:
        found.append("imp_secret")
    if token in text:
        found.append("access token")
    for name, number in (("card number", CARD), ("refused card", REFUSED)):
        if number.replace("-", "") in digits or number in text:
            found.append(name)
    if BIRTH in text:
        found.append("birth date")
    if re.search(rf"pwd_2digit\W+{PASSWORD}\b", text):
        found.append("card password")
    return found


def test_a_whole_flow_logs_no_secret(
    secretive: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app = secretive
    client = app.test_client()
    box = testing.sandbox_of(app)
    nicepay = state(app).extension
    card = Card(CARD, "2030-12", BIRTH, PASSWORD)
    answers: list[str] = []

    with caplog.at_level(logging.DEBUG):
        uid = new_order(app, 60_000, buyer_name="홍길동")
        params, payment = pay_in_window(client, box, f"/nicepay/checkout/{uid}")
        answers.append(client.get(f"/nicepay/checkout/{new_order(app)}").text)
        answers.append(complete(client, payment).text)
        box.deliver_webhooks()
        answers.append(client.get(return_url(params, payment)).text)
        with app.app_context():
            nicepay.refund(uid, 10_000, reason="부분 환불")
            key = nicepay.billing.issue_key("cust-r", card, customer=Buyer(name="홍"))
            answers.append(repr(key))
            charged = nicepay.billing.charge("cust-r", 9_900, "구독")
            assert charged.state is OrderState.PAID
            once = nicepay.billing.pay_key_in(card, 5_000, "단건")
            answers.append(repr(once))
            with pytest.raises(CardError) as refused:
                nicepay.billing.issue_key(
                    "cust-x", Card(REFUSED, "2030-12", BIRTH, PASSWORD)
                )
            answers.append(str(refused.value) + repr(refused.value))
        # Somebody posts card data at our doors: it is recorded, masked.
        answers.append(
            client.post(
                "/nicepay/webhook",
                json={"imp_uid": "imp_0", "card_number": CARD, "birth": BIRTH},
            ).text
        )
        answers.append(
            client.post(
                "/nicepay/complete",
                data={"merchant_uid": uid, "card_number": CARD.replace("-", " ")},
            ).text
        )
        result = app.test_cli_runner().invoke(args=["nicepay", "show", "cust-r"])
        answers.append(result.output)
        doctor = app.test_cli_runner().invoke(args=["nicepay", "doctor"])
        answers.append(doctor.output)

    token = state(app).payments.client.tokens.get()
    assert len(token) > 10
    records = caplog.records
    assert any(r.levelno == logging.DEBUG for r in records), "DEBUG was not on"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    assert _leaks(logged, token) == []
    assert _leaks("\n".join(answers), token) == []
    for thing in (state(app).settings, state(app).payments.client, card, box):
        assert _leaks(repr(thing), token) == []

    # The card data that was posted is kept, masked.
    bodies = [e.text for e in inbox(app)]
    assert any("************4242" in b for b in bodies)
    assert any("birth" in b for b in bodies)


def test_no_table_holds_a_secret_or_a_card(
    secretive: Flask,
) -> None:
    app = secretive
    client = app.test_client()
    box = testing.sandbox_of(app)
    nicepay = state(app).extension
    card = Card(CARD, "2030-12", BIRTH, PASSWORD)
    uid = new_order(app, 60_000)
    _, payment = pay_in_window(
        client, box, f"/nicepay/checkout/{uid}", card_number=CARD
    )
    client.post("/nicepay/complete", json={**completion_body(payment), "card": CARD})
    client.post("/nicepay/webhook", data={"imp_uid": "imp_1", "card_number": CARD})
    box.deliver_webhooks()
    with app.app_context():
        nicepay.billing.issue_key("cust-t", card)
        nicepay.billing.charge("cust-t", 9_900, "구독")
        nicepay.billing.pay_key_in(card, 5_000, "단건", customer_uid="cust-u")
        with pytest.raises(CardError):
            nicepay.billing.pay_key_in(
                Card(REFUSED, "2030-12", BIRTH, PASSWORD), 5_000, "x"
            )
        nicepay.refund(uid, 1_000)
    token = state(app).payments.client.tokens.get()

    rows = table_rows(app.config["NICEPAY_DATABASE_URI"])

    assert {"nicepay_orders", "nicepay_inbox", "nicepay_billing_keys"} <= set(rows)
    assert sum(len(r) for r in rows.values()) > 10
    for name, table in rows.items():
        for row in table:
            text = " ".join("" if v is None else str(v) for v in row)
            assert _leaks(text, token) == [], (name, row)
    # What PortOne returns, masked, is fine and is kept.
    keys = rows["nicepay_billing_keys"]
    assert all("*" in str(row) for row in keys)


def test_a_generated_merchant_uid_is_kept_whole_in_the_inbox(
    app: Flask, sandbox: Sandbox
) -> None:
    uid = "np-20261126-0215996b1c84"  # a shape service.orders.new_merchant_uid makes
    new_order(app, merchant_uid=uid)
    app.test_client().post("/nicepay/complete", json={"merchant_uid": uid})
    [entry] = inbox(app)
    assert uid in entry.text


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"secret={SECRET}", ["imp_secret"]),
        ("Authorization: tok-abc-123", ["access token"]),
        ("card 4242 4242 4242 4242 ok", ["card number"]),
        ('{"card_number": "4242424242424242"}', ["card number"]),
        (f"birth={BIRTH}", ["birth date"]),
        (f'{{"pwd_2digit": "{PASSWORD}"}}', ["card password"]),
        ("424242******4242 and imp_123 and 5000", []),
    ],
)
def test_the_scan_sees_each_secret(text: str, found: list[str]) -> None:
    assert _leaks(text, "tok-abc-123") == found


@on_both_databases
def test_card_numbers_in_any_part_of_a_request_are_not_stored(
    make_live_app: t.Any,
) -> None:
    app = make_live_app({"NICEPAY_TRUSTED_PROXIES": 1})
    client = app.test_client()
    spaced = CARD.replace("-", " ")
    client.get(f"/nicepay/return?merchant_uid=np-1&card_number={CARD}")
    client.get("/nicepay/return", query_string={"merchant_uid": "np-1", "c": spaced})
    client.post(
        f"/nicepay/complete?card={CARD}",
        data=b"{}",
        content_type=f"application/json; card={CARD}",
    )
    client.post(
        "/nicepay/webhook",
        json={"imp_uid": "imp_1"},
        headers={"X-Forwarded-For": CARD.replace("-", "")},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    client.put(f"/nicepay/webhook?{CARD}")

    rows = table_rows(app.config["NICEPAY_DATABASE_URI"])
    assert len(rows["nicepay_inbox"]) == 5
    for row in rows["nicepay_inbox"]:
        text = " ".join("" if v is None else str(v) for v in row)
        assert _leaks(text, "no-token") == [], row
