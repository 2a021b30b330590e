"""Every console action: what it changes, that it is the CLI's own call, and
that it is recorded with who did it, however it ended."""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from flask_nicepay import OrderState
from flask_nicepay import tables
from flask_nicepay.console import Console
from flask_nicepay.portone import Card
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.subscription_plan import Monthly
from flask_nicepay.subscription_plan import Plan

from .consoleshop import Operator
from .consoleshop import actions
from .consoleshop import console_app
from .test_cli import run
from .test_console_orders import seed
from .webshop import AppFactory
from .webshop import checkout_new_order
from .webshop import get_order
from .webshop import inbox
from .webshop import issue_overdue_vbank
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import paid_order
from .webshop import portone_down
from .webshop import state
from .webshop import vbank_order

CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return console_app(make_app)


def _refund(operator: Operator, uid: str, **form: str) -> t.Any:
    """Post the order page's refund form."""
    return operator.post(f"/orders/{uid}/refund", form)


def _last(app: Flask) -> dict[str, t.Any]:
    return actions(app)[-1]


# -- refunds -----------------------------------------------------------------------


@on_both_databases
def test_a_partial_then_a_full_refund(app: Flask, sandbox: Sandbox) -> None:
    uid, _ = paid_order(app, 30_000)
    operator = Operator(app)

    done = _refund(operator, uid, amount="10,000", reason="부분 환불")

    assert done.status_code == 303
    assert get_order(app, uid).state is OrderState.PARTIALLY_CANCELLED
    page = operator.get(done.location.removeprefix("/nicepay/console")).get_data(
        as_text=True
    )
    assert 'data-outcome="succeeded"' in page
    record = _last(app)
    assert (record["actor"], record["action"], record["target"]) == (
        "kim",
        "refund",
        uid,
    )
    assert json.loads(record["detail"]) == {
        "amount": "10000",
        "reason": "부분 환불",
        "state": "partially_cancelled",
    }

    assert _refund(operator, uid).status_code == 303  # no amount: all that is left
    assert get_order(app, uid).state is OrderState.CANCELLED
    imp_uid = get_order(app, uid).imp_uid
    assert sandbox.payment(imp_uid)["cancel_amount"] == 30_000  # type: ignore[index]


def test_tax_free_and_vat_parts_go_to_portone(app: Flask, sandbox: Sandbox) -> None:
    uid, _ = paid_order(app, 30_000, tax_free=3_000)
    operator = Operator(app)

    refused = _refund(operator, uid, amount="10000")
    assert refused.status_code == 409
    assert "NICE needs tax_free" in refused.get_data(as_text=True)
    assert _last(app)["outcome"] == "refused"

    done = _refund(operator, uid, amount="10000", tax_free="1000", vat_amount="818")
    assert done.status_code == 303
    [row] = state(app).payments.orders.refunds_of(uid)
    assert row.amount == 10_000 and row.status == "succeeded"
    with state(app).payments.engine.connect() as conn:
        parts = conn.execute(
            sa.select(tables.refunds.c.tax_free, tables.refunds.c.vat_amount)
        ).one()
    assert parts == (1_000, 818)


def test_a_paid_virtual_account_is_refunded_to_the_account_given(app: Flask) -> None:
    uid, _ = vbank_order(app, deposit=True)
    operator = Operator(app)
    page = operator.page(f"/orders/{uid}")
    assert page.find(name="refund_account")

    assert _refund(operator, uid, amount="5000").status_code == 409  # no account
    assert (
        _refund(operator, uid, amount="5000", refund_holder="홍길동").status_code == 400
    )

    done = _refund(
        operator,
        uid,
        amount="5000",
        refund_holder="홍길동",
        refund_bank="004",
        refund_account="12345678901234",
    )

    assert done.status_code == 303
    assert get_order(app, uid).state is OrderState.PARTIALLY_CANCELLED
    detail = _last(app)["detail"]
    assert "12345678901234" not in detail  # only the last digits are kept
    assert json.loads(detail)["refund_account"] == "004 …1234"


@pytest.mark.parametrize(
    "form",
    [
        {"amount": "abc"},
        {"amount": "0"},
        {"amount": "-5"},
        {"amount": "1.234"},
        {"amount": "NaN"},
        {"tax_free": "Infinity"},
        {"reason": "x" * 201},
        {"refund_holder": "a", "refund_bank": "4", "refund_account": "123456"},
    ],
)
def test_a_refund_form_it_cannot_read_is_a_400(
    app: Flask, form: dict[str, str]
) -> None:
    uid, _ = paid_order(app, 30_000)
    response = _refund(Operator(app), uid, **form)
    assert response.status_code == 400
    assert get_order(app, uid).state is OrderState.PAID


