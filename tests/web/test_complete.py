"""POST /complete: the PC callback's result, checked with PortOne before answering."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import OrderState
from flask_nicepay.inbox import MAX_STORED_BODY
from flask_nicepay.sandbox import CheckoutRefused
from flask_nicepay.sandbox import Sandbox

from .webshop import AppFactory
from .webshop import checkout_new_order
from .webshop import checkout_url
from .webshop import complete
from .webshop import completion_body
from .webshop import get_order
from .webshop import inbox
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import open_app
from .webshop import open_page
from .webshop import paid_order
from .webshop import portone_down
from .webshop import replay
from .webshop import state

CLOSED = "[결제포기] 사용자가 결제를 취소하셨습니다"


def test_paid_answers_with_the_result_page(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, payment = checkout_new_order(app, client, sandbox)

    response = complete(client, payment)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "merchant_uid": uid,
        "state": "paid",
        "outcome": "applied",
        "retry": False,
        "message": None,
        "redirect": f"/nicepay/orders/{uid}",
    }
    order = get_order(app, uid)
    assert order.state is OrderState.PAID and order.imp_uid == payment["imp_uid"]
    [entry] = inbox(app, merchant_uid=uid)
    assert (entry.kind, entry.outcome, entry.method) == ("pc", "applied", "POST")
    assert entry.hint_imp_uid == payment["imp_uid"] and entry.remote_addr == "127.0.0.1"
    assert json.loads(entry.text)["imp_uid"] == payment["imp_uid"]
    assert entry.hint_merchant_uid == uid

    # The webhook arrives afterwards and changes nothing.
    [delivery] = sandbox.deliver_webhooks()
    assert delivery.status == 200
    assert [e.outcome for e in inbox(app, merchant_uid=uid)] == ["applied", "noop"]
    assert len(state(app).payments.orders.history(uid)) == 1


def test_after_the_webhook_the_completion_is_a_noop(
    app: Flask, client: FlaskClient
) -> None:
    _, payment = paid_order(app)
    answer = complete(client, payment).json
    assert answer is not None
    assert (answer["state"], answer["outcome"]) == ("paid", "noop")


def test_store_success_page_is_where_the_buyer_goes(make_app: AppFactory) -> None:
    app, client, box = open_app(
        make_app, {"NICEPAY_SUCCESS_URL": "/shop/orders/{merchant_uid}"}
    )
    uid, _, payment = checkout_new_order(app, client, box)
    answer = complete(client, payment).json
    assert answer is not None and answer["redirect"] == f"/shop/orders/{uid}"


def test_declined_asks_for_another_try_with_the_reason(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, payment = checkout_new_order(
        app, client, sandbox, card_number="4000-0000-0000-9995"
    )
    assert payment["status"] == "failed"

    response = complete(client, payment)

    assert response.status_code == 200
    answer = response.json
    assert answer is not None
    assert answer["state"] == "failed" and answer["retry"] is True
    assert answer["message"] == "[3095]카드사 실패 응답(한도초과)"
    assert answer["redirect"] is None
    assert get_order(app, uid).fail_reason == "[3095]카드사 실패 응답(한도초과)"


def test_closed_window_keeps_the_order_payable(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    _, _, payment = checkout_new_order(app, client, sandbox, outcome="close")
    answer = complete(client, payment).json
    assert answer is not None
    assert (answer["state"], answer["retry"], answer["message"]) == (
        "ready",
        True,
        CLOSED,
    )


def test_window_refused_before_opening(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid = new_order(app)
    params = open_page(client, f"/nicepay/checkout/{uid}").request_pay["card"]
    with pytest.raises(CheckoutRefused) as refused:
        sandbox.open_checkout({**params, "amount": 100})  # a tampered page
    body = completion_body(refused.value)  # type: ignore[arg-type]
    assert body["imp_uid"] is None

    answer = client.post("/nicepay/complete", json=body).json
    assert answer is not None
    assert answer["state"] == "ready" and answer["retry"] is True
    assert "사전 등록된 결제금액" in answer["message"]
    [entry] = inbox(app, merchant_uid=uid)
    assert entry.kind == "pc" and entry.hint_imp_uid is None


def test_vbank_issued_goes_to_the_account_details(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, payment = checkout_new_order(app, client, sandbox, method="vbank")
    answer = complete(client, payment).json
    assert answer is not None
    assert answer["state"] == "vbank_issued" and answer["retry"] is False
    assert answer["redirect"] == f"/nicepay/orders/{uid}"
    assert get_order(app, uid).vbank_num == payment["vbank_num"]


def test_form_body_is_accepted(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, payment = checkout_new_order(app, client, sandbox)
    response = client.post(
        "/nicepay/complete", data={"imp_uid": payment["imp_uid"], "merchant_uid": uid}
    )
    assert response.status_code == 200 and response.json["state"] == "paid"  # type: ignore[index]
    [entry] = inbox(app)
    assert f"imp_uid={payment['imp_uid']}&merchant_uid=np-" in entry.text


def test_portone_unreachable_sends_the_buyer_to_the_confirming_page(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uid, _, payment = checkout_new_order(app, client, sandbox)
    portone_down(sandbox)

    response = complete(client, payment)

    assert response.status_code == 503
    answer = response.json
    assert answer is not None
    assert answer["outcome"] == "error" and answer["retry"] is False
    assert answer["redirect"] == f"/nicepay/orders/{uid}/confirm"
    assert get_order(app, uid).state is OrderState.READY
    [entry] = inbox(app, merchant_uid=uid)
    assert entry.outcome == "error" and "503" in (entry.error or "")

    # Nothing was lost: the stored notification is replayed once PortOne is back.
    sandbox.clear_faults()
    assert replay(app, entry.id) == "applied"
    assert get_order(app, uid).state is OrderState.PAID


@on_both_databases
def test_unknown_order_is_a_404_and_recorded(client: FlaskClient, app: Flask) -> None:
    response = client.post(
        "/nicepay/complete", json={"imp_uid": None, "merchant_uid": "np-nothing-here"}
    )
    assert response.status_code == 404
    assert response.json == {"error": "unknown_order", "detail": "No such order."}
    [entry] = inbox(app)
    assert entry.kind == "pc" and entry.hint_merchant_uid == "np-nothing-here"


# -- the hint is never trusted -----------------------------------------------------


def test_someone_elses_paid_imp_uid_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    mine = new_order(app)
    theirs, their_payment = paid_order(app)
    before = get_order(app, theirs)

    response = client.post(
        "/nicepay/complete",
        json={"imp_uid": their_payment["imp_uid"], "merchant_uid": mine},
    )

    assert response.status_code == 200
    answer = response.json
    assert answer is not None
    # The answer speaks of the order asked about, and reveals nothing of theirs.
    assert answer["merchant_uid"] == mine and answer["state"] == "ready"
    assert theirs not in response.get_data(as_text=True)
    assert answer["retry"] is True
    assert get_order(app, mine).state is OrderState.READY
    assert get_order(app, mine).imp_uid is None
    assert get_order(app, theirs).version == before.version


def test_someone_elses_pending_payment_lands_on_their_order_only(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    mine = new_order(app)
    theirs, _, their_payment = checkout_new_order(app, client, sandbox)

    client.post(
        "/nicepay/complete",
        json={"imp_uid": their_payment["imp_uid"], "merchant_uid": mine},
    )

    # PortOne says the payment is theirs: their order is paid, mine is untouched.
    assert get_order(app, theirs).state is OrderState.PAID
    assert get_order(app, mine).state is OrderState.READY
    assert [h["event"] for h in state(app).payments.orders.history(mine)] == []


# -- bad input: a clear 4xx, never a 500, and still recorded ------------------------

BAD_BODIES: list[tuple[str, dict[str, t.Any], int, str]] = [
    (
        "missing merchant_uid",
        {"json": {"imp_uid": "imp_123456789012"}},
        400,
        "merchant_uid",
    ),
    (
        "imp_uid a number",
        {"json": {"imp_uid": 12345, "merchant_uid": "np-1"}},
        400,
        "imp_uid",
    ),
    (
        "imp_uid wrong shape",
        {"json": {"imp_uid": "imp_<script>", "merchant_uid": "np-1"}},
        400,
        "imp_uid",
    ),
    (
        "imp_uid too long",
        {"json": {"imp_uid": "imp_" + "1" * 40, "merchant_uid": "np-1"}},
        400,
        "imp_uid",
    ),
    (
        "merchant_uid wrong shape",
        {"json": {"imp_uid": None, "merchant_uid": "../../etc/passwd"}},
        400,
        "merchant_uid",
    ),
    (
        "merchant_uid an object",
        {"json": {"imp_uid": None, "merchant_uid": {"$ne": 1}}},
        400,
        "merchant_uid",
    ),
    (
        "malformed JSON",
        {"data": b'{"merchant_uid": "np-1",', "content_type": "application/json"},
        400,
        "JSON",
    ),
    ("JSON array", {"json": [{"merchant_uid": "np-1"}]}, 400, "JSON object"),
    ("JSON string", {"json": "np-1"}, 400, "JSON object"),
    ("JSON null", {"data": b"null", "content_type": "application/json"}, 400, "JSON"),
    ("empty body", {}, 400, "Expected a JSON or form body"),
    (
        "plain text",
        {"data": b"merchant_uid=np-1", "content_type": "text/plain"},
        415,
        "Expected a JSON or form body",
    ),
    (
        "not UTF-8",
        {"data": b'{"merchant_uid": "\xff\xfe"}', "content_type": "application/json"},
        400,
        "JSON",
    ),
    (
        "error_msg too long",
        {"json": {"merchant_uid": "np-1", "error_msg": "x" * 501}},
        400,
        "error_msg",
    ),
]


@on_both_databases
@pytest.mark.parametrize(
    ("kwargs", "status", "words"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_bad_input_is_a_clear_4xx_and_recorded(
    app: Flask, client: FlaskClient, kwargs: dict[str, t.Any], status: int, words: str
) -> None:
    response = client.post("/nicepay/complete", **kwargs)

    assert response.status_code == status
    assert response.is_json
    assert response.json["error"] == "invalid"  # type: ignore[index]
    assert words in response.json["detail"]  # type: ignore[index]
    [entry] = inbox(app)
    assert (entry.kind, entry.outcome, entry.method) == ("pc", "invalid", "POST")
    assert words in (entry.error or "")
    assert entry.path == "/nicepay/complete"


def post_over_the_limit(make_app: AppFactory, **body: t.Any) -> tuple[t.Any, Flask]:
    """Post ``body`` to an app that takes 2048 bytes at the most; it answers 413."""
    app = make_app({"NICEPAY_MAX_BODY": 2048})
    response = app.test_client().post("/nicepay/complete", **body)
    assert response.status_code == 413
    return response, app


@on_both_databases
def test_body_over_the_limit_is_a_413_and_recorded(make_app: AppFactory) -> None:
    response, app = post_over_the_limit(
        make_app, json={"merchant_uid": "np-1", "error_msg": "x" * 5000}
    )
    assert response.json == {"error": "too_large", "detail": "body over 2048 bytes"}
    [entry] = inbox(app)
    assert (entry.kind, entry.outcome) == ("pc", "invalid")
    assert entry.error == "body over 2048 bytes"
    assert json.loads(entry.text)["error_msg"] == "x" * 5000  # kept, though refused


@on_both_databases
def test_a_huge_body_refused_keeps_its_start_masked(make_app: AppFactory) -> None:
    sent = b"\x00" * (MAX_STORED_BODY - 10) + b"4242424242424242" + b"\xff" * 70_000
    _, app = post_over_the_limit(
        make_app, data=sent, content_type="application/octet-stream"
    )
    [entry] = inbox(app)
    assert entry.body_truncated
    assert entry.body == b"\x00" * (MAX_STORED_BODY - 10) + b"**********"


@on_both_databases
def test_body_over_the_limit_on_a_form(make_app: AppFactory) -> None:
    _, app = post_over_the_limit(
        make_app, data={"merchant_uid": "np-1", "error_msg": "x" * 5000}
    )
    assert [e.outcome for e in inbox(app)] == ["invalid"]


@on_both_databases
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_wrong_method_is_a_405_with_allow(
    app: Flask, client: FlaskClient, method: str
) -> None:
    response = client.open("/nicepay/complete", method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json["error"] == "method"  # type: ignore[index]
    [entry] = inbox(app)
    assert (entry.kind, entry.outcome, entry.method) == ("pc", "invalid", method)


@on_both_databases
def test_head_is_a_405_and_options_is_answered(app: Flask, client: FlaskClient) -> None:
    head = client.open("/nicepay/complete", method="HEAD")
    assert head.status_code == 405 and head.headers["Allow"] == "POST"
    options = client.open("/nicepay/complete", method="OPTIONS")
    assert options.status_code == 200 and "POST" in options.headers["Allow"]
    assert [(e.method, e.outcome) for e in inbox(app)] == [("HEAD", "invalid")]


def test_checkout_page_wires_the_completion(app: Flask, client: FlaskClient) -> None:
    uid = new_order(app)
    page = open_page(client, checkout_url(app, uid, escrow=True))
    section = page.find(id="nicepay-checkout")
    assert section["data-complete-url"] == "/nicepay/complete"
    assert section["data-confirm-url"] == f"/nicepay/orders/{uid}/confirm"
