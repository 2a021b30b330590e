"""What a checkout offered, and what verification holds a payment to, without I/O."""

from __future__ import annotations

import datetime as dt
import typing as t
from decimal import Decimal

import pytest

from flask_nicepay import checkout
from flask_nicepay.channels import Channel
from flask_nicepay.channels import Channels
from flask_nicepay.machine import OrderState
from flask_nicepay.offers import Offer
from flask_nicepay.portone import Payment
from flask_nicepay.portone import PaymentStatus
from flask_nicepay.store import Order
from flask_nicepay.verify import Policy
from flask_nicepay.verify import verify

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
CHANNELS = Channels(
    Channel("window", mids=frozenset({"win01m"})),
    Channel("api", mids=frozenset({"api01m"})),
)


def order(**fields: t.Any) -> Order:
    values: dict[str, t.Any] = {
        "id": 1,
        "merchant_uid": "m-1",
        "state": OrderState.READY,
        "version": 1,
        "amount": Decimal(51_000),
        "currency": "KRW",
        "name": "x",
        "origin": "checkout",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Order(**{**values, **fields})


def payment(**fields: t.Any) -> Payment:
    values: dict[str, t.Any] = {
        "imp_uid": "imp_1",
        "merchant_uid": "m-1",
        "status": PaymentStatus.PAID,
        "amount": Decimal(51_000),
        "cancel_amount": Decimal(0),
        "currency": "KRW",
        "pay_method": "card",
        "pg_provider": "nice",
        "pg_id": "win01m",
    }
    return Payment(**{**values, **fields})


def reasons(o: Order, p: Payment) -> tuple[str, ...]:
    return verify(o, p, Policy(channels=CHANNELS)).reasons


@pytest.mark.parametrize("currency", ["KRW", "USD"])
def test_a_link_without_options_offers_what_its_page_shows(currency: str) -> None:
    bare = order(currency=currency)
    shown = checkout.offer(checkout.OPTIONS.load(checkout.defaults(bare)))
    assert Offer.default(currency) == shown
    assert Offer.loads(None, currency) == shown


def test_an_offer_survives_its_column_and_merges_as_a_union() -> None:
    card = Offer(frozenset({"card"}), frozenset({2, 3}), frozenset({False}))
    trans = Offer(frozenset({"trans"}), frozenset({6}), frozenset({True}))
    assert Offer.loads(card.dumps(), "KRW") == card
    both = card.merged(trans)
    assert both == Offer(
        frozenset({"card", "trans"}), frozenset({2, 3, 6}), frozenset({False, True})
    )
    assert card.merged(Offer()) == Offer()  # NICE's own menu: anything
    assert Offer.loads("{}", "KRW") == Offer()  # orders from before the column


def test_card_direct_s_installments_are_offered_too() -> None:
    options = checkout.OPTIONS.load(
        {"card_quota": [2], "card_direct": {"code": "361", "quota": 5}}
    )
    assert checkout.offer(options).months == {2, 5}
    assert checkout.offer(checkout.OPTIONS.load({"card_quota": None})).months is None


def test_a_window_payment_is_held_to_the_store_s_live_mid_and_its_offer() -> None:
    offered = Offer(frozenset({"card"}), frozenset({2, 3}), frozenset({False}))
    o = order(terms=offered.dumps())
    assert reasons(o, payment(card_quota=3)) == ()
    assert reasons(o, payment(pg_id="nicepay00m")) == (
        "pg_id is 'nicepay00m', not a live MID of the window channel (win01m)",
    )
    assert reasons(o, payment(card_quota=6)) == ("card_quota is 6, offered 0, 2, 3",)
    assert reasons(o, payment(escrow=True)) == ("escrow is True, offered False",)
    assert reasons(o, payment(pay_method="point", emb_pg_provider="kakaopay")) == (
        "pay_method is 'kakaopay', offered card",
    )
    # A MID not configured is not checked: the policy says so, not the payment.
    assert verify(o, payment(pg_id="nicepay00m"), Policy()).ok


def test_an_easy_pay_reported_as_point_is_taken_by_its_brand() -> None:
    o = order(terms=Offer(frozenset({"kakaopay"})).dumps())
    assert reasons(o, payment(pay_method="point", emb_pg_provider="kakaopay")) == ()


def test_a_billing_key_charge_is_held_to_the_api_mid_and_the_key_charged() -> None:
    o = order(origin="again", customer_uid="cust-1", pay_method="card")
    api = {"pg_id": "api01m", "customer_uid": "cust-1", "channel": "api"}
    assert reasons(o, payment(**api)) == ()
    assert reasons(o, payment(**{**api, "customer_uid": "cust-2"})) == (
        "customer_uid is 'cust-2', expected 'cust-1'",
    )
    assert reasons(o, payment(**{**api, "pg_id": "win01m"})) == (
        "pg_id is 'win01m', not a live MID of the api channel (api01m)",
    )
    assert reasons(o, payment(**{**api, "pay_method": "trans", "escrow": True})) == (
        "pay_method is 'trans', offered card",
        "escrow is True, offered False",
    )
    # The store's own key-in chooses its installments: they are not the buyer's.
    assert reasons(o, payment(**api, card_quota=12)) == ()
    # Only the store's server can pay through the API; a window payment of such an
    # order is a buyer's, through whatever MID the buyer named.
    assert reasons(o, payment(channel="pc", customer_uid="cust-1")) == (
        "paid in the payment window (pc), but the order is paid through the API "
        "(again)",
    )


def test_a_checkout_order_paid_by_the_store_s_key_in_is_held_to_the_api() -> None:
    o = order(terms=Offer(frozenset({"trans"}), frozenset(), frozenset()).dumps())
    keyed = payment(channel="api", pg_id="api01m", card_quota=6)
    assert reasons(o, keyed) == ()
    assert reasons(o, payment(channel="api", pg_id="win01m")) == (
        "pg_id is 'win01m', not a live MID of the api channel (api01m)",
    )


def test_portone_s_word_that_no_money_moved_is_a_mismatch_unconfigured_too() -> None:
    verdict = verify(order(), payment(sandbox=True), Policy())
    assert verdict.reasons == ("paid through a test-mode channel (sandbox is true)",)


def test_a_usd_order_is_held_to_the_usd_channel_when_there_is_one() -> None:
    usd = Channel("usd", mids=frozenset({"usd01m"}))
    channels = Channels(CHANNELS.window, CHANNELS.api, usd)
    o = order(currency="USD", amount=Decimal(10))
    p = payment(currency="USD", amount=Decimal(10), pg_id="win01m")
    verdict = verify(o, p, Policy(channels=channels))
    assert verdict.reasons == (
        "pg_id is 'win01m', not a live MID of the usd channel (usd01m)",
    )
