"""``celery -A tests.deferred.worker_app worker``: the shop's Celery app."""

from __future__ import annotations

import flask_nicepay.tasks  # noqa: F401  (the plugin's tasks)

from .queued_shop import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