def test_refusals_and_portone_failures_are_recorded(
    app: Flask, sandbox: Sandbox
) -> None:
    operator = Operator(app)
    assert _refund(operator, "np-nobody", amount="1").status_code == 404
    unpaid = new_order(app)
    assert _refund(operator, unpaid, amount="1000").status_code == 409
    uid, _ = paid_order(app, 30_000)
    assert _refund(operator, uid, amount="99999").status_code == 409
    sandbox.inject_fault("503", times=20)
    down = _refund(operator, uid, amount="1000")
    assert down.status_code == 502
    sandbox.clear_faults()
    outcomes = [(a["target"], a["outcome"]) for a in actions(app)]
    assert outcomes == [(unpaid, "refused"), (uid, "refused"), (uid, "failed")]
    assert actions(app)[-1]["error"].startswith("PortOne: ")


def _ledger(app: Flask, uid: str) -> list[dict[str, t.Any]]:
    """The order's ledger rows, without what differs between two orders."""
    kept = ("amount", "tax_free", "vat_amount", "checksum", "reason", "status",
            "source", "refund_bank", "refund_holder", "refund_account_masked",
            "error")  # fmt: skip
    table = tables.refunds
    query = sa.select(*(table.c[k] for k in kept)).where(table.c.merchant_uid == uid)
    with state(app).payments.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(table.c.id)).mappings()]


def _history(app: Flask, uid: str) -> list[tuple[str, str, str, str]]:
    return [
        (r["from_state"], r["to_state"], r["event"], r["source"])
        for r in state(app).payments.orders.history(uid)
    ]


@on_both_databases
def test_a_refund_from_the_console_equals_one_from_the_cli(app: Flask) -> None:
    by_cli, _ = paid_order(app, 30_000, tax_free=3_000)
    by_console, _ = paid_order(app, 30_000, tax_free=3_000)
    steps = [("10000", "1000", "부분"), (None, None, "나머지")]
    operator = Operator(app)
    for amount, tax_free, reason in steps:
        args = ["--reason", reason]
        form = {"reason": reason}
        if amount:
            args += ["--amount", amount, "--tax-free", str(tax_free)]
            form |= {"amount": amount, "tax_free": str(tax_free)}
        assert run(app, "cancel", by_cli, *args).exit_code == 0
        assert _refund(operator, by_console, **form).status_code == 303

    assert _ledger(app, by_console) == _ledger(app, by_cli)
    assert len(_ledger(app, by_cli)) == 2
    assert _history(app, by_console) == _history(app, by_cli)
    assert get_order(app, by_console).state is get_order(app, by_cli).state


# -- notifications, sync, reconcile -----------------------------------------------


def _failed_webhook(app: Flask, sandbox: Sandbox) -> tuple[str, int]:
    uid, _, _ = checkout_new_order(app, app.test_client(), sandbox)
    portone_down(sandbox)
    sandbox.deliver_webhooks()
    sandbox.clear_faults()
    [entry] = inbox(app, merchant_uid=uid)
    assert entry.outcome == "error"
    return uid, entry.id


@on_both_databases
def test_replay_of_a_failed_notification(app: Flask, sandbox: Sandbox) -> None:
    uid, entry_id = _failed_webhook(app, sandbox)
    operator = Operator(app)
    listed = operator.page("/notifications")
    assert listed.find(data_testid=f"replay-{entry_id}")
    story = operator.page(f"/orders/{uid}")
    assert story.find(data_testid=f"replay-{entry_id}")

    done = operator.post(f"/notifications/{entry_id}/replay", {"back": "order"})

    assert done.status_code == 303
    assert done.location.startswith(f"/nicepay/console/orders/{uid}?action=")
    assert get_order(app, uid).state is OrderState.PAID
    assert inbox(app, merchant_uid=uid)[0].outcome == "applied"
    record = _last(app)
    assert (record["action"], record["outcome"]) == ("replay", "succeeded")
    assert json.loads(record["detail"]) == {
        "notification": entry_id,
        "result": "applied",
    }
    assert operator.post("/notifications/999/replay").status_code == 404


