"""Receipts: PortOne's card slip and each cancel's kept on the order, and linked.

The sandbox gives receipt addresses as PortOne does: a paid payment has one, each
cancel in ``cancel_history`` has its own. They are kept on the order and its
refund rows when the reconciler applies the truth, and shown on the buyer's result
page, in ``flask nicepay show`` and on the console's order page. Only an ``https``
address is ever a link; the rest is escaped text or nothing.
"""

from __future__ import annotations

import dataclasses
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_nicepay import signals
from flask_nicepay import tables
from flask_nicepay.portone import Payment
from flask_nicepay.receipts import MAX_RECEIPT_URL
from flask_nicepay.receipts import kept_receipt_url
from flask_nicepay.receipts import receipt_link
from flask_nicepay.sandbox import Sandbox

from .consoleshop import Operator
from .consoleshop import console_app
from .test_cli import run
from .webshop import AppFactory
from .webshop import Page
from .webshop import get_order
from .webshop import on_both_databases
from .webshop import paid_order
from .webshop import state

NICE = "https://npg.nicepay.co.kr/issue/IssueLoader.do?TID=nictest00m0101&type=0"


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return console_app(make_app)


def refunded_order(app: Flask, sandbox: Sandbox) -> tuple[str, dict[str, t.Any]]:
    """A paid order refunded twice: once by the store, once in PortOne's console.

    :returns: its merchant_uid and PortOne's payment after both cancels.
    """
    uid, paid = paid_order(app, 30_000)
    with app.app_context():
        state(app).extension.refund(uid, 10_000, reason="부분 환불")
    sandbox.console_cancel(paid["imp_uid"], amount=5_000)
    with app.app_context():
        state(app).extension.sync(merchant_uid=uid)
    at_portone = sandbox.payment(paid["imp_uid"])
    assert at_portone is not None and len(at_portone["cancel_history"]) == 2
    return uid, at_portone


def links(page: Page, testid: str) -> list[str | None]:
    return [a.get("href") for tag, a in page.tags if a.get("data-testid") == testid]


def with_receipt(app: Flask, uid: str, receipt_url: str | None) -> Payment:
    """PortOne's payment of the order, as if it gave ``receipt_url``, applied."""
    payments = state(app).payments
    order = get_order(app, uid)
    payment = dataclasses.replace(
        payments.client.get_payment(order.imp_uid), receipt_url=receipt_url
    )
    payments.reconciler.apply(payment, source="api")
    return payment


# -- kept --------------------------------------------------------------------------


@on_both_databases
def test_the_order_and_each_refund_keep_portone_s_receipts(
    app: Flask, sandbox: Sandbox
) -> None:
    uid, at_portone = refunded_order(app, sandbox)

    assert at_portone["receipt_url"].startswith("https://")
    assert get_order(app, uid).receipt_url == at_portone["receipt_url"]
    refunds = state(app).payments.orders.refunds_of(uid)
    shown = [(r.source, r.amount) for r in refunds]
    assert shown == [("api", 10_000), ("portone", 5_000)]
    cancels = [c["receipt_url"] for c in at_portone["cancel_history"]]
    assert all(url.startswith("https://") for url in cancels)
    assert [r.receipt_url for r in refunds] == cancels
    assert cancels == at_portone["cancel_receipt_urls"]


@on_both_databases
def test_an_order_applied_before_receipts_were_kept_gets_its_own(
    app: Flask, sandbox: Sandbox
) -> None:
    """A database upgraded to 0007 has orders with no receipt: the next look-up
    brings it, though PortOne's snapshot is the one applied already."""
    uid, paid = paid_order(app)
    with state(app).payments.engine.begin() as conn:
        conn.execute(sa.update(tables.orders).values(receipt_url=None))
    before = get_order(app, uid)

    with app.app_context():
        state(app).extension.sync(merchant_uid=uid)

    after = get_order(app, uid)
    assert after.receipt_url == paid["receipt_url"]
    assert (after.state, after.snapshot_key) == (before.state, before.snapshot_key)
    assert len(state(app).payments.orders.history(uid)) == 1  # no transition


@on_both_databases
@pytest.mark.parametrize(
    "given",
    ["https://receipt.example/\x00slip", "https://receipt.example/a b", "x" * 2001],
    ids=["NUL", "space", "too-long"],
)
def test_a_receipt_no_url_can_be_is_not_kept_and_the_payment_still_counts(
    app: Flask, given: str
) -> None:
    """PostgreSQL refuses NUL in text: such a receipt must not stop the order."""
    uid, _ = paid_order(app)
    with_receipt(app, uid, given)
    assert get_order(app, uid).receipt_url is None


