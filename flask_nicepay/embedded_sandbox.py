"""The embedded sandbox an app gets in sandbox mode with no keys.

Its state is kept in a file beside the app's database when that can be shared
(``NICEPAY_SANDBOX_STATE_FILE``), so every process of the app (workers, the dev
server, the CLI) sees the same PortOne; its webhooks go straight into the app's
own webhook route.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy.engine import Engine

from . import config

if t.TYPE_CHECKING:
    from .sandbox import Sandbox
    from .sandbox import WebhookDelivery


def embedded_sandbox(
    app: Flask, settings: config.Settings, engine: Engine | None
) -> Sandbox:
    """The sandbox of ``app``, whose database is ``engine`` or the configured one."""
    from .sandbox import Sandbox

    where = str(engine.url) if engine else settings.database_uri
    return Sandbox(
        imp_key=settings.imp_key,
        imp_secret=settings.imp_secret,
        webhook_url="http://sandbox.invalid" + settings.url_prefix + "/webhook",
        webhook_sender=lambda delivery: deliver_in_app(app, delivery),
        auto_deliver=settings.sandbox_auto_deliver,
        state_file=None if config.in_memory(where) else settings.sandbox_state_file,
        state_owner=config.database_owner(where),
    )


def deliver_in_app(app: Flask, delivery: WebhookDelivery) -> int:
    """The embedded sandbox's webhooks, straight into this app's webhook route."""
    path = urlsplit(delivery.url or "").path or "/"
    client = app.test_client()
    response = client.post(
        path,
        data=delivery.data(),
        content_type=delivery.content_type,
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    return response.status_code
