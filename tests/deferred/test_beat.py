"""Celery beat's timetable for the janitor: every pass, on its period, expiring."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_nicepay.janitor import PASSES
from flask_nicepay.tasks import JANITOR_EVERY
from flask_nicepay.tasks import JANITOR_TASK
from flask_nicepay.tasks import beat_schedule
from flask_nicepay.tasks import celery_init_app
from flask_nicepay.tasks import celery_tasks


def test_every_pass_is_scheduled_and_its_messages_expire_with_its_period() -> None:
    schedule = beat_schedule()
    assert set(JANITOR_EVERY) == set(PASSES)
    assert {entry["args"] for entry in schedule.values()} == {(p,) for p in PASSES}
    for entry in schedule.values():
        assert entry["task"] == JANITOR_TASK
        assert entry["options"]["expires"] == entry["schedule"]
    assert schedule["nicepay-janitor-open_orders"]["schedule"] == 300.0


def test_a_period_is_changed_or_left_out_and_an_unknown_pass_refused() -> None:
    schedule = beat_schedule({"stale_inbox": 5, "subscriptions": 0})
    assert schedule["nicepay-janitor-stale_inbox"]["schedule"] == 5.0
    assert "nicepay-janitor-subscriptions" not in schedule
    assert len(schedule) == len(PASSES) - 1
    with pytest.raises(ValueError, match="No janitor pass sweep"):
        beat_schedule({"sweep": 1})


def test_the_plugin_s_celery_app_keeps_the_store_s_own_entries() -> None:
    app = Flask("beat_shop")
    mine = {"task": "shop.nightly", "schedule": 86400.0}
    janitor = {"task": JANITOR_TASK, "schedule": 10.0, "args": ("refunds",)}
    app.config["CELERY"] = {
        "broker_url": "memory://",
        "beat_schedule": {"shop-nightly": mine, "nicepay-janitor-refunds": janitor},
    }
    celery_app = celery_init_app(app)
    entries = celery_app.conf.beat_schedule
    assert entries["shop-nightly"] == mine
    assert entries["nicepay-janitor-refunds"] == janitor  # the store's own wins
    assert entries["nicepay-janitor-vbanks"]["args"] == ("vbanks",)
    assert set(celery_tasks(celery_app)) == {
        JANITOR_TASK,
        "flask_nicepay.process_notification",
        "flask_nicepay.process_notifications",
    }
    celery_app.close()
