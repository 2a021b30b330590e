"""The relay: committed ids carried to the broker in batches, off the request.

These tests drive :class:`~flask_nicepay.relay.Relay` with a publish function of
their own; the tests under ``tests/deferred`` run it against real brokers.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import typing as t

import pytest
from flask import Flask

from flask_nicepay import ConfigurationError
from flask_nicepay import NicePay
from flask_nicepay import relay as relay_module
from flask_nicepay.relay import Relay


class Broker:
    """Takes batches; can be held shut, or made to refuse one."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.refuse: set[int] = set()

    def __call__(self, ids: list[int]) -> None:
        self.gate.wait(30)
        if self.refuse & set(ids):
            raise ConnectionError("the broker is down")
        self.batches.append(list(ids))

    @property
    def taken(self) -> list[int]:
        return [entry_id for batch in self.batches for entry_id in batch]


def test_a_lone_id_goes_out_alone() -> None:
    broker = Broker()
    relay = Relay(broker, batch=10)
    relay.put(1)
    assert relay.flush()
    relay.put(2)
    assert relay.flush()
    assert broker.batches == [[1], [2]]


def test_ids_that_wait_share_messages_of_at_most_the_batch() -> None:
    broker = Broker()
    relay = Relay(broker, batch=10)
    broker.gate.clear()  # the broker is slow: the ids pile up meanwhile
    relay.put(0)
    for entry_id in range(1, 35):
        relay.put(entry_id)
    broker.gate.set()
    assert relay.flush()
    assert broker.taken == list(range(35))  # each once, in the order put
    assert all(len(batch) <= 10 for batch in broker.batches)
    assert len(broker.batches) <= 5  # 1 alone, then at most ceil(34 / 10) more


def test_a_refused_batch_is_logged_and_the_next_still_goes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = Broker()
    broker.refuse = {7}
    relay = Relay(broker, batch=10)
    with caplog.at_level(logging.ERROR, "flask_nicepay"):
        relay.put(7)
        assert relay.flush()
        relay.put(8)
        assert relay.flush()
    assert broker.taken == [8]
    assert "Notifications 7 recorded but not queued" in caplog.text
    assert "stale_inbox" in caplog.text


def test_flush_says_when_the_broker_did_not_answer_in_time() -> None:
    broker = Broker()
    relay = Relay(broker, batch=10)
    broker.gate.clear()
    relay.put(1)
    assert not relay.flush(timeout=0.2)
    broker.gate.set()
    assert relay.flush()
    assert broker.taken == [1]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_thread_ended_by_its_publish_is_replaced_at_the_next_put() -> None:
    """A publish that ends its thread (a ``BaseException`` raised in it): the batch is
    lost to the relay, as to a killed process, and the next id still goes."""
    taken: list[list[int]] = []

    def publish(ids: list[int]) -> None:
        if ids == [1]:
            raise KeyboardInterrupt  # not an Exception: it ends the thread
        taken.append(ids)

    relay = Relay(publish, batch=10)
    relay.put(1)
    assert relay.flush()  # offered; nothing is left in flight
    dead = relay._thread
    assert dead is not None
    dead.join(5)
    relay.put(2)
    assert relay.flush()
    assert taken == [[2]]


def test_the_thread_stops_when_idle_and_starts_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relay_module, "IDLE", 0.05)
    broker = Broker()
    relay = Relay(broker, batch=10)
    relay.put(1)
    assert relay.flush()
    first = relay._thread
    assert first is not None
    first.join(5)
    assert not first.is_alive() and relay._thread is None
    relay.put(2)
    assert relay.flush()
    assert broker.taken == [1, 2]


def _child(relay: Relay, broker: Broker, answers: t.Any) -> None:
    try:
        broker.gate.set()  # the child's copy of the broker is open
        relay.put(2)
        answers.put((relay.flush(), broker.taken))
    except Exception as exc:  # reported to the parent, which fails the test
        answers.put(repr(exc))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
def test_a_forked_child_has_a_relay_of_its_own() -> None:
    """A gunicorn worker forked from a master that used the relay: the parent's
    waiting ids and its thread are not the child's."""
    broker = Broker()
    relay = Relay(broker, batch=10)
    broker.gate.clear()
    relay.put(1)  # the parent's thread is held in publish
    relay.put(3)  # and this one waits behind it
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    child = context.Process(target=_child, args=(relay, broker, answers))
    child.start()
    assert answers.get(timeout=30) == (True, [2])
    child.join(30)
    assert child.exitcode == 0
    broker.gate.set()
    assert relay.flush()
    assert broker.taken == [1, 3]


def test_the_batch_is_a_checked_setting() -> None:
    app = Flask(__name__)
    app.config["NICEPAY_CELERY_BATCH"] = 0
    with pytest.raises(ConfigurationError, match="NICEPAY_CELERY_BATCH"):
        NicePay(app)
