"""``flask nicepay janitor``: the passes from cron, their counts, the exit status."""

from __future__ import annotations

import json

from click.testing import Result
from flask import Flask

from flask_nicepay import OrderState
from flask_nicepay import testing
from flask_nicepay.inbox import Hint
from flask_nicepay.janitor import PASSES

from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import state

pytestmark = on_both_databases


def janitor(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["nicepay", "janitor", *args])
    assert "Traceback" not in result.output
    return result


def left_received(app: Flask) -> str:
    """An order paid whose webhook was recorded and never processed, past the grace."""
    uid = new_order(app)
    payment = testing.pay(uid, app=app, deliver=False)
    state(app).payments.inbox.record("webhook", hint=Hint(payment["imp_uid"], uid))
    testing.Clock(app).advance(minutes=6)
    return uid


def test_every_pass_runs_and_says_what_it_did(app: Flask) -> None:
    uid = left_received(app)

    result = janitor(app)

    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if ":" in line]
    assert [line.split(":")[0] for line in lines[-len(PASSES) :]] == list(PASSES)
    assert "stale_inbox: 1 claimed, 1 applied" in result.output
    assert "vbanks: nothing to do" in result.output
    assert get_order(app, uid).state is OrderState.PAID
    assert "stale_inbox: nothing to do" in janitor(app).output


def test_chosen_passes_as_json(app: Flask) -> None:
    left_received(app)

    result = janitor(app, "--pass", "vbanks", "--pass", "stale_inbox", "--json")

    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert list(report) == ["stale_inbox", "vbanks"]  # in the janitor's order
    assert report["stale_inbox"] == {
        "counts": {"claimed": 1, "applied": 1},
        "errors": [],
    }


def test_portone_down_is_a_failure(app: Flask) -> None:
    new_order(app)
    testing.Clock(app).advance(minutes=6)
    testing.Faults(app).api("503", path="/payments", times=10)  # the lookup of many

    result = janitor(app, "--pass", "open_orders")

    assert result.exit_code == 1
    assert "error: lookup of 1 orders failed" in result.output


def test_an_unknown_pass_is_a_usage_error(app: Flask) -> None:
    result = janitor(app, "--pass", "sweep")
    assert result.exit_code == 2 and "'sweep' is not one of" in result.output
