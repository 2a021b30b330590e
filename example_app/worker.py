"""The shop's Celery app, for ``celery -A example_app.worker worker`` (and ``beat``).

Start it with ``FLASK_NICEPAY_PROCESSING=celery`` in the environment, like the
web server, so both build the same app.
"""

from __future__ import annotations

from . import create_app

flask_app = create_app()
if "celery" not in flask_app.extensions:
    raise RuntimeError(
        "The shop runs its payments inline: set FLASK_NICEPAY_PROCESSING=celery "
        "for the web server and the worker alike."
    )
celery_app = flask_app.extensions["celery"]
