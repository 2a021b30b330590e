"""The Celery tasks of deferred processing (``pip install 'Flask-NicePay[celery]'``).

The task runs :meth:`Notifications.process
<flask_nicepay.notifications.Notifications.process>` inside the Flask app's
context, as Flask's "Background Tasks with Celery" pattern sets up: a store without
a Celery app makes one with :func:`celery_init_app`; a store with one adds this
module to its ``include`` (or calls :func:`celery_tasks`).

Exactly once does not rest on the broker. The task acknowledges its message only
when it has finished (``acks_late``) and gives it back when its worker dies
(``reject_on_worker_lost``), so a message may run twice; the order's
compare-and-swap makes the second run change nothing. A message for a
notification already processed is a no-op: the row keeps what its first
processing found. A processing that could not reach PortOne is retried with a
growing pause (:data:`RETRIES` times, :data:`BACKOFF_BASE` seconds doubled each
time, at most :data:`BACKOFF_MAX`); after that the row stays ``error`` for
``replay`` or a periodic pass. Celery's ``task_annotations`` change them per store:
``max_retries``, ``backoff_base`` and ``backoff_max`` of
``flask_nicepay.process_notification``.
"""

from __future__ import annotations

import logging
import typing as t

from celery import Celery
from celery import Task
from celery import shared_task
from celery.exceptions import MaxRetriesExceededError
from flask import Flask
from flask import has_app_context

from .deferred import PROCESS_TASK
from .inbox import Outcome
from .state import app_state

logger = logging.getLogger("flask_nicepay")

#: How many times a processing that could not reach PortOne is retried.
RETRIES = 5


#: Seconds before the first retry; each next one waits twice as long.
BACKOFF_BASE = 2.0
#: The longest pause between two retries, in seconds.
BACKOFF_MAX = 300.0


def _pause(task: t.Any) -> float:
    """Seconds to wait before the task's next retry."""
    base = float(getattr(task, "backoff_base", BACKOFF_BASE))
    longest = float(getattr(task, "backoff_max", BACKOFF_MAX))
    return float(min(longest, base * 2 ** int(task.request.retries)))


@shared_task(  # type: ignore[untyped-decorator]  # Celery ships no types
    name=PROCESS_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=RETRIES,
)
def process_notification(task: t.Any, entry_id: int) -> str:
    """Process one recorded notification; returns what it came to.

    :param entry_id: the inbox row's id.
    """
    if not has_app_context():
        raise RuntimeError(
            f"{PROCESS_TASK} runs inside the Flask app's context: make the Celery "
            "app with flask_nicepay.tasks.celery_init_app(app), or give it a task "
            "class that enters app.app_context() as Flask's Celery pattern does."
        )
    notifications = app_state().payments.notifications
    try:
        outcome = notifications.process(entry_id, unless_done=True).outcome
    except LookupError:
        logger.error("Notification %s: no such row; nothing to process.", entry_id)
        return "missing"
    except Exception as exc:  # the database, mid-processing: the row is kept
        raise task.retry(exc=exc, countdown=_pause(task)) from None
    if outcome is Outcome.ERROR:
        try:
            raise task.retry(countdown=_pause(task))
        except MaxRetriesExceededError:
            logger.warning(
                "Notification %s: PortOne still unreachable after %s retries; "
                "the row stays error for replay.",
                entry_id,
                task.max_retries,
            )
    return str(outcome)


def celery_tasks(celery_app: Celery) -> dict[str, Task]:
    """The plugin's tasks, registered on a store's own Celery app.

    Importing this module is what adds them (they are shared tasks); this returns
    them by name, for a store that prefers a call to an ``include`` entry.
    """
    return {PROCESS_TASK: celery_app.tasks[PROCESS_TASK]}


def celery_init_app(app: Flask) -> Celery:
    """A Celery app for a Flask app, after Flask's documented pattern.

    Every task runs inside ``app.app_context()``; the settings are the app's
    ``CELERY`` mapping (``broker_url`` and friends, Celery's own names); the
    Celery app becomes the default one and is kept at ``app.extensions["celery"]``,
    where the routes find it to send work to.

    A worker runs with ``celery -A yourapp.celery_app worker`` once the module
    ``yourapp`` has built the app and named its Celery app ``celery_app``.
    """

    class FlaskTask(Task):  # type: ignore[misc]  # Celery ships no types
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config.get("CELERY", {}))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
