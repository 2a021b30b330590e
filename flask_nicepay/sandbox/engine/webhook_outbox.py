"""Webhooks as PortOne sends them: an outbox, its faults, its log and its sender.

Each event becomes one pending delivery per URL (the payment's ``notice_url``
list, else the console URL) with a due time on the sandbox clock. In manual mode
they wait for :meth:`Outbox.deliver_due`; in auto mode a :class:`Dispatcher`
thread delivers them as they fall due. The sandbox lock guards the queue, but a
send never holds it: a store's handler may call the sandbox API back.

Like PortOne there is one attempt by default; with ``retries`` the failed ones
(network error or 5xx) are tried up to five more times, a minute apart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Any
from typing import Final
from typing import Literal
from urllib.parse import urlencode

import requests

from ..model.clock import Clock
from ..model.records import Notice

log = logging.getLogger("flask_nicepay.sandbox")

#: How the console encodes webhooks: ``json`` or ``form``.
Format = Literal["json", "form"]
CONTENT_TYPES: Final[dict[str, str]] = {
    "json": "application/json",
    "form": "application/x-www-form-urlencoded",
}
#: PortOne's timeouts for a first delivery (portone-v1.md §8).
TIMEOUT: Final = (10, 30)
RETRY_LIMIT: Final = 5
RETRY_INTERVAL: Final = 60
FAULT_KINDS: Final = ("drop", "duplicate", "delay", "reorder")
#: Most entries the webhook log keeps (the most recent ones).
LOG_LIMIT: Final = 1000


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook delivery, as handed to the sender and kept in the log.

    :param url: where it goes; None when no URL is configured (``not_sent``).
    :param body: ``{imp_uid, merchant_uid, status}`` (+ ``cancellation_id``).
    :param content_type: ``application/json`` or form encoding.
    :param kind: ``delivered``, ``duplicate`` (an extra copy from a fault),
        ``dropped`` (lost to a fault) or ``not_sent`` (no URL).
    :param attempt: 1 for the first try, 2 to 6 for retries.
    :param at: sandbox time of the attempt.
    :param status: the receiver's HTTP status, None when nothing was answered.
    :param error: the network error, if any.
    """

    url: str | None
    body: Mapping[str, str]
    content_type: str
    kind: str
    attempt: int
    at: int
    status: int | None = None
    error: str | None = None

    @property
    def err(self) -> str | None:
        """Short name for ``error``."""
        return self.error

    @property
    def ok(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    def data(self) -> bytes:
        """The request body in the content type."""
        if self.content_type == CONTENT_TYPES["form"]:
            return urlencode(self.body).encode()
        return json.dumps(dict(self.body), ensure_ascii=False).encode()


#: Sends one delivery and returns the HTTP status it got.
Sender = Callable[[WebhookDelivery], int]


def post_with_requests(delivery: WebhookDelivery) -> int:
    """The default sender: a real HTTP POST with PortOne's timeouts.

    :param delivery: what to send.
    """
    assert delivery.url is not None  # only deliveries with a URL are sent
    response = requests.post(
        delivery.url,
        data=delivery.data(),
        headers={"Content-Type": delivery.content_type},
        timeout=TIMEOUT,
    )
    return response.status_code


@dataclass
class _Pending:
    seq: int
    due_at: int
    url: str
    body: Mapping[str, str]
    kind: str = "delivered"
    attempt: int = 1


@dataclass
class _Fault:
    kind: str
    times: int
    delay: int
    copies: int
    held: list[_Pending] = field(default_factory=list)


class Outbox:
    """Pending webhooks, their faults and the delivery log.

    :param lock: the sandbox lock (shared: the queue is sandbox state).
    :param clock: the sandbox clock.
    :param url: the console's notification URL, or None.
    :param fmt: ``json`` or ``form``.
    :param sender: sends one delivery and returns the HTTP status.
    :param retries: PortOne's opt-in retries.
    :param cap: most pending deliveries kept; the log keeps at most
        :data:`LOG_LIMIT` entries below that.
    """

    def __init__(
        self,
        lock: threading.RLock,
        clock: Clock,
        *,
        url: str | None,
        fmt: Format,
        sender: Sender,
        retries: bool,
        cap: int,
    ) -> None:
        if fmt not in CONTENT_TYPES:
            raise ValueError(f"webhook_format must be one of {tuple(CONTENT_TYPES)}")
        self._lock, self._clock = lock, clock
        self.url, self.content_type = url, CONTENT_TYPES[fmt]
        self._sender, self._retries, self._cap = sender, retries, cap
        self._pending: list[_Pending] = []
        self._faults: list[_Fault] = []
        self._seq = 0
        self.log: deque[WebhookDelivery] = deque(maxlen=min(cap, LOG_LIMIT))
        self.wake: Callable[[], None] = lambda: None

    # Called under the lock --------------------------------------------------

    def enqueue(self, notice: Notice) -> None:
        """Queue the deliveries of one event, applying webhook faults.

        :param notice: the event.
        """
        urls = notice.urls or ((self.url,) if self.url else ())
        if not urls:
            self._record(None, notice.body(), "not_sent", 1)
            return
        for url in urls:
            self._seq += 1
            self._apply_fault(
                _Pending(self._seq, self._clock.now(), url, notice.body())
            )

    def _apply_fault(self, item: _Pending) -> None:
        fault = self._faults[0] if self._faults else None
        if fault is None:
            self._push(item)
            return
        if fault.kind == "reorder":
            fault.held.append(item)
            if len(fault.held) >= fault.times:
                self._release(self._faults.pop(0))
            return
        fault.times -= 1
        if fault.times <= 0:
            self._faults.pop(0)
        if fault.kind == "drop":
            self._record(item.url, item.body, "dropped", 1)
        elif fault.kind == "delay":
            self._push(replace(item, due_at=item.due_at + fault.delay))
        else:
            self._push(item)
            for _ in range(fault.copies - 1):
                self._seq += 1
                self._push(replace(item, seq=self._seq, kind="duplicate"))

    def _release(self, fault: _Fault) -> None:
        # Newest first: later events reach the store before earlier ones.
        for item in reversed(fault.held):
            self._seq += 1
            self._push(replace(item, seq=self._seq, due_at=self._clock.now()))

    def _push(self, item: _Pending) -> None:
        self._pending.append(item)
        if len(self._pending) > self._cap:
            lost = self._pending.pop(0)
            self._record(lost.url, lost.body, "dropped", lost.attempt, "outbox full")

    def _record(
        self,
        url: str | None,
        body: Mapping[str, str],
        kind: str,
        attempt: int,
        error: str | None = None,
    ) -> None:
        now = self._clock.now()
        entry = WebhookDelivery(url, body, self.content_type, kind, attempt, now)
        self.log.append(replace(entry, error=error))

    def inject(
        self, kind: str, *, times: int, delay: float | None, copies: int
    ) -> None:
        """Add a webhook fault affecting the next ``times`` deliveries.

        :param kind: ``drop``, ``duplicate``, ``delay`` or ``reorder``.
        :param times: how many deliveries it affects (``reorder``: how many are
            held before they are released newest first).
        :param delay: sandbox seconds a ``delay`` holds each delivery.
        :param copies: how many copies a ``duplicate`` delivers.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"webhook fault kind must be one of {FAULT_KINDS}")
        if times < 1 or copies < 1:
            raise ValueError("times and copies must be at least 1")
        self._faults.append(_Fault(kind, times, int(delay or 60), copies))

    def clear_faults(self) -> None:
        """Drop webhook faults; deliveries a ``reorder`` holds are released."""
        for fault in self._faults:
            self._release(fault)
        self._faults.clear()

    def clear(self) -> None:
        """Forget pending deliveries, faults and the log."""
        self._pending.clear()
        self._faults.clear()
        self.log.clear()

    def pending_count(self) -> int:
        """Deliveries waiting (including those a ``reorder`` holds)."""
        return len(self._pending) + sum(len(f.held) for f in self._faults)

    def fault_list(self) -> list[dict[str, Any]]:
        """The active webhook faults, for the state dump."""
        return [
            {
                "kind": f.kind,
                "times": f.times,
                "delay": f.delay,
                "copies": f.copies,
                "held": len(f.held),
            }
            for f in self._faults
        ]

    def seconds_to_next(self) -> float | None:
        """Sandbox seconds until the next delivery falls due, or None."""
        with self._lock:
            if not self._pending:
                return None
            return max(min(p.due_at for p in self._pending) - self._clock.now(), 0)

    # Called without the lock ------------------------------------------------

    def deliver_due(self) -> list[WebhookDelivery]:
        """Send every delivery that is due, in due order; return what was sent."""
        with self._lock:
            now = self._clock.now()
            due = sorted(
                (p for p in self._pending if p.due_at <= now),
                key=lambda p: (p.due_at, p.seq),
            )
            taken = {id(p) for p in due}
            self._pending = [p for p in self._pending if id(p) not in taken]
        return [self._send(item) for item in due]

    def _send(self, item: _Pending) -> WebhookDelivery:
        delivery = WebhookDelivery(
            item.url,
            item.body,
            self.content_type,
            item.kind,
            item.attempt,
            self._clock.now(),
        )
        try:
            delivery = replace(delivery, status=self._sender(delivery))
        except Exception as error:
            delivery = replace(delivery, error=f"{type(error).__name__}: {error}")
        log.info(
            "webhook %s to %s: %s",
            delivery.body.get("status"),
            delivery.url,
            delivery.status if delivery.error is None else delivery.error,
        )
        with self._lock:
            self.log.append(delivery)
            if self._should_retry(delivery):
                self._seq += 1
                self._pending.append(
                    replace(
                        item,
                        seq=self._seq,
                        attempt=item.attempt + 1,
                        due_at=delivery.at + RETRY_INTERVAL,
                    )
                )
        return delivery

    def _should_retry(self, delivery: WebhookDelivery) -> bool:
        failed = delivery.error is not None or (delivery.status or 0) >= 500
        return self._retries and failed and delivery.attempt <= RETRY_LIMIT


class Dispatcher:
    """The auto-mode thread: delivers webhooks as soon as they fall due.

    :param outbox: the outbox to drain.
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._event = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="sandbox-webhooks", daemon=True
        )
        outbox.wake = self._event.set
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._outbox.deliver_due()
            wait = self._outbox.seconds_to_next()
            # Capped: the clock can be moved while we sleep.
            self._event.wait(1.0 if wait is None else min(max(wait, 0.05), 1.0))
            self._event.clear()

    def stop(self) -> None:
        """Stop the thread and wait for it (a send in progress finishes first)."""
        self._stopping = True
        self._event.set()
        self._thread.join(timeout=5)
