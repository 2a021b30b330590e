"""The Celery tasks of deferred processing (``pip install 'Flask-NicePay[celery]'``).

The task runs :meth:`Notifications.process
<flask_nicepay.notifications.Notifications.process>` inside the Flask app's
context, as Flask's "Background Tasks with Celery" pattern sets up: a store without
a Celery app makes one with :func:`celery_init_app`; a store with one adds this
module to its ``include`` (or calls :func:`celery_tasks`). The janitor's passes
are tasks too, which Celery beat runs on :func:`beat_schedule`'s timetable.

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

from .deferred import PROCESS_BATCH_TASK
from .deferred import PROCESS_TASK
from .inbox import Outcome
from .janitor import PASSES
from .portone.redact import redact
from .state import app_state

logger = logging.getLogger("flask_nicepay")

#: How many times a processing that could not reach PortOne is retried.
RETRIES = 5
#: The name of the task that runs one of the janitor's passes.
JANITOR_TASK = "flask_nicepay.janitor_pass"
#: How often Celery beat runs each of the janitor's passes, in seconds: the
#: notifications every minute, the passes that ask PortOne about orders every five.
JANITOR_EVERY: dict[str, float] = {
    "stale_inbox": 60.0,
    "failed_inbox": 60.0,
    "open_orders": 300.0,
    "vbanks": 300.0,
    "refunds": 300.0,
    "subscriptions": 300.0,
}
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
    _need_app_context(PROCESS_TASK)
    try:
        outcome = _process(entry_id)
    except Exception as exc:  # the database, mid-processing: the row is kept
        raise task.retry(exc=exc, countdown=_pause(task)) from None
    if outcome == Outcome.ERROR:
        try:
            raise task.retry(countdown=_pause(task))
        except MaxRetriesExceededError:
            logger.warning(
                "Notification %s: PortOne still unreachable after %s retries; "
                "the row stays error for replay.",
                entry_id,
                task.max_retries,
            )
    return outcome


@shared_task(  # type: ignore[untyped-decorator]  # Celery ships no types
    name=PROCESS_BATCH_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def process_notifications(entry_ids: list[int]) -> dict[str, str]:
    """Process several recorded notifications in turn (a relay's batch).

    One that needs a retry (PortOne unreachable, the database failing) goes on as
    a :data:`~flask_nicepay.deferred.PROCESS_TASK` of its own, with that task's
    backoff and bound, and the rest of the batch carries on.

    :returns: what each came to, by id.
    """
    _need_app_context(PROCESS_BATCH_TASK)
    done: dict[str, str] = {}
    for entry_id in entry_ids:
        try:
            outcome = _process(int(entry_id))
        except Exception:
            logger.exception("Notification %s: processing failed.", entry_id)
            outcome = Outcome.ERROR
        if outcome == Outcome.ERROR:
            outcome = _retry_alone(int(entry_id))
        done[str(entry_id)] = outcome
    return done


def _retry_alone(entry_id: int) -> str:
    """Send one row of a batch to be retried by a task of its own."""
    pause = float(getattr(process_notification, "backoff_base", BACKOFF_BASE))
    try:
        process_notification.apply_async((entry_id,), countdown=pause)
    except Exception:  # the broker's errors are its transport's, of every kind
        logger.exception(
            "Notification %s: its retry was not queued; the row stays error for "
            "the janitor's failed_inbox pass.",
            entry_id,
        )
        return str(Outcome.ERROR)
    return "retrying"


def _process(entry_id: int) -> str:
    """What processing one row came to; ``"missing"`` for a row not there."""
    notifications = app_state().payments.notifications
    try:
        return str(notifications.process(entry_id, unless_done=True).outcome)
    except LookupError:
        logger.error("Notification %s: no such row; nothing to process.", entry_id)
        return "missing"


@shared_task(  # type: ignore[untyped-decorator]  # Celery ships no types
    name=JANITOR_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def janitor_pass(name: str) -> dict[str, t.Any]:
    """Run one of the janitor's passes (:data:`~flask_nicepay.janitor.PASSES`);
    returns its report as a mapping.

    A pass is safe on many workers at once and safe to run twice (its claims and
    the order's compare-and-swap see to it), so a message delivered again, or beat
    running on two hosts by mistake, costs only the work.

    :param name: the pass, such as ``"stale_inbox"``.
    """
    _need_app_context(JANITOR_TASK)
    report = app_state().payments.janitor.run_pass(name)
    if not report.ok:
        logger.warning("Janitor pass %s: %s", name, redact("; ".join(report.errors)))
    elif any(report.counts.values()):
        logger.info("Janitor pass %s: %s", name, report.counts)
    return report.as_dict()


def beat_schedule(
    every: t.Mapping[str, float] | None = None,
) -> dict[str, dict[str, t.Any]]:
    """Celery beat's entries for the janitor: each pass, on its own period.

    Each message expires after its period, so a worker that comes back after an
    outage finds one pass of each kind to run, not a backlog of them. A store with
    its own Celery app adds them with ``celery_app.conf.beat_schedule.update(
    beat_schedule())``; :func:`celery_init_app` does it for its app.

    :param every: periods in seconds that replace those of :data:`JANITOR_EVERY`,
        by pass; a period of ``0`` leaves that pass out.
    """
    periods = {**JANITOR_EVERY, **(every or {})}
    unknown = set(periods) - set(PASSES)
    if unknown:
        raise ValueError(f"No janitor pass {', '.join(sorted(unknown))}.")
    return {
        f"nicepay-janitor-{name}": {
            "task": JANITOR_TASK,
            "schedule": float(seconds),
            "args": (name,),
            "options": {"expires": float(seconds)},
        }
        for name, seconds in periods.items()
        if seconds
    }


def celery_tasks(celery_app: Celery) -> dict[str, Task]:
    """The plugin's tasks, registered on a store's own Celery app.

    Importing this module is what adds them (they are shared tasks); this returns
    them by name, for a store that prefers a call to an ``include`` entry.
    """
    names = (PROCESS_TASK, PROCESS_BATCH_TASK, JANITOR_TASK)
    return {name: celery_app.tasks[name] for name in names}


def celery_init_app(app: Flask) -> Celery:
    """A Celery app for a Flask app, after Flask's documented pattern.

    Every task runs inside ``app.app_context()``; the settings are the app's
    ``CELERY`` mapping (``broker_url`` and friends, Celery's own names); the
    Celery app becomes the default one and is kept at ``app.extensions["celery"]``,
    where the routes find it to send work to. Its beat schedule holds the
    janitor's passes (:func:`beat_schedule`) beside the store's own entries.

    A worker runs with ``celery -A yourapp.celery_app worker`` once the module
    ``yourapp`` has built the app and named its Celery app ``celery_app``.
    """

    class FlaskTask(Task):  # type: ignore[misc]  # Celery ships no types
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config.get("CELERY", {}))
    # The janitor's entries, under whatever the store's own settings schedule.
    celery_app.conf.beat_schedule = {
        **beat_schedule(),
        **(celery_app.conf.beat_schedule or {}),
    }
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def _need_app_context(task: str) -> None:
    if not has_app_context():
        raise RuntimeError(
            f"{task} runs inside the Flask app's context: make the Celery "
            "app with flask_nicepay.tasks.celery_init_app(app), or give it a task "
            "class that enters app.app_context() as Flask's Celery pattern does."
        )
