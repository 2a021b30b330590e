"""The doors in celery mode: recorded, handed to a worker, answered at once.

No worker runs until a test starts one, so what a door did by itself is seen:
the row ``received`` and the message waiting in the queue. The buyer is sent to
the confirming page, which says "final" only once the worker has spoken.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_nicepay.config import ConfigurationError
from flask_nicepay.deferred import flush
from flask_nicepay.deferred import hand_off

from .knocks import View
from .knocks import knock
from .knocks import new_order
from .knocks import pay
from .stack import Shop
from .stack import outcomes
from .stack import settled
from .stack import wait_for
from .stack import workers


def _status(app: Flask, uid: str) -> dict[str, object]:
    return dict(app.test_client().get(f"/nicepay/orders/{uid}/status").json)


def test_the_completion_sends_the_buyer_to_the_confirming_page(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    view = pay(app, sandbox_url)
    uid = view.merchant_uid
    answer = knock(app, view, "pc")
    assert answer.status_code == 202
    assert answer.json["redirect"] == f"/nicepay/orders/{uid}/confirm"
    assert answer.json["outcome"] == "received"
    assert app.test_client().get(answer.json["redirect"]).status_code == 200
    assert outcomes(app) == {"received": 1}
    assert shop.queue_length(app) == 1
    assert _status(app, uid)["final"] is False
    with workers(shop):
        wait_for(lambda: settled(app), "the worker")
    assert _status(app, uid) == {
        "merchant_uid": uid,
        "state": "paid",
        "final": True,
        "redirect": f"/nicepay/orders/{uid}",
    }


def test_the_return_goes_to_the_confirming_page(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    view = pay(app, sandbox_url, channel="mobile")
    answer = knock(app, view, "mobile")
    assert answer.status_code == 302
    assert answer.location == f"/nicepay/orders/{view.merchant_uid}/confirm"
    assert outcomes(app) == {"received": 1}
    assert shop.queue_length(app) == 1


def test_a_window_closed_before_paying_stays_on_the_checkout(
    shop: Shop, app: Flask
) -> None:
    uid = new_order(app)
    closed = View(
        uid, {}, {"merchant_uid": uid, "error_msg": "사용자가 결제를 취소"}, {}
    )
    answer = knock(app, closed, "pc")
    assert answer.status_code == 202
    assert answer.json["retry"] is True
    assert answer.json["redirect"] is None
    assert answer.json["message"] == "사용자가 결제를 취소"
    query = {"merchant_uid": uid, "imp_success": "false", "error_msg": "취소"}
    back = knock(app, closed._replace(query=query), "mobile")
    assert back.status_code == 302
    assert back.location.startswith(f"/nicepay/checkout/{uid}?e=")
    assert shop.queue_length(app) == 2  # still recorded and processed


def test_a_second_attempt_is_not_final_until_the_worker_has_spoken(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    declined = pay(app, sandbox_url, outcome="decline")
    uid = declined.merchant_uid
    with workers(shop):
        knock(app, declined, "webhook")
        wait_for(lambda: settled(app), "the worker")
    assert _status(app, uid)["state"] == "failed"
    knock(app, pay(app, sandbox_url, uid), "pc")
    assert _status(app, uid) == {
        "merchant_uid": uid,
        "state": "failed",
        "final": False,  # the failure is old news: a notification is queued
        "redirect": None,
    }


def test_bad_input_is_refused_recorded_and_not_queued(shop: Shop, app: Flask) -> None:
    client = app.test_client()
    assert client.post("/nicepay/webhook", json={"imp_uid": "nope"}).status_code == 400
    assert client.post("/nicepay/complete", data=b"\xff", content_type="text/plain")
    assert client.get("/nicepay/return?merchant_uid=%00").status_code == 400
    assert client.get("/nicepay/webhook").status_code == 405
    assert outcomes(app) == {"invalid": 4}
    assert shop.queue_length(app) == 0


def test_a_row_that_cannot_be_written_is_a_5xx_and_nothing_is_queued(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    """The one 5xx of celery mode: nothing holds the notification, so the sender
    must be told to send it again."""
    view = pay(app, sandbox_url)
    engine = app.extensions["nicepay"].payments.engine
    with engine.begin() as conn:  # the inbox's table refuses every row
        conn.execute(sa.text("ALTER TABLE nicepay_inbox RENAME TO nicepay_inbox_away"))
    try:
        for door in ("webhook", "pc"):
            assert knock(app, view, door).status_code >= 500, door
        assert shop.queue_length(app) == 0
    finally:
        with engine.begin() as conn:
            conn.execute(
                sa.text("ALTER TABLE nicepay_inbox_away RENAME TO nicepay_inbox")
            )
    assert outcomes(app) == {}


def test_an_unknown_order_is_a_404_recorded_and_queued(shop: Shop, app: Flask) -> None:
    ghost = View("np-ghost-1", {}, {"merchant_uid": "np-ghost-1"}, {})
    assert knock(app, ghost, "pc").status_code == 404
    assert outcomes(app) == {"received": 1}
    assert shop.queue_length(app) == 1


@pytest.mark.slow
def test_a_task_delivered_again_after_processing_is_a_no_op(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    view = pay(app, sandbox_url)
    with workers(shop, concurrency=1) as [worker]:
        entry_id = knock(app, view, "webhook").json["inbox_id"]
        wait_for(lambda: settled(app), "the worker")
        with app.app_context():
            for _ in range(2):  # two messages, not one batch holding it twice
                assert hand_off(entry_id)
                assert flush()
        wait_for(lambda: worker.text().count("succeeded") == 3, "both again")
    entry = app.extensions["nicepay"].payments.inbox.get(entry_id)
    assert (entry.outcome, entry.attempts) == ("applied", 1)  # left as it was
    assert shop.signals() == {("payment_paid", view.merchant_uid): 1}


@pytest.mark.slow
def test_portone_down_for_good_is_retried_a_bounded_number_of_times(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    view = pay(app, sandbox_url)
    fault = {"kind": "503", "path": "/payments/*", "method": "GET", "times": 1000}
    shop.control(sandbox_url, "/_sandbox/faults", fault)
    with workers(shop, concurrency=1) as [worker]:
        entry_id = knock(app, view, "webhook").json["inbox_id"]
        wait_for(lambda: "still unreachable" in worker.text(), "the last retry", 90)
    entry = app.extensions["nicepay"].payments.inbox.get(entry_id)
    assert (entry.outcome, entry.attempts) == ("error", 6)  # once, then 5 retries
    pauses = re.findall(r"Retry in ([0-9.]+)s", worker.text())
    assert [float(seconds) for seconds in pauses] == [0.25, 0.5, 1, 2, 4]


def test_processing_is_a_checked_choice(shop: Shop) -> None:
    shop.settings["processing"] = "queue"
    with pytest.raises(ConfigurationError, match="NICEPAY_PROCESSING must be one of"):
        shop.app()


def test_a_row_answered_before_processing_is_committed_to_disk(
    shop: Shop, app: Flask, sandbox_url: str
) -> None:
    """Inline mode lets a row still to be processed skip the wait for the disk (the
    write that ends its processing, before the answer, makes it durable). In celery
    mode the answer comes first, so the row's own commit must wait."""
    view = pay(app, sandbox_url)
    engine = app.extensions["nicepay"].payments.engine
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        assert knock(app, view, "webhook").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert inserts, statements
    assert not any("synchronous_commit" in s for s in inserts), inserts
