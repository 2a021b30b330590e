"""POST /webhook: PortOne's hint, from allowed addresses, verified with the API."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import OrderState
from flask_nicepay import testing
from flask_nicepay.config import PORTONE_WEBHOOK_IPS
from flask_nicepay.sandbox import Sandbox

from .webshop import PORTONE_IP
from .webshop import AppFactory
from .webshop import LiveFactory
from .webshop import Relay
from .webshop import checkout_new_order
from .webshop import get_order
from .webshop import inbox
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import paid_order
from .webshop import portone_down
from .webshop import replay
from .webshop import state
from .webshop import vbank_order


def hook(client: FlaskClient, remote_addr: str = PORTONE_IP, **kwargs: t.Any) -> t.Any:
    environ = {"REMOTE_ADDR": remote_addr}
    return client.post("/nicepay/webhook", environ_base=environ, **kwargs)


def test_json_webhook_pays_the_order_once(app: Flask, sandbox: Sandbox) -> None:
    uid = new_order(app)
    sandbox.inject_webhook_fault("duplicate", copies=3)
    testing.pay(uid, deliver=False, app=app)

    deliveries = testing.deliver_webhooks(app)

    assert [d.status for d in deliveries] == [200, 200, 200]
    assert deliveries[0].content_type == "application/json"
    assert get_order(app, uid).state is OrderState.PAID
    outcomes = [e.outcome for e in inbox(app, merchant_uid=uid)]
    assert outcomes == ["applied", "noop", "noop"]
    assert [e.kind for e in inbox(app)] == ["webhook"] * 3
    assert len(state(app).payments.orders.history(uid)) == 1


def test_answer_names_the_outcome_and_the_inbox_row(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, payment = checkout_new_order(app, client, sandbox)
    response = hook(
        client,
        json={"imp_uid": payment["imp_uid"], "merchant_uid": uid, "status": "paid"},
    )
    assert response.status_code == 200
    [entry] = inbox(app)
    assert response.json == {"outcome": "applied", "inbox_id": entry.id}
    assert entry.dedupe_key is not None and entry.imp_uid == payment["imp_uid"]


def test_form_webhook(app: Flask, client: FlaskClient, sandbox: Sandbox) -> None:
    uid, _, payment = checkout_new_order(app, client, sandbox)
    response = hook(
        client,
        data={"imp_uid": payment["imp_uid"], "merchant_uid": uid, "status": "paid"},
    )
    assert response.status_code == 200
    assert get_order(app, uid).state is OrderState.PAID
    [entry] = inbox(app)
    assert entry.content_type == "application/x-www-form-urlencoded"
    assert "imp_uid=" in entry.text


def test_the_status_in_the_body_is_not_believed(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    opened = sandbox.open_checkout({"merchant_uid": uid, "amount": 25_000})
    response = hook(
        client,
        json={"imp_uid": opened["imp_uid"], "merchant_uid": uid, "status": "paid"},
    )
    assert response.status_code == 200
    assert get_order(app, uid).state is OrderState.READY


def test_console_cancel_and_vbank_deposit_arrive_by_webhook(
    app: Flask, sandbox: Sandbox
) -> None:
    paid, payment = paid_order(app)
    sandbox.console_cancel(payment["imp_uid"], 5_000)
    testing.deliver_webhooks(app)
    assert get_order(app, paid).state is OrderState.PARTIALLY_CANCELLED

    vbank, _ = vbank_order(app)
    assert get_order(app, vbank).state is OrderState.VBANK_ISSUED
    testing.deposit(vbank, app=app)
    assert get_order(app, vbank).state is OrderState.PAID


# -- PortOne unreachable: 5xx so that a retry comes --------------------------------


@pytest.mark.parametrize("fault", ["500", "503", "disconnect"])
def test_portone_unreachable_is_a_503_and_kept(
    app: Flask, client: FlaskClient, sandbox: Sandbox, fault: str
) -> None:
    uid, _, _ = checkout_new_order(app, client, sandbox)
    portone_down(sandbox, fault)

    [delivery] = sandbox.deliver_webhooks()

    assert delivery.status == 503
    assert get_order(app, uid).state is OrderState.READY
    [entry] = inbox(app)
    assert entry.outcome == "error" and entry.error

    sandbox.clear_faults()
    assert replay(app, entry.id) == "applied"
    assert get_order(app, uid).state is OrderState.PAID


def test_error_body_explains_the_503(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, payment = checkout_new_order(app, client, sandbox)
    portone_down(sandbox)
    response = hook(client, json={"imp_uid": payment["imp_uid"], "merchant_uid": uid})
    assert response.status_code == 503
    assert response.json["outcome"] == "error"  # type: ignore[index]
    assert "503" in response.json["error"]  # type: ignore[index]


# -- payments for orders we do not have --------------------------------------------


def test_unknown_order_is_kept_and_answered_200(
    make_app: AppFactory,
) -> None:
    app = make_app({"NICEPAY_PREPARE": False})
    box = testing.sandbox_of(app)
    payment = box.checkout(
        "foreign-0001", 12_000, notice_url="http://localhost/nicepay/webhook"
    )

    [delivery] = box.deliver_webhooks()

    assert delivery.status == 200
    [entry] = inbox(app)
    assert entry.outcome == "unknown_order"
    assert entry.merchant_uid == "foreign-0001" and entry.imp_uid == payment["imp_uid"]

    # The store's order shows up later (say, a slow write): a replay applies it.
    new_order(app, 12_000, merchant_uid="foreign-0001")
    assert replay(app, entry.id) == "applied"
    assert get_order(app, "foreign-0001").state is OrderState.PAID


def test_unknown_order_with_webhook_retries_is_a_503(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_WEBHOOK_RETRIES": True})
    box = testing.sandbox_of(app)
    box.checkout("foreign-0002", 12_000, notice_url="http://localhost/nicepay/webhook")
    [delivery] = box.deliver_webhooks()
    assert delivery.status == 503
    assert [e.outcome for e in inbox(app)] == ["unknown_order"]


# -- bad payloads: 400, recorded ------------------------------------------------------

BAD = [
    (
        "no imp_uid",
        {"json": {"merchant_uid": "np-1", "status": "paid"}},
        400,
        "imp_uid",
    ),
    ("imp_uid a list", {"json": {"imp_uid": ["imp_1"]}}, 400, "imp_uid"),
    ("imp_uid wrong shape", {"json": {"imp_uid": "IMP-1' OR 1=1"}}, 400, "imp_uid"),
    (
        "unknown status",
        {"json": {"imp_uid": "imp_123456789012", "status": "refunded"}},
        400,
        "status",
    ),
    (
        "merchant_uid wrong shape",
        {"json": {"imp_uid": "imp_123456789012", "merchant_uid": "a b"}},
        400,
        "merchant_uid",
    ),
    (
        "malformed JSON",
        {"data": b"{imp_uid: 1}", "content_type": "application/json"},
        400,
        "JSON",
    ),
    ("JSON array", {"json": [1, 2]}, 400, "JSON object"),
    ("empty", {}, 400, "Expected a JSON or form body"),
    (
        "xml",
        {"data": b"<imp_uid>1</imp_uid>", "content_type": "application/xml"},
        415,
        "Expected a JSON or form body",
    ),
    (
        "not at PortOne",
        {"json": {"imp_uid": "imp_000000000000", "merchant_uid": "np-1"}},
        400,
        "not at PortOne",
    ),
]


@on_both_databases
@pytest.mark.parametrize(
    ("kwargs", "status", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_payload_is_refused_and_recorded(
    app: Flask, client: FlaskClient, kwargs: dict[str, t.Any], status: int, words: str
) -> None:
    response = hook(client, **kwargs)
    assert response.status_code == status
    body = response.json
    assert body is not None
    assert words in (body.get("detail") or body.get("error") or "")
    [entry] = inbox(app)
    assert (entry.kind, entry.outcome, entry.remote_addr) == (
        "webhook",
        "invalid",
        PORTONE_IP,
    )
    assert words in (entry.error or "")


@on_both_databases
def test_wrong_method_and_huge_body(make_app: AppFactory) -> None:
    app = make_app({"NICEPAY_MAX_BODY": 1024})
    client = app.test_client()
    response = client.get("/nicepay/webhook")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    response = hook(client, json={"imp_uid": "imp_1", "padding": "x" * 2000})
    assert response.status_code == 413
    assert [(e.method, e.outcome) for e in inbox(app)] == [
        ("GET", "invalid"),
        ("POST", "invalid"),
    ]


# -- where a webhook may come from -------------------------------------------------


@pytest.fixture
def live(make_live_app: LiveFactory) -> Flask:
    return make_live_app()


def test_live_mode_accepts_portone_addresses_only(
    live: Flask, portone: Sandbox, relay: Relay
) -> None:
    client = live.test_client()
    uid, _, payment = checkout_new_order(live, client, portone)
    body = {"imp_uid": payment["imp_uid"], "merchant_uid": uid, "status": "paid"}

    for address in ("1.2.3.4", "10.0.0.1", "127.0.0.1", "52.78.100.20"):
        response = hook(client, address, json=body)
        assert response.status_code == 403, address
        assert "NICEPAY_WEBHOOK_ALLOWLIST" in response.json["detail"]  # type: ignore[index]
    assert get_order(live, uid).state is OrderState.READY  # nothing was looked up
    refused = inbox(live)
    assert [(e.outcome, e.remote_addr) for e in refused] == [
        ("invalid", "1.2.3.4"),
        ("invalid", "10.0.0.1"),
        ("invalid", "127.0.0.1"),
        ("invalid", "52.78.100.20"),
    ]
    assert all("imp_uid" in e.text for e in refused)

    # PortOne's own delivery, from its address, is accepted.
    [delivery] = portone.deliver_webhooks()
    assert delivery.status == 200
    assert get_order(live, uid).state is OrderState.PAID
    for address in PORTONE_WEBHOOK_IPS:
        assert hook(client, address, json=body).status_code == 200


def test_forwarded_for_is_ignored_without_trusted_proxies(live: Flask) -> None:
    response = hook(
        live.test_client(),
        "10.0.0.1",
        json={"imp_uid": "imp_123456789012"},
        headers={"X-Forwarded-For": PORTONE_IP},
    )
    assert response.status_code == 403
    assert inbox(live)[0].remote_addr == "10.0.0.1"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "status", "seen"),
    [
        (1, PORTONE_IP, 400, PORTONE_IP),
        (1, "1.2.3.4", 403, "1.2.3.4"),
        (1, f"{PORTONE_IP}, 1.2.3.4", 403, "1.2.3.4"),  # a forged first hop
        (2, f"{PORTONE_IP}, 10.0.0.2", 400, PORTONE_IP),
        (2, f"1.2.3.4, {PORTONE_IP}, 10.0.0.2", 400, PORTONE_IP),
        (2, PORTONE_IP, 403, "10.0.0.1"),  # fewer hops than proxies: the proxy
        (1, "", 403, "10.0.0.1"),
        (1, "not-an-address", 403, "not-an-address"),
    ],
)
def test_forwarded_for_with_trusted_proxies(
    make_live_app: LiveFactory, proxies: int, forwarded: str, status: int, seen: str
) -> None:
    app = make_live_app({"NICEPAY_TRUSTED_PROXIES": proxies})
    response = hook(
        app.test_client(),
        "10.0.0.1",
        # Well-formed but not at PortOne: 400 once the address is accepted.
        json={"imp_uid": "imp_000000000000"},
        headers={"X-Forwarded-For": forwarded},
    )
    assert response.status_code == status
    assert inbox(app)[0].remote_addr == seen


def test_sandbox_mode_accepts_any_address_unless_told(
    make_app: AppFactory,
) -> None:
    open_app = make_app()
    assert (
        hook(open_app.test_client(), "1.2.3.4", json={"imp_uid": "imp_1"}).status_code
        == 400
    )
    closed = make_app({"NICEPAY_WEBHOOK_ALLOWLIST": ["10.1.0.0/16"]})
    client = closed.test_client()
    assert hook(client, "1.2.3.4", json={"imp_uid": "imp_1"}).status_code == 403
    assert hook(client, "10.1.2.3", json={"imp_uid": "imp_1"}).status_code == 400


def test_live_allowlist_can_be_switched_off(make_live_app: LiveFactory) -> None:
    app = make_live_app({"NICEPAY_WEBHOOK_ALLOWLIST": False})
    assert state(app).settings.webhook_allowlist == ()
    response = hook(app.test_client(), "1.2.3.4", json={"imp_uid": "imp_000000000000"})
    assert response.status_code == 400  # looked up, and not at PortOne
