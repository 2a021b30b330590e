"""``flask nicepay …``: every command, through the app's own CLI runner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import OrderState
from flask_nicepay import migrations
from flask_nicepay import tables
from flask_nicepay import testing
from flask_nicepay.checkout import KST
from flask_nicepay.sandbox import Sandbox

from .webshop import LIVE_SECRET
from .webshop import AppFactory
from .webshop import LiveFactory
from .webshop import checkout_new_order
from .webshop import get_order
from .webshop import inbox
from .webshop import issue_overdue_vbank
from .webshop import new_order
from .webshop import paid_order
from .webshop import pay_in_window
from .webshop import portone_down
from .webshop import state
from .webshop import tampered_payment
from .webshop import vbank_order


def run(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["nicepay", *args])
    assert "Traceback" not in result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_group_help_lists_every_command(app: Flask) -> None:
    result = run(app, "--help")
    assert result.exit_code == 0
    for command in (
        "init-db",
        "show",
        "reconcile",
        "replay",
        "cancel",
        "expire-vbanks",
        "sandbox",
        "doctor",
    ):
        assert command in result.output


# -- init-db ---------------------------------------------------------------------------


def test_init_db_creates_the_tables(make_live_app: LiveFactory) -> None:
    app = make_live_app({"NICEPAY_CREATE_TABLES": None})  # live: not created at start
    engine = state(app).payments.engine
    assert sa.inspect(engine).get_table_names() == []

    result = run(app, "init-db")

    assert result.exit_code == 0
    assert result.output.startswith("Tables ready: nicepay_")
    made = set(sa.inspect(engine).get_table_names())
    assert made == {*tables.metadata.tables, migrations.VERSION_TABLE}
    assert migrations.current(engine) == migrations.head()
    assert run(app, "init-db").exit_code == 0  # twice is fine


# -- show ----------------------------------------------------------------------------


def test_show_prints_history_refunds_and_notifications(app: Flask) -> None:
    uid, _ = paid_order(app, 30_000)
    assert (
        run(app, "cancel", uid, "--amount", "5000", "--reason", "교환").exit_code == 0
    )

    result = run(app, "show", uid)

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"{uid}  partially_cancelled"
    assert "  amount            30000" in lines
    assert "  cancelled_amount  5000" in lines
    history = lines[lines.index("history") + 1 : lines.index("refunds")]
    assert {line.split()[2] for line in history} == {"KST"}
    assert [line.split()[3:7] for line in history] == [
        ["ready", "->", "paid", "pay"],
        ["paid", "->", "partially_cancelled", "cancel_partially"],
    ]
    refunds = lines[lines.index("refunds") + 1 : lines.index("notifications")]
    [refund] = state(app).payments.orders.refunds_of(uid)
    assert refunds == [
        "  #1 5000 succeeded (api) 교환",
        f"     receipt {refund.receipt_url}",
    ]
    [note] = lines[lines.index("notifications") + 1 :]
    assert note.split()[3:7] == ["KST", "webhook", "applied", "127.0.0.1"]
    created = next(line for line in lines if line.startswith("  created_at"))
    moment = get_order(app, uid).created_at.astimezone(KST)
    assert created.split()[1:] == [f"{moment:%Y-%m-%d}", f"{moment:%H:%M:%S}", "KST"]


def test_show_unknown_order(app: Flask) -> None:
    result = run(app, "show", "np-nobody")
    assert result.exit_code == 1
    assert "Error: No order 'np-nobody'." in result.output


# -- reconcile ---------------------------------------------------------------------


def test_reconcile_heals_lost_webhooks(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    uids = [new_order(app) for _ in range(3)]
    sandbox.inject_webhook_fault("drop", times=2)
    for uid in uids[:2]:
        pay_in_window(client, sandbox, f"/nicepay/checkout/{uid}")
    sandbox.deliver_webhooks()

    result = run(app, "reconcile")

    assert result.exit_code == 0
    # Not a terminal: no carriage returns or colours from the progress bar.
    assert "\r" not in result.output and "\x1b" not in result.output
    assert result.output.splitlines()[-1] == (
        "3 orders, 1 lookups: 2 changed, 0 unchanged, 1 not at PortOne."
    )
    assert [get_order(app, u).state for u in uids] == [
        OrderState.PAID,
        OrderState.PAID,
        OrderState.READY,
    ]


@pytest.mark.parametrize("since", ["2h", "90m", "7d", "2000-01-01T00:00:00+09:00"])
def test_reconcile_since(app: Flask, since: str) -> None:
    paid_order(app, 30_000)
    new_order(app)
    result = run(app, "reconcile", "--since", since)
    assert result.exit_code == 0
    assert result.output.splitlines()[-1].startswith("2 orders, 1 lookups: 0 changed")


def test_reconcile_since_nothing(app: Flask) -> None:
    new_order(app)
    result = run(app, "reconcile", "--since", "2999-01-01")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1].startswith("0 orders, 0 lookups")


def test_reconcile_since_must_be_a_moment(app: Flask) -> None:
    result = run(app, "reconcile", "--since", "yesterday")
    assert result.exit_code == 2
    assert "neither ISO 8601 nor an age like 2h" in result.output


def test_reconcile_exits_1_when_a_lookup_fails(app: Flask, sandbox: Sandbox) -> None:
    new_order(app)
    sandbox.inject_fault("503", path="/payments*", times=10)
    result = run(app, "reconcile")
    assert result.exit_code == 1
    assert "error: lookup of 1 orders failed" in result.output


# -- replay ------------------------------------------------------------------------


def _failed_webhook(app: Flask, client: FlaskClient, sandbox: Sandbox) -> int:
    uid, _, _ = checkout_new_order(app, client, sandbox)
    portone_down(sandbox)
    sandbox.deliver_webhooks()
    sandbox.clear_faults()
    [entry] = inbox(app, merchant_uid=uid)
    assert entry.outcome == "error"
    return entry.id


def test_replay_one_notification(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    entry_id = _failed_webhook(app, client, sandbox)
    result = run(app, "replay", str(entry_id))
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "1 replayed: 1 applied"
    assert inbox(app)[0].attempts == 2


def test_replay_failed(app: Flask, client: FlaskClient, sandbox: Sandbox) -> None:
    _failed_webhook(app, client, sandbox)
    _failed_webhook(app, client, sandbox)
    client.post("/nicepay/webhook", json={"imp_uid": "bad"})  # invalid: not replayed
    result = run(app, "replay", "--failed")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "2 replayed: 2 applied"
    again = run(app, "replay", "--failed")
    assert again.output.splitlines()[-1] == "0 replayed: nothing to do"


def test_replay_exits_1_while_portone_is_still_down(
    app: Flask, client: FlaskClient, sandbox: Sandbox
) -> None:
    entry_id = _failed_webhook(app, client, sandbox)
    portone_down(sandbox)
    result = run(app, "replay", str(entry_id))
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "1 replayed: 1 error"


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        ((), 2, "Missing the notification ID"),
        (("1", "--failed"), 2, "Give a notification ID or --failed, not both."),
        (("99",), 1, "No notification 99."),
        (("one",), 2, "'one' is not a valid integer"),
    ],
)
def test_replay_usage(app: Flask, args: tuple[str, ...], code: int, words: str) -> None:
    result = run(app, "replay", *args)
    assert result.exit_code == code
    assert words in result.output


# -- cancel ----------------------------------------------------------------------------


def test_cancel_partial_then_full(app: Flask, sandbox: Sandbox) -> None:
    uid, _ = paid_order(app, 30_000)
    result = run(app, "cancel", uid, "--amount", "10000", "--reason", "부분 환불")
    assert (result.exit_code, result.output) == (0, f"{uid}: partially_cancelled\n")
    result = run(app, "cancel", uid)
    assert (result.exit_code, result.output) == (0, f"{uid}: cancelled\n")
    imp_uid = get_order(app, uid).imp_uid
    assert sandbox.payment(imp_uid)["cancel_amount"] == 30_000  # type: ignore[index]


def test_cancel_with_tax_parts(app: Flask) -> None:
    uid, _ = paid_order(app, 30_000, tax_free=3_000)
    result = run(app, "cancel", uid, "--amount", "10000")
    assert result.exit_code == 1
    assert "NICE needs tax_free for each partial refund" in result.output
    result = run(app, "cancel", uid, "--amount", "10000", "--tax-free", "1000")
    assert result.exit_code == 0


def test_cancel_closes_an_unpaid_order(app: Flask) -> None:
    uid = new_order(app)
    result = run(app, "cancel", uid, "--reason", "고객 요청")
    assert (result.exit_code, result.output) == (0, f"{uid}: cancelled\n")


def test_cancel_a_paid_virtual_account_needs_the_refund_account(app: Flask) -> None:
    uid, _ = vbank_order(app, deposit=True)

    result = run(app, "cancel", uid)
    assert result.exit_code == 1
    assert "refund_account" in result.output

    result = run(app, "cancel", uid, "--refund-holder", "홍길동")
    assert result.exit_code == 2
    assert "--refund-holder, --refund-bank and --refund-account" in result.output

    result = run(
        app,
        "cancel",
        uid,
        "--refund-holder",
        "홍길동",
        "--refund-bank",
        "004",
        "--refund-account",
        "12345678901234",
        "--amount",
        "5000",
    )
    assert (result.exit_code, result.output) == (0, f"{uid}: partially_cancelled\n")


@pytest.mark.parametrize(
    ("extra", "code", "words"),
    [
        (("--amount", "abc"), 2, "'abc' is not an amount"),
        (("--amount", "0"), 2, "must be more than 0"),
        (("--amount", "1.234"), 2, "at most 2 decimals"),
        (("--amount", "99999"), 1, "exceeds what is left of the payment (30000)"),
    ],
)
def test_cancel_errors_are_clean_messages(
    app: Flask,
    extra: tuple[str, ...],
    code: int,
    words: str,
) -> None:
    uid, _ = paid_order(app, 30_000)
    result = run(app, "cancel", uid, *extra)
    assert result.exit_code == code
    assert words in result.output
    assert get_order(app, uid).state is OrderState.PAID


def test_cancel_unknown_order_and_portone_down(app: Flask, sandbox: Sandbox) -> None:
    result = run(app, "cancel", "np-nobody")
    assert (result.exit_code, result.output) == (1, "Error: No order 'np-nobody'.\n")

    uid, _ = paid_order(app, 30_000)
    sandbox.inject_fault("503", times=20)
    result = run(app, "cancel", uid)
    assert result.exit_code == 1
    assert result.output.startswith("Error: PortOne: ")


def test_cancel_returns_money_held_after_a_mismatch(make_app: t.Any) -> None:
    app = make_app({"NICEPAY_ON_MISMATCH": "hold"})
    box = testing.sandbox_of(app)
    uid = new_order(app, 50_000)
    imp_uid = tampered_payment(app, uid, 1_000)
    with app.app_context():
        state(app).extension.sync(imp_uid=imp_uid)
    assert get_order(app, uid).state is OrderState.MISMATCH

    result = run(app, "cancel", uid, "--reason", "금액 불일치")

    assert (result.exit_code, result.output) == (0, f"{uid}: cancelled\n")
    assert box.payment(imp_uid)["status"] == "cancelled"  # type: ignore[index]


# -- expire-vbanks -----------------------------------------------------------------


def test_expire_vbanks(behind: tuple[Flask, Sandbox]) -> None:
    app, box = behind
    uid, _ = issue_overdue_vbank(app, box)
    result = run(app, "expire-vbanks")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"expired {uid} (due ")
    assert lines[-1] == "1 virtual accounts expired."
    assert get_order(app, uid).state is OrderState.EXPIRED
    assert run(app, "expire-vbanks").output == "0 virtual accounts expired.\n"


# -- sandbox ------------------------------------------------------------------------


def test_sandbox_help(app: Flask) -> None:
    result = run(app, "sandbox", "--help")
    assert result.exit_code == 0
    for option in ("--host", "--port", "--webhook-url"):
        assert option in result.output


SANDBOX_ARGS = ("nicepay", "sandbox", "--port", "0")


def test_sandbox_runs_until_interrupted(tmp_path: Path) -> None:
    (tmp_path / "shop_cli_app.py").write_text(
        textwrap.dedent(
            f"""
            from flask import Flask
            from flask_nicepay import NicePay

            def create_app():
                app = Flask(__name__, instance_path={str(tmp_path / "instance")!r})
                app.config.update(
                    NICEPAY_SANDBOX=True,
                    NICEPAY_SANDBOX_AUTO_DELIVER=False,
                    NICEPAY_IMP_KEY="cli_key",
                    NICEPAY_IMP_SECRET="cli_secret",
                    NICEPAY_PUBLIC_URL="https://shop.example.com",
                )
                NicePay(app)
                return app
            """
        )
    )
    flask = Path(sys.executable).with_name("flask")
    process = subprocess.Popen(
        [*(str(flask), "--app", "shop_cli_app:create_app"), *SANDBOX_ARGS],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("PortOne sandbox on http://127.0.0.1:"), first
        url = first.split()[3].rstrip(",")
        assert first.rstrip().endswith(
            "webhooks to https://shop.example.com/nicepay/webhook"
        )
        token = requests.post(
            f"{url}/users/getToken",
            json={"imp_key": "cli_key", "imp_secret": "cli_secret"},
            timeout=5,
        )
        assert token.status_code == 200 and token.json()["code"] == 0
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0
        assert output.rstrip().endswith("stopped")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# -- doctor ----------------------------------------------------------------------------


def test_doctor_on_the_implicit_sandbox(make_app: t.Any) -> None:
    app = make_app({"NICEPAY_SANDBOX": None})
    result = run(app, "doctor")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == (
        "[WARN ] Sandbox mode (embedded, shared by the app's processes) because no "
        "PortOne keys are configured."
    )
    assert any("NICEPAY_REQUIRE_LIVE = True" in line for line in lines)
    assert "[OK   ] PortOne accepted the REST API key and secret." in lines
    assert "[OK   ] Database ready (sqlite)." in lines


def test_doctor_on_the_standalone_sandbox(
    make_app: t.Any, standalone: tuple[Sandbox, str]
) -> None:
    _, url = standalone
    app = make_app({"NICEPAY_SANDBOX": None, "NICEPAY_SANDBOX_URL": url})
    result = run(app, "doctor")
    assert result.exit_code == 0
    first = result.output.splitlines()[0]
    assert first == f"[OK   ] Sandbox mode ({url}), chosen with NICEPAY_SANDBOX_URL."


def test_doctor_with_a_wrong_secret(make_live_app: LiveFactory) -> None:
    app = make_live_app({"NICEPAY_IMP_SECRET": "not-the-secret"})
    result = run(app, "doctor")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    at = lines.index("[ERROR] PortOne refused the REST API key and secret.")
    assert (
        lines[at + 1]
        .strip()
        .startswith("fix: Copy NICEPAY_IMP_KEY and NICEPAY_IMP_SECRET again")
    )
    assert "not-the-secret" not in result.output and LIVE_SECRET not in result.output


def test_doctor_on_a_healthy_live_app(make_live_app: LiveFactory) -> None:
    app = make_live_app(
        {"NICEPAY_REQUIRE_LIVE": True, "NICEPAY_PUBLIC_URL": "https://shop.example.com"}
    )
    result = run(app, "doctor")
    assert result.exit_code == 0
    assert "[OK   ] Live mode: payments are real." in result.output
    assert "[ERROR]" not in result.output
    assert "notice_vbank" in result.output  # NICE's deposit notice must be set up
    assert "Webhooks accepted only from 52.78.100.19/32" in result.output


def test_doctor_names_the_channel_keys_a_one_key_store_must_add(
    make_live_app: LiveFactory,
) -> None:
    app = make_live_app(
        {
            "NICEPAY_CHANNEL_MIDS": None,
            "NICEPAY_API_CHANNEL_KEY": None,
            "NICEPAY_API_CHANNEL_MIDS": None,
        }
    )
    result = run(app, "doctor")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    for purpose, key in (("window", "NICEPAY_CHANNEL_MIDS"),
                         ("api", "NICEPAY_API_CHANNEL_MIDS")):  # fmt: skip
        at = lines.index(
            f"[ERROR] The {purpose} channel's live MIDs are not configured."
        )
        assert lines[at + 2].strip().startswith(f"fix: Set {key} to the MID(s)")
    assert (
        "[WARN ] Key-in, billing-key and scheduled payments use the window's channel."
        in lines
    )


def test_doctor_finds_missing_tables_and_a_backlog(
    make_live_app: LiveFactory, portone: Sandbox
) -> None:
    app = make_live_app({"NICEPAY_CREATE_TABLES": None})
    result = run(app, "doctor")
    assert result.exit_code == 1
    assert "[ERROR] Tables missing: " in result.output
    assert "fix: Run `flask nicepay db upgrade`" in result.output

    run(app, "init-db")
    client = app.test_client()
    checkout_new_order(app, client, portone)
    portone_down(portone)
    portone.deliver_webhooks()
    portone.clear_faults()
    result = run(app, "doctor")
    assert result.exit_code == 0
    assert "[WARN ] 1 notifications failed or found no order." in result.output


def test_doctor_when_portone_cannot_be_reached(
    make_live_app: LiveFactory, portone: Sandbox
) -> None:
    app = make_live_app()
    portone.inject_fault("503", path="/users/getToken", times=10)
    result = run(app, "doctor")
    assert result.exit_code == 1
    assert "[ERROR] PortOne could not be reached." in result.output
    assert "NICEPAY_API_BASE_URL" in result.output


def test_doctor_names_paid_orders_without_vat_under_the_fixed_tax_mode(
    make_app: AppFactory,
) -> None:
    app = make_app({"NICEPAY_TAX_MODE": "fixed"})
    stated = new_order(app, 11_000, tax_free=0, vat_amount=1_000)
    testing.pay(stated, app=app)
    assert "state no VAT" not in run(app, "doctor").output
    unstated = new_order(app, 11_000)
    testing.pay(unstated, app=app)

    result = run(app, "doctor")

    assert "[WARN ] 1 paid orders state no VAT under NICEPAY_TAX_MODE = 'fixed'." in (
        result.output
    )
    assert "--tax-free and --vat-amount" in result.output
    auto = make_app()
    testing.pay(new_order(auto, 11_000), app=auto)
    assert "state no VAT" not in run(auto, "doctor").output
