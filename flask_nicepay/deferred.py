"""Deferred processing: the doors record a notification, a worker processes it.

With ``NICEPAY_PROCESSING = "celery"`` the webhook, the PC completion and the mobile
return write their inbox row, commit it, hand its id to Celery and answer at once.
A worker then runs :meth:`Notifications.process
<flask_nicepay.notifications.Notifications.process>`, the processing inline mode
runs in the request, so there is one code path.

The inbox row is the truth and the broker only a reminder: a message that is lost
(the broker down when the row was written, a queue flushed) leaves the row
``received``, and the janitor's ``stale_inbox`` pass (:doc:`/janitor`) processes it
once its grace has passed. A
message delivered twice changes nothing, because the order's compare-and-swap
decides. This module needs no Celery: it finds the app's Celery app at
``app.extensions["celery"]``, where :func:`flask_nicepay.tasks.celery_init_app`
and Flask's own pattern put it. The tasks are in :mod:`flask_nicepay.tasks`.
"""

from __future__ import annotations

import logging
import typing as t

from flask import Flask
from flask import current_app

from .inbox import Outcome
from .state import app_state

logger = logging.getLogger("flask_nicepay")

#: The name of the task that processes one recorded notification.
PROCESS_TASK = "flask_nicepay.process_notification"


def deferring(app: Flask | None = None) -> bool:
    """Whether the app's notifications are processed by Celery workers."""
    return app_state(app).settings.processing == "celery"


def hand_off(entry_id: int, app: Flask | None = None) -> bool:
    """Send a recorded notification to the workers.

    Called after its row is committed. A failure to send is logged, not raised:
    the row stays ``received``, and what finds such rows processes it later.

    :returns: whether the broker took the message.
    """
    target = app or current_app
    celery_app: t.Any = target.extensions.get("celery")
    if celery_app is None:
        logger.error(
            "Notification %s recorded but not queued: NICEPAY_PROCESSING is "
            "'celery' and the app has no Celery app in app.extensions['celery'] "
            "(see flask_nicepay.tasks.celery_init_app).",
            entry_id,
        )
        return False
    try:
        celery_app.send_task(PROCESS_TASK, args=(entry_id,))
    except Exception:  # the broker's errors are its transport's, of every kind
        logger.exception(
            "Notification %s recorded but not queued; it stays received.", entry_id
        )
        return False
    return True


def pending(merchant_uid: str, app: Flask | None = None) -> bool:
    """Whether a notification about the order still waits for a worker."""
    inbox = app_state(app).payments.inbox
    waiting = inbox.search(
        outcomes=[Outcome.RECEIVED], merchant_uid=merchant_uid, limit=1
    )
    return bool(waiting)