def test_the_paid_signal_carries_the_receipt(app: Flask) -> None:
    """A store's e-mail, sent from payment_paid, can link the slip."""
    seen: list[str | None] = []

    def on_paid(sender: Flask, order: t.Any, **extra: t.Any) -> None:
        seen.append(order.receipt_url)

    signals.payment_paid.connect(on_paid, sender=app)
    try:
        _, paid = paid_order(app)
    finally:
        signals.payment_paid.disconnect(on_paid, sender=app)
    assert seen == [paid["receipt_url"]] and paid["receipt_url"]


# -- shown ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_result_page_links_the_receipts(
    app: Flask, sandbox: Sandbox, language: str
) -> None:
    uid, at_portone = refunded_order(app, sandbox)
    client = app.test_client()

    answer = client.get(f"/nicepay/orders/{uid}", headers={"Accept-Language": language})
    page = Page(answer.get_data(as_text=True))

    assert links(page, "receipt") == [at_portone["receipt_url"]]
    cancels = [c["receipt_url"] for c in at_portone["cancel_history"]]
    assert links(page, "refund-receipt") == cancels
    link = page.find(data_testid="receipt")
    assert link["rel"] == "noopener noreferrer"
    words = {"ko": "영수증 보기", "en": "View receipt"}[language]
    assert page.by_testid("receipt") == words


def test_show_prints_the_receipts(app: Flask, sandbox: Sandbox) -> None:
    uid, at_portone = refunded_order(app, sandbox)
    output = run(app, "show", uid).output
    assert f"  receipt_url       {at_portone['receipt_url']}" in output.splitlines()
    for cancel in at_portone["cancel_history"]:
        assert f"     receipt {cancel['receipt_url']}" in output.splitlines()


def test_the_console_s_order_page_links_the_receipts(
    app: Flask, sandbox: Sandbox
) -> None:
    uid, at_portone = refunded_order(app, sandbox)
    page = Operator(app).page(f"/orders/{uid}")
    cancels = [c["receipt_url"] for c in at_portone["cancel_history"]]
    shown = links(page, "receipt-link")
    assert shown[0] == at_portone["receipt_url"]  # the order's, then the timeline's
    assert sorted(map(str, shown[1:])) == sorted(cancels)
    assert not [t for t, a in page.tags if a.get("data-testid") == "receipt-text"]


# -- hostile ----------------------------------------------------------------------

HOSTILE = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/slip",
    "/nicepay/orders/x",
    "http://npg.nicepay.co.kr/issue/IssueLoader.do?TID=1",
    "https:///no-host",
    "https:\\\\evil.example\\slip",
    "https://[::1/slip",
]


@pytest.mark.parametrize("given", HOSTILE)
def test_only_an_https_address_with_a_host_is_a_link(given: str) -> None:
    assert receipt_link(given) is None


def test_portone_s_own_addresses_are_links() -> None:
    assert receipt_link(NICE) == NICE
    assert receipt_link("https://iniweb.inicis.com/receipt?no=1&x=%20") is not None
    assert kept_receipt_url("https://a.example/" + "x" * MAX_RECEIPT_URL) is None
    assert kept_receipt_url(None) is None and kept_receipt_url(42) is None


@on_both_databases
@pytest.mark.parametrize("given", ["javascript:alert(1)", "//evil.example/slip"])
def test_a_hostile_receipt_is_never_a_link(app: Flask, given: str) -> None:
    uid, _ = paid_order(app)
    with_receipt(app, uid, given)
    assert get_order(app, uid).receipt_url == given  # kept as PortOne said

    source = app.test_client().get(f"/nicepay/orders/{uid}").get_data(as_text=True)
    page = Page(source)
    assert links(page, "receipt") == []
    assert all(given not in str(a.get("href")) for _, a in page.tags)

    console = Operator(app).page(f"/orders/{uid}")
    assert links(console, "receipt-link") == []
    assert console.by_testid("receipt-text") == given
    assert run(app, "show", uid).output.count(given) == 1


def test_markup_in_a_receipt_address_is_escaped(app: Flask) -> None:
    given = 'https://receipt.example/"><script>alert(1)</script>'
    uid, _ = paid_order(app)
    with_receipt(app, uid, given)

    source = app.test_client().get(f"/nicepay/orders/{uid}").get_data(as_text=True)
    console = Operator(app).get(f"/orders/{uid}").get_data(as_text=True)

    for html in (source, console):
        assert "<script>alert(1)" not in html
        assert links(Page(html), "receipt" if html is source else "receipt-link") == [
            given
        ]
