"""Deferred processing: the doors record a notification, a worker processes it.

With ``NICEPAY_PROCESSING = "celery"`` the webhook, the PC completion and the mobile
return write their inbox row, commit it, hand its id to Celery and answer at once.
A worker then runs :meth:`Notifications.process
<flask_nicepay.notifications.Notifications.process>`, the processing inline mode
runs in the request, so there is one code path.

The inbox row is the truth and the broker only a reminder: a message that is lost
(the broker down when the row was written, a queue flushed, a process killed
before its relay published) leaves the row ``received``, and the janitor's
``stale_inbox`` pass (:doc:`/janitor`) processes it once its grace has passed. A
message delivered twice changes nothing, because the order's compare-and-swap
decides. This module needs no Celery: it finds the app's Celery app at
``app.extensions["celery"]``, where :func:`flask_nicepay.tasks.celery_init_app`
and Flask's own pattern put it. The tasks are in :mod:`flask_nicepay.tasks`.
"""

from __future__ import annotations

import logging
import threading
import typing as t

from flask import Flask
from flask import current_app

from .relay import Relay
from .state import app_state

logger = logging.getLogger("flask_nicepay")

#: The name of the task that processes one recorded notification.
PROCESS_TASK = "flask_nicepay.process_notification"
#: The name of the task that processes several, one after the other.
PROCESS_BATCH_TASK = "flask_nicepay.process_notifications"


def deferring(app: Flask | None = None) -> bool:
    """Whether the app's notifications are processed by Celery workers."""
    return app_state(app).settings.processing == "celery"


def hand_off(entry_id: int, app: Flask | None = None) -> bool:
    """Send a recorded notification to the workers, through the process's relay.

    Called after its row is committed; returns at once. The relay
    (:mod:`flask_nicepay.relay`) publishes it, alone or in a batch with others, and
    logs a broker's refusal rather than raising it: the row stays ``received``,
    and what finds such rows processes it later.

    :returns: whether the relay took it (``False`` when the app has no Celery app).
    """
    target = app or current_app
    relay = _relay(target)
    if relay is None:
        logger.error(
            "Notification %s recorded but not queued: NICEPAY_PROCESSING is "
            "'celery' and the app has no Celery app in app.extensions['celery'] "
            "(see flask_nicepay.tasks.celery_init_app).",
            entry_id,
        )
        return False
    relay.put(entry_id)
    return True


def flush(app: Flask | None = None, timeout: float = 10.0) -> bool:
    """Wait until what this process handed off has been offered to the broker.

    :returns: whether it was within ``timeout`` seconds.
    """
    relay = (app or current_app).extensions.get(_RELAY)
    return relay is None or bool(relay.flush(timeout))


_RELAY = "nicepay_relay"
_made = threading.Lock()


def _relay(app: Flask) -> Relay | None:
    """The app's relay, made at first use; None without a Celery app."""
    relay: Relay | None = app.extensions.get(_RELAY)
    if relay is not None:
        return relay
    celery_app: t.Any = app.extensions.get("celery")
    if celery_app is None:
        return None

    def publish(ids: list[int]) -> None:
        if len(ids) == 1:
            celery_app.send_task(PROCESS_TASK, args=(ids[0],))
        else:
            celery_app.send_task(PROCESS_BATCH_TASK, args=(ids,))

    with _made:
        if _RELAY not in app.extensions:
            _load_transport(celery_app)
            batch = app_state(app).settings.celery_batch
            app.extensions[_RELAY] = Relay(publish, batch)
        return t.cast(Relay, app.extensions[_RELAY])


def _load_transport(celery_app: t.Any) -> None:
    """Import the broker's transport now, not at the first publish.

    A process stopped right after its first answers (a gunicorn worker recycled)
    publishes what its relay holds at exit, when Python no longer lets a module
    being imported register its own exit handlers, as the Redis transport's
    imports do. Nothing connects here.
    """
    try:
        _ = celery_app.producer_pool
    except Exception:  # a broker URL the transport refuses: publish will say so
        logger.warning("The Celery broker's transport did not load.", exc_info=True)


def pending(merchant_uid: str, app: Flask | None = None) -> bool:
    """Whether a notification about the order still waits for a worker."""
    return app_state(app).payments.inbox.waiting(merchant_uid)
