"""The CLI on the store's own PortOne: the embedded sandbox shared through its file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask

from flask_nicepay import OrderState
from flask_nicepay.cli_notes import store_url

from .webshop import AppFactory
from .webshop import get_order
from .webshop import new_order
from .webshop import on_both_databases
from .webshop import paid_order
from .webshop import state


def run(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["nicepay", *args])
    assert "Traceback" not in result.output
    return result


def notes(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if "sandbox" in line.lower()]


@on_both_databases
def test_the_cli_reconciles_shows_and_cancels_what_the_store_made(
    make_app: AppFactory, tmp_path: Path
) -> None:
    shared = {"NICEPAY_SANDBOX_STATE_FILE": str(tmp_path / "run" / "box.sqlite3")}
    store = make_app(shared)
    paid_uid, paid = paid_order(store)
    open_uid = new_order(store)
    box = state(store).sandbox
    assert box is not None
    box.checkout(open_uid, 25_000)  # its webhook is never delivered
    uri = state(store).settings.database_uri
    cli = make_app({**shared, "NICEPAY_DATABASE_URI": uri})
    assert state(cli).sandbox is not box

    result = run(cli, "reconcile")
    assert result.exit_code == 0, result.output
    assert "1 changed" in result.output and "0 not at PortOne" in result.output
    assert notes(result) == []
    assert get_order(store, open_uid).state is OrderState.PAID
    shown = run(cli, "show", open_uid)
    assert shown.output.splitlines()[0] == f"{open_uid}  paid"
    cancelled = run(cli, "cancel", paid_uid)
    assert cancelled.output.splitlines()[-1] == f"{paid_uid}: cancelled"
    at_portone = box.payment(paid["imp_uid"])
    assert at_portone is not None and at_portone["status"] == "cancelled"


def test_the_default_file_is_in_the_instance_folder(make_app: AppFactory) -> None:
    app = make_app()
    box = state(app).sandbox
    assert box is not None and box.shared is not None
    assert box.shared.path == os.path.join(app.instance_path, "nicepay-sandbox.sqlite3")


@pytest.mark.parametrize(
    "config",
    [{"NICEPAY_SANDBOX_STATE_FILE": False}, {"NICEPAY_DATABASE_URI": "sqlite://"}],
    ids=["switched-off", "database-in-memory"],
)
def test_an_unshared_sandbox_says_so_in_one_line(
    make_app: AppFactory, config: dict[str, t.Any]
) -> None:
    app = make_app(config)
    assert state(app).sandbox.shared is None  # type: ignore[union-attr]
    for command in ASKING_PORTONE:
        result = run(app, *command)
        [line] = notes(result)
        assert "not shared" in line and "NICEPAY_SANDBOX_STATE_FILE unset" in line


#: Commands that ask PortOne, so say first which PortOne it is when it matters.
ASKING_PORTONE = (
    ("reconcile",),
    ("replay", "--failed"),
    ("expire-vbanks",),
    ("billing", "delete", "cust-nobody", "--yes"),
    ("subscriptions", "cancel", "sub-nobody", "--yes"),
    ("subscriptions", "run-due"),
    ("schedules",),
)
#: Commands that read the store's own tables only, and so say nothing of it.
LOCAL = (
    ("billing", "keys"),
    ("billing", "show", "cust-nobody"),
    ("subscriptions", "list"),
    ("subscriptions", "show", "sub-nobody"),
    ("billing", "delete", "--help"),
    ("subscriptions", "run-due", "--help"),
)


def test_the_implicit_sandbox_is_said_once_by_every_command_that_asks_portone(
    make_app: AppFactory,
) -> None:
    app = make_app({"NICEPAY_SANDBOX": None})  # no keys, no choice: the sandbox
    assert state(app).settings.mode.implicit
    for command in ASKING_PORTONE:
        [line] = notes(run(app, *command))
        assert "nobody is charged" in line, command
    for command in LOCAL:
        assert notes(run(app, *command)) == [], command


def test_a_bad_state_file_setting_is_refused(make_app: AppFactory) -> None:
    from flask_nicepay.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="NICEPAY_SANDBOX_STATE_FILE"):
        make_app({"NICEPAY_SANDBOX_STATE_FILE": 42})


# -- flask nicepay sandbox ------------------------------------------------------------


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_the_sandbox_command_refuses_a_port_that_cannot_be(
    make_app: AppFactory, port: str
) -> None:
    result = run(make_app(), "sandbox", "--port", port)
    assert result.exit_code == 2
    assert f"Invalid value for '--port': {port} is not in the range" in result.output


@pytest.mark.parametrize(
    ("config", "url"),
    [
        (
            {"NICEPAY_PUBLIC_URL": "https://shop.example.com"},
            "https://shop.example.com",
        ),
        ({"SERVER_NAME": "127.0.0.1:8000"}, "http://127.0.0.1:8000"),
        (
            {
                "SERVER_NAME": "shop.test:8443",
                "PREFERRED_URL_SCHEME": "https",
                "APPLICATION_ROOT": "/store",
            },
            "https://shop.test:8443/store",
        ),
    ],
)
def test_the_sandbox_command_finds_the_store_in_the_config(
    make_app: AppFactory, config: dict[str, str], url: str
) -> None:
    app = make_app(config)
    assert store_url(app) == url


def test_the_sandbox_command_asks_where_the_store_is(make_app: AppFactory) -> None:
    result = run(make_app(), "sandbox", "--port", "0")
    assert result.exit_code == 2
    assert "Set NICEPAY_PUBLIC_URL" in result.output and "SERVER_NAME" in result.output


# -- the implicit-sandbox warning -----------------------------------------------------


def flask(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "keyless_shop.py").write_text(
        textwrap.dedent(
            f"""
            from flask import Flask
            from flask_nicepay import NicePay

            def create_app():
                app = Flask(__name__, instance_path={str(tmp_path / "i")!r})
                NicePay(app)
                return app
            """
        )
    )
    command = Path(sys.executable).with_name("flask")
    return subprocess.run(
        [str(command), "--app", "keyless_shop:create_app", "nicepay", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_warning_is_said_once_where_it_matters(tmp_path: Path) -> None:
    for args in (("--help",), ("reconcile", "--help"), ("show", "--help")):
        done = flask(tmp_path, *args)
        assert done.returncode == 0, done.stderr
        said = done.stdout + done.stderr
        assert "OFFLINE SANDBOX" not in said and "no PortOne keys" not in said, args
    done = flask(tmp_path, "reconcile")
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "sandbox" in line.lower()]
    assert len(said) == 1 and "nobody is charged" in said[0], done.stderr
    assert "OFFLINE SANDBOX" not in done.stderr


def test_help_is_quiet_in_a_store_that_logs_at_info(tmp_path: Path) -> None:
    """A store logging at INFO (as the example store does) sees no start-up chatter
    from the table check on ``--help``: Alembic's backend lines stay out."""
    (tmp_path / "chatty_shop.py").write_text(
        textwrap.dedent(
            f"""
            import logging
            from flask import Flask
            from flask_nicepay import NicePay

            def create_app():
                logging.basicConfig(level=logging.INFO)
                app = Flask(__name__, instance_path={str(tmp_path / "i")!r})
                NicePay(app)
                return app
            """
        )
    )
    command = Path(sys.executable).with_name("flask")
    done = subprocess.run(
        [str(command), "--app", "chatty_shop:create_app", "nicepay", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "alembic" not in (done.stdout + done.stderr).lower()
