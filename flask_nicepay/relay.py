"""The relay: recorded notifications carried to the broker off the request.

In celery mode a door commits its inbox row, puts the row's id on this process's
relay and answers. The relay's thread takes what is waiting, up to
``NICEPAY_CELERY_BATCH`` ids, and publishes them as one message of
:data:`~flask_nicepay.deferred.PROCESS_BATCH_TASK`. Under a burst many ids share a
message, so the broker's cost (a Celery ``send_task`` is most of a millisecond of
CPU) is paid once per batch rather than once per webhook; when hits come one at a
time each goes out alone, at once.

Nothing here is the truth. An id still on the relay when its process dies (a
SIGKILL, a crash) or when the broker refuses it leaves the row ``received``, and the
janitor's ``stale_inbox`` pass processes it once its grace has passed, as it does
for a message the broker lost. At a normal exit the relay publishes what it holds
first.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import typing as t
import weakref

logger = logging.getLogger("flask_nicepay")

#: Seconds the thread waits for work before it stops; the next id starts it again.
IDLE = 5.0
#: Under load (the last batch went out less than this many seconds ago), seconds
#: the thread waits for a batch to fill before it sends what it has. An id that
#: arrives when the relay is quiet goes out at once.
LINGER = 0.05


class Relay:
    """One process's publisher of recorded notification ids, in batches.

    :param publish: sends one batch of ids to the broker; an exception means the
        batch was not taken.
    :param batch: the most ids one message carries.
    """

    def __init__(self, publish: t.Callable[[list[int]], None], batch: int) -> None:
        self.publish = publish
        self.batch = batch
        self._pid = -1
        self._reset()
        _relays.add(self)

    def _reset(self) -> None:
        """A fresh state, in a new process (after a fork) or at first use."""
        self._pid = os.getpid()
        self._lock = threading.Condition()
        self._waiting: list[int] = []
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._last_sent = 0.0

    def put(self, entry_id: int) -> None:
        """Queue one committed row's id; returns at once."""
        if self._pid != os.getpid():
            self._reset()
        with self._lock:
            self._waiting.append(entry_id)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="nicepay-relay", daemon=True
                )
                self._thread.start()
            if len(self._waiting) in (1, self.batch):  # work, or a full batch
                self._lock.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued id has been offered to the broker.

        :returns: whether that happened within ``timeout`` seconds.
        """
        if self._pid != os.getpid():
            return True  # what a parent process queued is not this one's
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._waiting or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._lock.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._waiting and not self._lock.wait_for(
                    lambda: bool(self._waiting), IDLE
                ):
                    self._thread = None
                    return
                if time.monotonic() - self._last_sent < LINGER:
                    self._lock.wait_for(
                        lambda: len(self._waiting) >= self.batch, LINGER
                    )
                ids = self._waiting[: self.batch]
                del self._waiting[: self.batch]
                self._in_flight = len(ids)
            try:
                self._send(ids)
            finally:  # even when the thread itself is ended (the next put restarts it)
                with self._lock:
                    self._last_sent = time.monotonic()
                    self._in_flight = 0
                    self._lock.notify_all()

    def _send(self, ids: list[int]) -> None:
        try:
            self.publish(ids)
        except Exception:  # the broker's errors are its transport's, of every kind
            logger.exception(
                "Notifications %s recorded but not queued; they stay received "
                "for the janitor's stale_inbox pass.",
                ", ".join(map(str, ids)),
            )


_relays: weakref.WeakSet[Relay] = weakref.WeakSet()


@atexit.register
def _drain() -> None:
    """At a normal exit, publish what every relay still holds (briefly)."""
    for relay in list(_relays):
        relay.flush(timeout=5.0)
