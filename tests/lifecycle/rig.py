"""Payments wired to the in-process sandbox, and a record of its signals."""

from __future__ import annotations

import dataclasses
import json
import typing as t

from sqlalchemy.engine import Engine

from flask_nicepay.inbox import Hint
from flask_nicepay.inbox import Outcome
from flask_nicepay.payments import Payments
from flask_nicepay.portone import PortOneClient
from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import WebhookDelivery
from flask_nicepay.tasks import RETRIES
from flask_nicepay.verify import Policy

KEY, SECRET = "life_key", "life_secret"


class Sender:
    """Stands in for the Flask app as the signals' sender."""

    def __repr__(self) -> str:
        return "<Sender>"


@dataclasses.dataclass
class Recorded:
    """Every signal sent, as (signal name, merchant_uid, extra data)."""

    calls: list[tuple[str, str, dict[str, t.Any]]] = dataclasses.field(
        default_factory=list
    )

    def names(self, merchant_uid: str | None = None) -> list[str]:
        return [n for n, m, _ in self.calls if merchant_uid in (None, m)]


class Relay:
    """The sandbox's webhook sender, pointed at a service once there is one."""

    def __init__(self) -> None:
        self.target: t.Callable[[WebhookDelivery], int] | None = None

    def __call__(self, delivery: WebhookDelivery) -> int:
        assert self.target is not None, "no service is listening"
        return self.target(delivery)


def build_service(
    sandbox: Sandbox, engine: Engine, *, policy: Policy | None = None, **kw: t.Any
) -> Payments:
    client = PortOneClient(
        KEY, SECRET, base_url=sandbox.base_url, session=sandbox.session(), backoff=0
    )
    service = Payments(
        client=client, engine=engine, sender=Sender(), policy=policy, **kw
    )
    service.create_all()
    return service


#: The two ways a notification is processed (``NICEPAY_PROCESSING``).
PROCESSING = ("inline", "celery")


def webhook_receiver(
    service: Payments, processing: str = "inline"
) -> t.Callable[[WebhookDelivery], int]:
    """Deliver sandbox webhooks into the service, as the webhook route does.

    :param processing: ``inline``: recorded and processed in the request, answered
        503 when PortOne could not be reached. ``celery``: recorded by
        :meth:`~flask_nicepay.notifications.Notifications.accept` and answered 200,
        then processed as :func:`flask_nicepay.tasks.process_notification` does it
        (``process(..., unless_done=True)``, again while it ends in ``error``, at
        most :data:`~flask_nicepay.tasks.RETRIES` times), before the sandbox goes
        on. The broker between the two is proven in ``tests/deferred``.
    """

    def deliver(delivery: WebhookDelivery) -> int:
        body = dict(delivery.body)
        hint = Hint(body.get("imp_uid"), body.get("merchant_uid"), body.get("status"))
        request = {"body": json.dumps(body), "remote_addr": "52.78.100.19"}
        if processing == "inline":
            received = service.notifications.receive("webhook", hint, **request)
            return 503 if received.outcome is Outcome.ERROR else 200
        entry_id = service.notifications.accept("webhook", hint, **request)
        for _ in range(1 + RETRIES):
            outcome = service.notifications.process(entry_id, unless_done=True).outcome
            if outcome is not Outcome.ERROR:
                break
        return 200

    return deliver
