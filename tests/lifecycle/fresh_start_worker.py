"""Runs in a separate process: one worker starting on a fresh database.

Used by test_fresh_start.py. Each round the worker waits at the barrier with its
siblings, then creates the plugin's tables, either through :func:`create_tables`
or by starting a Flask app with NicePay as a gunicorn worker does.
"""

from __future__ import annotations

import os
import traceback
import typing as t

from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay import tables
from flask_nicepay.db import create_tables
from flask_nicepay.db import make_engine


def start(url: str, how: str) -> None:
    """Create the tables on ``url`` the way ``how`` names: ``function`` or ``app``."""
    if how == "function":
        engine = make_engine(url)
        try:
            create_tables(engine, tables.metadata)
        finally:
            engine.dispose()
        return
    app = Flask(f"fresh_{os.getpid()}")
    app.config.update(
        NICEPAY_SANDBOX=True,
        NICEPAY_DATABASE_URI=url,
        NICEPAY_CREATE_TABLES=True,
    )
    NicePay(app)
    app.extensions["nicepay"].payments.engine.dispose()


def collide(urls: list[str], how: str, barrier: t.Any, results: t.Any) -> None:
    """For each of ``urls``, start on it at the same moment as the other workers."""
    for url in urls:
        try:
            barrier.wait(timeout=120)
            start(url, how)
            results.put((url, None))
        except BaseException:
            results.put((url, traceback.format_exc()))
