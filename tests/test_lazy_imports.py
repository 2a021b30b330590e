"""Alembic is loaded only by what migrates: not by ``import flask_nicepay``, not by a
worker started with ``NICEPAY_CREATE_TABLES = False``.

Each case runs in a fresh interpreter, since this one has imported everything.
The start-up that does upgrade (``NICEPAY_CREATE_TABLES``, ``flask nicepay
init-db``) is checked to still reach the newest revision.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from flask_nicepay import migrations

ROOT = Path(__file__).resolve().parents[1]

_APP = """
import json, sys
from flask import Flask
from flask_nicepay import NicePay
app = Flask("shop")
app.config.update(NICEPAY_DATABASE_URI={uri!r}, NICEPAY_CREATE_TABLES={create!r})
NicePay(app)
{then}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "alembic")))
"""


def _alembic_modules(code: str) -> list[str]:
    """The ``alembic`` modules loaded once ``code`` has run in a new interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_the_package_loads_no_alembic() -> None:
    code = """
    import json, sys
    import flask_nicepay, flask_nicepay.console, flask_nicepay.migrations
    import flask_nicepay.cli_db, flask_nicepay.doctor, flask_nicepay.testing
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "alembic")))
    """
    assert _alembic_modules(code) == []


def test_a_worker_that_creates_no_tables_loads_no_alembic(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'shop.db'}"
    code = _APP.format(uri=uri, create=False, then="app.test_client().get('/')")
    assert _alembic_modules(code) == []


@pytest.mark.parametrize("how", ["config", "init-db"])
def test_the_start_up_that_creates_tables_still_upgrades(
    tmp_path: Path, how: str
) -> None:
    uri = f"sqlite:///{tmp_path / 'shop.db'}"
    then = ""
    if how == "init-db":
        then = (
            "result = app.test_cli_runner().invoke(args=['nicepay', 'init-db'])\n"
            "assert result.exit_code == 0, result.output"
        )
    code = _APP.format(uri=uri, create=how == "config", then=then)
    assert "alembic.command" in _alembic_modules(code)
    engine = sa.create_engine(uri)
    try:
        assert migrations.current(engine) == migrations.head()
    finally:
        engine.dispose()
