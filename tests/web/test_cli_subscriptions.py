"""``flask nicepay subscriptions list|show|cancel|run-due``."""

from __future__ import annotations

from click.testing import Result
from flask import Flask

from flask_nicepay import Monthly
from flask_nicepay import NicePay
from flask_nicepay import Plan
from flask_nicepay.portone import Card
from flask_nicepay.sandbox import Sandbox

CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
PLAN = Plan(name="월간 구독", amount=9_900, interval=Monthly(day=31))


def run(app: Flask, *args: str, input: str | None = None) -> Result:
    result = app.test_cli_runner().invoke(
        args=["nicepay", "subscriptions", *args], input=input
    )
    assert "Traceback" not in result.output
    return result


def two(app: Flask, nicepay: NicePay) -> tuple[str, str]:
    with app.app_context():
        nicepay.billing.issue_key("cust-a", CARD)
        nicepay.billing.issue_key(
            "cust-b", Card("4000-0000-0000-0341", "2030-12", "900101", "12")
        )
        paid = nicepay.subscriptions.start("cust-a", PLAN, subscription_uid="sub-a")
        declined = nicepay.subscriptions.start("cust-b", PLAN, subscription_uid="sub-b")
    return paid.subscription_uid, declined.subscription_uid


def test_list_and_show(app: Flask, nicepay: NicePay, sandbox: Sandbox) -> None:
    two(app, nicepay)
    listed = run(app, "list")
    assert listed.exit_code == 0
    assert listed.output.index("sub-b") < listed.output.index("sub-a")
    assert "active" in listed.output and "incomplete" in listed.output
    assert "9,900 KRW" in listed.output and "KST" in listed.output
    only = run(app, "list", "--status", "incomplete")
    assert "sub-b" in only.output and "sub-a" not in only.output
    assert run(app, "list", "--customer", "nobody").output == "No subscriptions.\n"
    assert run(app, "list", "--status", "nonsense").exit_code == 2
    shown = run(app, "show", "sub-a")
    assert shown.exit_code == 0
    assert "monthly on day 31" in shown.output
    assert "Charges (2):" in shown.output
    assert "1.0" in shown.output and "2.0" in shown.output
    assert "4242-4242-4242-4242" not in shown.output
    declined = run(app, "show", "sub-b")
    assert "잔액부족" in declined.output
    missing = run(app, "show", "sub-x")
    assert missing.exit_code == 1 and "No subscription 'sub-x'" in missing.output


def test_cancel_asks_then_ends_at_period_end_or_now(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    two(app, nicepay)
    refused = run(app, "cancel", "sub-a", input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    with app.app_context():
        assert nicepay.subscriptions.get("sub-a").pending_merchant_uid  # type: ignore[union-attr]
    later = run(app, "cancel", "sub-a", input="y\n")
    assert later.exit_code == 0 and "sub-a: active, ends" in later.output
    now = run(app, "cancel", "sub-a", "--now", "--yes")
    assert now.exit_code == 0 and "sub-a: cancelled" in now.output
    assert run(app, "cancel", "sub-x", "--yes").exit_code == 1


def test_run_due_reports_what_it_did(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    two(app, nicepay)
    with app.app_context():
        nicepay.subscriptions.cancel("sub-a")
    assert run(app, "run-due").output == "0 done, 0 failed.\n"  # not yet over
    # Started on some day, billed on the 31st: the first period runs past the
    # next month's 31st (or last day), at most two months.
    sandbox.advance_clock(62 * 86400)
    ended = run(app, "run-due")
    assert ended.exit_code == 0 and "sub-a: ended" in ended.output
    assert run(app, "run-due").output == "0 done, 0 failed.\n"


def test_change_plan_asks_then_charges_the_new_price_next(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    two(app, nicepay)
    refused = run(app, "change-plan", "sub-a", "--amount", "12900", input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert "12,900 KRW" in refused.output and "now 9,900 KRW" in refused.output
    with app.app_context():
        assert nicepay.subscriptions.get("sub-a").amount == 9_900  # type: ignore[union-attr]
    done = run(
        app,
        *("change-plan", "sub-a", "--amount", "11000", "--name", "인상"),
        *("--tax-free", "1000", "--vat-amount", "0", "--yes"),
    )
    assert done.exit_code == 0, done.output
    assert "11,000 KRW, 인상, tax-free 1,000, VAT 0" in done.output
    with app.app_context():
        sub = nicepay.subscriptions.get("sub-a")
        pending = nicepay.client.get_schedule(sub.pending_merchant_uid)  # type: ignore[union-attr]
    assert (pending.amount, pending.name) == (11_000, "인상")
    for bad in (["--amount", "0"], ["--amount", "x"], ["--tax-free", "-1"]):
        args = ["--amount", "100", *bad] if bad[0] != "--amount" else bad
        assert run(app, "change-plan", "sub-a", *args, "--yes").exit_code == 2
    over = run(app, "change-plan", "sub-a", "--amount", "100", "--tax-free", "200")
    assert over.exit_code == 2 and "tax_free" in over.output
    assert run(app, "change-plan", "sub-x", "--amount", "1", "--yes").exit_code == 1
    run(app, "cancel", "sub-a", "--now", "--yes")
    gone = run(app, "change-plan", "sub-a", "--amount", "1", "--yes")
    assert gone.exit_code == 1 and "cancelled" in gone.output