def test_a_replay_that_fails_again_is_recorded_as_an_error(
    app: Flask, sandbox: Sandbox
) -> None:
    uid, entry_id = _failed_webhook(app, sandbox)
    portone_down(sandbox)
    done = Operator(app).post(f"/notifications/{entry_id}/replay")
    assert done.location.startswith("/nicepay/console/notifications?action=")
    assert _last(app)["outcome"] == "failed"
    assert get_order(app, uid).state is OrderState.READY


def test_reconcile_and_sync_bring_orders_in_line(app: Flask, sandbox: Sandbox) -> None:
    lost, _, _ = checkout_new_order(app, app.test_client(), sandbox)
    other, _, _ = checkout_new_order(app, app.test_client(), sandbox)
    # Their webhooks wait in the sandbox: both orders still say ready.
    operator = Operator(app)

    assert operator.post(f"/orders/{lost}/sync").status_code == 303
    assert get_order(app, lost).state is OrderState.PAID
    assert json.loads(_last(app)["detail"]) == {"state": "paid"}

    started = operator.post("/reconcile")
    assert started.status_code == 303
    run_id = started.location.split("/reconcile/")[1].split("?")[0]
    assert operator.post(f"/reconcile/{run_id}/next", {"after": "0"}).status_code == 303
    assert get_order(app, other).state is OrderState.PAID
    run = next(a for a in actions(app) if a["action"] == "reconcile")
    assert run["outcome"] == "succeeded"
    detail = json.loads(run["detail"])
    assert (detail["total"], detail["orders"], detail["changed"]) == (1, 1, 1)


def test_the_story_shows_portone_s_record_on_request(
    app: Flask, sandbox: Sandbox
) -> None:
    uid, _ = paid_order(app, 30_000)
    operator = Operator(app)
    _refund(operator, uid, amount="4000")
    plain = operator.get(f"/orders/{uid}").get_data(as_text=True)
    assert 'data-testid="portone"' not in plain

    page = operator.page(f"/orders/{uid}?portone=1")

    assert page.by_testid("portone-status") == "cancelled"  # also when in part
    assert page.by_testid("portone-cancel-amount") == "4,000"
    kinds = [a["data-kind"] for tag, a in page.tags if a.get("data-testid") == "event"]
    # The action is written as it starts, before the refund it asks for.
    assert kinds == ["notification", "transition", "action", "refund", "transition"]

    portone_down(sandbox)
    down = operator.page(f"/orders/{uid}?portone=1")
    assert down.by_testid("portone-problem")


# -- virtual accounts ------------------------------------------------------------


def _vbank_rows(page: t.Any) -> list[str]:
    return [
        str(attrs["data-merchant-uid"])
        for _, attrs in page.tags
        if attrs.get("data-testid") == "vbank-row"
    ]


@on_both_databases
def test_virtual_accounts_awaiting_deposit_nearest_deadline_first(app: Flask) -> None:
    now = state(app).payments.clock()
    later = seed(app, 1, start=1, state="vbank_issued", vbank_num="111-222",
                 vbank_due=now + dt.timedelta(days=3))  # fmt: skip
    past = seed(app, 1, start=2, state="vbank_issued", vbank_num="333-444",
                vbank_due=now - dt.timedelta(hours=1))  # fmt: skip
    soon = seed(app, 1, start=3, state="vbank_issued", vbank_num="555-666",
                vbank_due=now + dt.timedelta(hours=2))  # fmt: skip
    seed(app, 1, start=4, state="paid")
    page = Operator(app).page("/vbanks")
    assert _vbank_rows(page) == past + soon + later
    assert page.source.count('data-testid="overdue"') == 1


def test_overdue_virtual_accounts_are_expired(behind: tuple[Flask, Sandbox]) -> None:
    app, box = behind
    Console(app, guard=lambda request: "kim")
    overdue, _ = issue_overdue_vbank(app, box)
    operator = Operator(app)
    assert _vbank_rows(operator.page("/vbanks")) == [overdue]

    assert operator.post("/vbanks/expire").status_code == 303

    assert get_order(app, overdue).state is OrderState.EXPIRED
    assert json.loads(_last(app)["detail"]) == {"expired": [overdue]}
    assert _vbank_rows(operator.page("/vbanks")) == []


# -- billing keys and subscriptions ---------------------------------------------


