"""``flask nicepay schedules``: the table, ``--repair``, ``--revoke-unknown``,
``--json`` and the range options."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import Result
from flask import Flask

from flask_nicepay import OrderState
from flask_nicepay.portone import Card
from flask_nicepay.portone import ScheduleRequest
from flask_nicepay.sandbox import Sandbox

from .webshop import get_order
from .webshop import on_both_databases
from .webshop import state

CARD = Card("4242-4242-4242-4242", "2030-12", "900101", "12")
DAY = dt.timedelta(days=1)


def run(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["nicepay", "schedules", *args])
    assert "Traceback" not in result.output
    return result


def _gaps(app: Flask, sandbox: Sandbox) -> tuple[str, str]:
    """A revoked schedule and one nobody here expects; their merchant_uids."""
    now = dt.datetime.now(dt.UTC)
    payments = state(app).payments
    payments.billing.book.grace = dt.timedelta(0)  # the gaps are made at once
    with app.app_context():
        payments.billing.issue_key("cust-c", CARD)
        [order] = payments.billing.schedule("cust-c", [(now + 5 * DAY, 9_900, "구독")])
    payments.client.unschedule(merchant_uids=[order.merchant_uid])
    stray = ScheduleRequest(merchant_uid="stray-1", schedule_at=now + DAY, amount=1000)
    payments.client.schedule("cust-c", [stray])
    return order.merchant_uid, "stray-1"


def test_agreeing_schedules_print_so(app: Flask, sandbox: Sandbox) -> None:
    result = run(app)
    assert result.exit_code == 0
    assert "agree" in result.output


@on_both_databases
def test_dry_run_prints_the_gaps_and_changes_nothing(
    app: Flask, sandbox: Sandbox
) -> None:
    revoked, stray = _gaps(app, sandbox)
    result = run(app)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(revoked in line and line.startswith("missing") for line in lines)
    assert any(stray in line and line.startswith("unknown") for line in lines)
    assert "repair: rearm" in result.output
    assert "revoke (only with --revoke-unknown)" in result.output
    client = state(app).payments.client
    assert client.get_schedule(revoked).schedule_status == "revoked"
    assert run(app).output == result.output


@on_both_databases
def test_repair_fixes_and_revokes_unknown_only_when_asked(
    app: Flask, sandbox: Sandbox
) -> None:
    revoked, stray = _gaps(app, sandbox)
    client = state(app).payments.client
    partly = run(app, "--repair")
    assert partly.exit_code == 1
    assert f"{revoked}: rearm: fixed" in partly.output
    assert f"{stray}: nothing to do: left (unknown, revoke)" in partly.output
    assert client.get_schedule(stray).schedule_status == "scheduled"

    done = run(app, "--repair", "--revoke-unknown")
    assert done.exit_code == 0 and f"{stray}: revoke: fixed" in done.output
    assert client.get_schedule(stray).schedule_status == "revoked"
    assert client.get_schedule(revoked).schedule_status == "scheduled"
    assert get_order(app, revoked).state is OrderState.READY
    assert run(app).exit_code == 0


def test_json_lists_each_gap_and_its_repair(app: Flask, sandbox: Sandbox) -> None:
    revoked, stray = _gaps(app, sandbox)
    listed = json.loads(run(app, "--json").output)
    assert listed["repaired"] is False
    by_uid = {g["merchant_uid"]: g for g in listed["gaps"]}
    assert by_uid[revoked]["kind"] == "missing" and by_uid[revoked]["action"] == "rearm"
    assert by_uid[revoked]["order"]["state"] == "ready"
    assert by_uid[revoked]["portone"]["schedule_status"] == "revoked"
    assert by_uid[stray]["order"] is None and "repair" not in by_uid[stray]

    fixed = json.loads(run(app, "--json", "--repair", "--revoke-unknown").output)
    assert [g["repair"]["fixed"] for g in fixed["gaps"]] == [True, True]
    assert fixed["repaired"] is True


def test_the_range_options(app: Flask, sandbox: Sandbox) -> None:
    revoked, stray = _gaps(app, sandbox)
    soon = run(app, "--until", "2d")  # the revoked one is due in 5 days
    assert stray in soon.output and revoked not in soon.output
    later = run(app, "--since", "2026-01-01T00:00+09:00", "--until", "30d")
    assert revoked in later.output and stray in later.output
    assert run(app, "--until", "soon").exit_code == 2
    backwards = run(app, "--since", "1d", "--until", "2026-01-01T00:00Z")
    assert backwards.exit_code == 2 and "--since is after --until" in backwards.output


def test_refusals_are_clear(app: Flask, sandbox: Sandbox) -> None:
    alone = run(app, "--revoke-unknown")
    assert alone.exit_code == 2 and "--revoke-unknown goes with --repair" in (
        alone.output
    )
    sandbox.inject_fault("503", path="/subscribe/payments/schedule", times=5)
    down = run(app)
    assert down.exit_code == 1 and "PortOne could not be asked" in down.output
