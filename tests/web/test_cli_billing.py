"""``flask nicepay billing keys|show|delete``."""

from __future__ import annotations

import datetime as dt

from click.testing import Result
from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay.portone import Card
from flask_nicepay.sandbox import Sandbox

CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")


def run(app: Flask, *args: str, input: str | None = None) -> Result:
    result = app.test_cli_runner().invoke(
        args=["nicepay", "billing", *args], input=input
    )
    assert "Traceback" not in result.output
    return result


def _two_keys(app: Flask, nicepay: NicePay) -> str:
    with app.app_context():
        nicepay.billing.issue_key("cust-a", CARD)
        nicepay.billing.issue_key("cust-b", CARD)
        nicepay.billing.delete_key("cust-b")
        order = nicepay.billing.charge("cust-a", 9_900, "월 구독")
        when = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
        nicepay.billing.schedule("cust-a", [(when, 9_900, "다음 달")])
        return order.merchant_uid


def test_keys_lists_every_key_masked(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    _two_keys(app, nicepay)
    every = run(app, "keys")
    assert every.exit_code == 0
    assert "cust-a  active" in every.output and "cust-b  deleted" in every.output
    assert "4242424242424242" not in every.output.replace("-", "")
    assert all(line.endswith(" KST") for line in every.output.splitlines())
    active = run(app, "keys", "--status", "active")
    assert "cust-a" in active.output and "cust-b" not in active.output
    assert run(app, "keys", "--status", "lost").exit_code == 2


def test_show_gives_the_key_and_its_orders(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    charged = _two_keys(app, nicepay)
    shown = run(app, "show", "cust-a")
    assert shown.exit_code == 0
    assert "Orders (2):" in shown.output
    assert charged in shown.output and "paid" in shown.output
    assert "schedule" in shown.output and "scheduled " in shown.output
    scheduled = [line for line in shown.output.splitlines() if "scheduled " in line]
    assert scheduled and all(line.endswith(" KST") for line in scheduled)
    [created] = [line for line in shown.output.splitlines() if "created_at" in line]
    assert created.endswith(" KST")
    missing = run(app, "show", "nobody")
    assert missing.exit_code == 1 and "No billing key 'nobody'" in missing.output


def test_delete_asks_first_then_deletes_at_portone(
    app: Flask, nicepay: NicePay, sandbox: Sandbox
) -> None:
    _two_keys(app, nicepay)
    kept = run(app, "delete", "cust-a", input="n\n")
    assert kept.exit_code == 1  # aborted
    with app.app_context():
        assert nicepay.billing.get_key("cust-a").status == "active"  # type: ignore[union-attr]

    deleted = run(app, "delete", "cust-a", "--yes", "--reason", "고객 요청")
    assert deleted.exit_code == 0 and "cust-a: deleted" in deleted.output
    with app.app_context():
        assert nicepay.billing.get_key("cust-a").status == "deleted"  # type: ignore[union-attr]
    assert run(app, "delete", "nobody", "--yes").exit_code == 1
