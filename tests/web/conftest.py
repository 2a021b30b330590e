"""Fixtures for the web tests: apps made by a factory, their sandboxes, live mode.

What the fixtures build and the helpers that drive it live in ``webshop.py``.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_nicepay import NicePay
from flask_nicepay.portone import PortOneClient
from flask_nicepay.sandbox import API_MID
from flask_nicepay.sandbox import WINDOW_MID
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import serve
from flask_nicepay.store import utcnow

from .webshop import LIVE
from .webshop import LIVE_KEY
from .webshop import LIVE_SECRET
from .webshop import AppFactory
from .webshop import LiveFactory
from .webshop import Relay
from .webshop import build_app
from .webshop import close_app
from .webshop import state


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """The database ``make_app`` builds on: ``sqlite`` unless a test asks for both."""
    return t.cast(str, getattr(request, "param", "sqlite"))


@pytest.fixture
def make_app(tmp_path: Path, database: str) -> t.Iterator[AppFactory]:
    """Build apps with NicePay; each one gets its own database and sandbox."""
    made: list[Flask] = []

    def factory(config: t.Mapping[str, t.Any] | None = None, **hooks: t.Any) -> Flask:
        app = build_app(tmp_path, database, len(made), config, **hooks)
        made.append(app)
        return app

    yield factory
    for app in made:
        close_app(app)


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def nicepay(app: Flask) -> NicePay:
    return state(app).extension


@pytest.fixture
def sandbox(nicepay_sandbox: Sandbox) -> Sandbox:
    """The app's sandbox, through the fixture the package ships for stores."""
    return nicepay_sandbox


@pytest.fixture
def relay() -> Relay:
    return Relay()


@pytest.fixture
def portone(relay: Relay) -> t.Iterator[Sandbox]:
    """A sandbox standing in for the real PortOne of a live-mode app."""
    box = Sandbox(
        imp_key=LIVE_KEY,
        imp_secret=LIVE_SECRET,
        webhook_url="https://shop.example.com/nicepay/webhook",
        webhook_sender=relay,
    )
    # The live store's channel keys name channels of this account: the window's
    # and the API's.
    box.add_pg_setting(
        WINDOW_MID, kind="window", channel_key=LIVE["NICEPAY_CHANNEL_KEY"]
    )
    box.add_pg_setting(API_MID, kind="api", channel_key=LIVE["NICEPAY_API_CHANNEL_KEY"])
    yield box
    box.close()


@pytest.fixture
def make_live_app(make_app: AppFactory, portone: Sandbox, relay: Relay) -> LiveFactory:
    """Live-mode apps (keys present, no sandbox) whose client reaches ``portone``."""

    def factory(config: t.Mapping[str, t.Any] | None = None, **hooks: t.Any) -> Flask:
        settings = {**LIVE, **(config or {})}
        client = PortOneClient(
            settings["NICEPAY_IMP_KEY"] or "unset",
            settings["NICEPAY_IMP_SECRET"] or "unset",
            base_url=portone.base_url,
            session=portone.session(),
            backoff=0,
        )
        app = make_app(settings, client=client, **hooks)
        relay.app = app
        return app

    return factory


# -- time: an app whose sandbox clock is behind -------------------------------------


@pytest.fixture
def behind(make_app: AppFactory) -> tuple[Flask, Sandbox]:
    """An app whose sandbox clock runs two days behind the app's."""
    relay = Relay()
    relay.remote_addr = "127.0.0.1"
    box = Sandbox(clock_offset=-2 * 86400, webhook_sender=relay)
    app = make_app(sandbox=box, clock=utcnow)
    relay.app = app
    return app, box


# -- the standalone sandbox, over a real socket ----------------------------------


@pytest.fixture
def standalone() -> t.Iterator[tuple[Sandbox, str]]:
    box = Sandbox()
    with serve(box) as url:
        yield box, url
    box.close()