@on_both_databases
def test_a_billing_key_is_deleted(app: Flask, sandbox: Sandbox) -> None:
    with app.app_context():
        state(app).payments.billing.issue_key("cust-1", CARD)
    operator = Operator(app)
    page = operator.page("/keys")
    assert page.find(data_testid="delete-cust-1")
    assert "4242-4242-4242-4242" not in page.source

    done = operator.post("/keys/cust-1/delete", {"reason": "탈퇴"})

    assert done.status_code == 303
    assert state(app).payments.billing.get_key("cust-1").status == "deleted"  # type: ignore[union-attr]
    assert (_last(app)["action"], _last(app)["target"]) == ("delete_key", "cust-1")
    assert operator.post("/keys/nobody/delete").status_code == 404


@on_both_databases
def test_subscriptions_are_cancelled_at_period_end_or_at_once(app: Flask) -> None:
    payments = state(app).payments
    plan = Plan(name="월간", amount=9_900, interval=Monthly())
    with app.app_context():
        payments.billing.issue_key("cust-a", CARD)
        payments.billing.issue_key("cust-b", CARD)
        later = payments.subscriptions.start("cust-a", plan, subscription_uid="sub-a")
        now = payments.subscriptions.start("cust-b", plan, subscription_uid="sub-b")
    assert later.status.value == now.status.value == "active"
    operator = Operator(app)
    assert operator.page("/subscriptions").find(data_testid="cancel-1-sub-a")

    assert (
        operator.post("/subscriptions/sub-a/cancel", {"at_period_end": "1"}).status_code
        == 303
    )
    assert (
        operator.post("/subscriptions/sub-b/cancel", {"at_period_end": "0"}).status_code
        == 303
    )

    with app.app_context():
        a = payments.subscriptions.get("sub-a")
        b = payments.subscriptions.get("sub-b")
    assert a is not None and b is not None
    assert (a.status.value, a.cancel_at_period_end) == ("active", True)
    assert b.status.value == "cancelled"
    assert [json.loads(r["detail"]) for r in actions(app)] == [
        {"at_period_end": True, "status": "active"},
        {"at_period_end": False, "status": "cancelled"},
    ]
    assert operator.post("/subscriptions/sub-none/cancel").status_code == 404
    assert operator.get("/subscriptions?status=bogus").status_code == 400


@on_both_databases
def test_a_subscription_price_is_changed_from_the_next_period(app: Flask) -> None:
    payments = state(app).payments
    plan = Plan(name="월간", amount=9_900, interval=Monthly())
    with app.app_context():
        payments.billing.issue_key("cust-a", CARD)
        sub = payments.subscriptions.start("cust-a", plan, subscription_uid="sub-a")
    operator = Operator(app)
    assert operator.page("/subscriptions").find(data_testid="change-plan-sub-a")

    form = {"amount": "12,900", "name": "", "tax_free": "0", "vat_amount": ""}
    assert operator.post("/subscriptions/sub-a/plan", form).status_code == 303

    with app.app_context():
        changed = payments.subscriptions.get("sub-a")
        [first, revoked, nxt] = payments.subscriptions.charges("sub-a")
    assert changed is not None
    assert (changed.amount, changed.name, changed.tax_free) == (12_900, "월간", 0)
    assert changed.vat_amount is None
    assert (first.amount, first.state) == (9_900, "paid")
    assert (revoked.merchant_uid, revoked.state) == (
        sub.pending_merchant_uid,
        "cancelled",
    )
    assert (nxt.merchant_uid, nxt.amount) == (changed.pending_merchant_uid, 12_900)
    assert json.loads(_last(app)["detail"]) == {
        "from": "9900",
        "amount": "12900",
        "name": "월간",
        "tax_free": "0",
        "next_charge": nxt.merchant_uid,
    }
    assert (_last(app)["action"], _last(app)["outcome"]) == ("change_plan", "succeeded")

    for bad in (
        {},
        {"amount": "abc"},
        {"amount": "0"},
        {"amount": "NaN"},
        {"amount": "1000", "tax_free": "2000"},
        {"amount": "1000", "vat_amount": "-1"},
        {"amount": "1000", "tax_free": "600", "vat_amount": "500"},
        {"amount": "1000", "name": "x" * 201},
    ):
        assert operator.post("/subscriptions/sub-a/plan", bad).status_code == 400, bad
    assert operator.post("/subscriptions/sub-none/plan", form).status_code == 404
    with app.app_context():
        payments.subscriptions.cancel("sub-a", at_period_end=False)
    assert operator.post("/subscriptions/sub-a/plan", form).status_code == 409
    with app.app_context():
        assert payments.subscriptions.get("sub-a").amount == 12_900  # type: ignore[union-attr]
