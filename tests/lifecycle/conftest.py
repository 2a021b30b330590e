"""Payments on a real SQLite file, talking to the in-process sandbox.

Webhooks from the sandbox go straight into ``notifications.receive``, as the Flask
route would pass them, so every test exercises the one road: inbox, fetch, verify,
compare-and-swap, signal.
"""

from __future__ import annotations

import typing as t

import pytest
from sqlalchemy.engine import Engine

from flask_nicepay import signals
from flask_nicepay.payments import Payments
from flask_nicepay.sandbox import Sandbox

from .rig import KEY
from .rig import PROCESSING
from .rig import SECRET
from .rig import Recorded
from .rig import Relay
from .rig import build_service
from .rig import webhook_receiver


@pytest.fixture
def relay() -> Relay:
    return Relay()


@pytest.fixture
def sandbox(relay: Relay) -> t.Iterator[Sandbox]:
    box = Sandbox(
        imp_key=KEY,
        imp_secret=SECRET,
        webhook_url="http://shop.test/hook",
        webhook_sender=relay,
    )
    yield box
    box.close()


@pytest.fixture
def engine(db_engine: Engine) -> Engine:
    """Every lifecycle test runs on a SQLite file and on PostgreSQL."""
    return db_engine


@pytest.fixture(params=PROCESSING)
def processing(request: pytest.FixtureRequest) -> str:
    """Every lifecycle runs in both modes: processed in the request, and recorded
    first, then processed as a Celery worker does."""
    return t.cast(str, request.param)


@pytest.fixture
def service(
    sandbox: Sandbox, engine: Engine, relay: Relay, processing: str
) -> Payments:
    service = build_service(sandbox, engine)
    relay.target = webhook_receiver(service, processing)
    return service


@pytest.fixture
def recorded(service: Payments) -> t.Iterator[Recorded]:
    record = Recorded()
    handlers = []
    for name in (
        "payment_paid",
        "vbank_issued",
        "payment_failed",
        "payment_cancelled",
        "payment_mismatch",
        "vbank_expired",
    ):
        signal = getattr(signals, name)

        def handler(
            sender: t.Any, *, order: t.Any, _name: str = name, **data: t.Any
        ) -> None:
            record.calls.append((_name, order.merchant_uid, data))

        signal.connect(handler, sender=service.sender)
        handlers.append((signal, handler))
    yield record
    for signal, handler in handlers:
        signal.disconnect(handler)
