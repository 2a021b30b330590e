"""The :class:`Account`: one offline PortOne V1 account, with no HTTP surface.

It owns the state (a :class:`~flask_nicepay.sandbox.model.record_store.Ledger`),
the clock, the webhook outbox and the API faults. One lock guards the state; it is
never held while a webhook is sent or a fault sleeps. With a ``state_file``, the
records and the clock live in a :class:`~flask_nicepay.sandbox.model.shared_file.
SharedFile` too, and every process opening that file sees one account: each engine
call then holds the file's lock as well (see :meth:`Account.run`). The HTTP layer's
:class:`~flask_nicepay.sandbox.Sandbox` adds the Flask app and the results as JSON.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any
from typing import Self
from typing import TypeVar

from ..model.access_tokens import TokenStore
from ..model.clock import Clock
from ..model.pg_settings import PgSetting
from ..model.record_store import Ledger
from ..model.shared_file import SharedFile
from .cancels import TAX_MODES
from .faults import FaultBook
from .webhook_outbox import Dispatcher
from .webhook_outbox import Format
from .webhook_outbox import Outbox
from .webhook_outbox import Sender
from .webhook_outbox import WebhookDelivery
from .webhook_outbox import post_with_requests

T = TypeVar("T")


class Account:
    """The state and the engine calls of one sandbox account.

    The parameters are those of :class:`~flask_nicepay.sandbox.Sandbox`.
    """

    def __init__(
        self,
        imp_key: str = "sandbox_key",
        imp_secret: str = "sandbox_secret",  # noqa: S107 - a documented test value
        *,
        webhook_url: str | None = None,
        webhook_format: Format = "json",
        webhook_sender: Sender | None = None,
        webhook_retries: bool = False,
        auto_deliver: bool = False,
        clock_offset: float = 0.0,
        max_payments: int = 100_000,
        merchant_name: str = "(주)샌드박스상점",
        state_file: str | os.PathLike[str] | None = None,
        state_owner: str | None = None,
    ) -> None:
        self.imp_key, self._imp_secret = imp_key, imp_secret
        self._initial_offset, self._lock = clock_offset, threading.RLock()
        self._depth = 0  # holds of _held() in progress
        self.shared = (
            None if state_file is None else SharedFile(state_file, state_owner)
        )
        self.clock = Clock(clock_offset)
        self._outbox = Outbox(
            self._lock,
            self.clock,
            url=webhook_url,
            fmt=webhook_format,
            sender=webhook_sender or post_with_requests,
            retries=webhook_retries,
            cap=max_payments,
        )
        self._ledger = self._new_ledger(max_payments, merchant_name)
        #: The API faults waiting to hit (:meth:`inject_fault` adds them).
        self.faults, self._connections = FaultBook(self._lock), 0
        self._build_surface(max_payments)
        self._dispatcher = Dispatcher(self._outbox) if auto_deliver else None

    def _new_ledger(self, max_records: int, merchant_name: str) -> Ledger:
        tokens = TokenStore(self.imp_key, self._imp_secret)
        return Ledger(
            self.clock,
            tokens,
            self._outbox.enqueue,
            max_records=max_records,
            merchant_name=merchant_name,
        )

    def _build_surface(self, max_records: int) -> None:
        """Build what serves the account: nothing here, the Flask app upstairs.

        :param max_records: the bound on each table, for what the surface keeps.
        """

    @property
    def imp_secret(self) -> str:
        """The REST API secret (kept out of ``repr`` and logs)."""
        return self._imp_secret

    # Plumbing ---------------------------------------------------------------

    def run(self, operation: Callable[[Ledger], T]) -> T:
        """Run an engine call under the lock, then let webhooks go.

        :param operation: takes the ledger; serialize inside it.
        """
        with self._held():
            result = operation(self._ledger)
        self._outbox.wake()
        return result

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        """The lock, and with a state file every process's lock and the latest state.

        Re-entrant: only the outermost hold reads and writes the file.
        """
        with self._lock:
            self._depth += 1
            try:
                if self.shared is None or self._depth > 1:
                    yield
                else:
                    with self.shared.hold(self._ledger, self.clock):
                        yield
            finally:
                self._depth -= 1

    def close(self) -> None:
        """Stop the webhook thread of auto mode (pending deliveries stay)."""
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None
        if self.shared is not None:
            with self._lock:
                self.shared.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def note_connection(self) -> None:
        """Count a TCP connection accepted by :func:`~flask_nicepay.sandbox.serve`."""
        with self._lock:
            self._connections += 1

    @property
    def connections_accepted(self) -> int:
        """TCP connections the servers of this sandbox accepted."""
        return self._connections

    def now(self) -> int:
        """Sandbox time, UNIX seconds."""
        return self.clock.now()

    def moment(self) -> datetime:
        """Sandbox time as an aware datetime, to the microsecond."""
        offset = self.clock.offset
        if self.shared is not None:  # another process may have moved it
            with self._lock:
                found = self.shared.clock_offset()
            offset = offset if found is None else found
        return datetime.fromtimestamp(time.time() + offset, UTC)

    # The console ------------------------------------------------------------

    def add_pg_setting(
        self,
        mid: str,
        *,
        kind: str,
        test: bool = False,
        channel_key: str | None = None,
        pg_provider: str = "nice",
    ) -> PgSetting:
        """Add a PG setting to the account, as in PortOne's console.

        A request then selects it by its channel key, or by ``pg`` as
        ``{pg_provider}.{mid}``; the defaults (the first setting of each kind)
        stay those the sandbox starts with. It outlives :meth:`reset`.

        :param mid: the MID at the PG, reported as ``pg_id``.
        :param kind: ``window`` (the payment window) or ``api`` (billing keys,
            key-in, schedules, ``POST /vbanks``).
        :param test: a test-mode setting (payments report ``sandbox: true``).
        :param channel_key: its channel key; by default
            ``channel-key-sandbox-{pg_provider}-{mid}``.
        :param pg_provider: PortOne's PG code, e.g. ``nice`` or ``kakaopay``.
        :returns: the setting.
        :raises ValueError: for a value PortOne's console would not take, or a
            channel key the account already has.
        """
        key = channel_key or f"channel-key-sandbox-{pg_provider}-{mid}"
        setting = PgSetting(pg_provider, mid, kind, bool(test), key)
        with self._held():
            return self._ledger.pg_settings.add(setting)

    def pg_settings(self) -> tuple[PgSetting, ...]:
        """Every PG setting of the account, the four built-in ones first."""
        with self._held():
            return self._ledger.pg_settings.all()

    def add_pg_channel(self, pg_provider: str) -> PgSetting:
        """Set up another PG for API payments, next to NICE.

        A key-in payment whose ``pg`` names it (``kakaopay`` or
        ``kakaopay.{MID}``) then goes through that PG and reports it as its
        ``pg_provider``, as PortOne does for an account with several channels.
        Its MID is the PG code; :meth:`add_pg_setting` sets one up in full.
        Adding the same PG again changes nothing.

        :param pg_provider: PortOne's PG code, e.g. ``kakaopay``.
        """
        with self._held():
            settings = self._ledger.pg_settings
            found = settings.find(pg_provider, pg_provider)
            return found or self.add_pg_setting(
                pg_provider, kind="api", pg_provider=pg_provider
            )

    def set_tax_mode(self, mode: str) -> None:
        """Set the NICE MID's tax mode, as NICE's merchant settings do.

        ``auto`` (the default): NICE works the VAT out of what a cancel leaves
        unsaid. ``fixed`` (지정금액): a partial cancel must state its ``tax_free``
        and ``vat_amount``, or it is refused with NICE's code 1617.

        :param mode: ``auto`` or ``fixed``.
        """
        if mode not in TAX_MODES:
            raise ValueError(f"tax mode must be one of {', '.join(TAX_MODES)}")
        with self._held():
            self._ledger.tax_mode = mode

    @property
    def tax_mode(self) -> str:
        """The NICE MID's tax mode: ``auto`` or ``fixed``."""
        with self._held():
            return self._ledger.tax_mode

    # Webhooks and faults ----------------------------------------------------

    def deliver_webhooks(self) -> list[WebhookDelivery]:
        """Deliver every webhook that is due now; return the attempts made."""
        return self._outbox.deliver_due()

    @property
    def webhook_log(self) -> tuple[WebhookDelivery, ...]:
        """Recent deliveries, drops and unsent events, most recent last."""
        with self._lock:
            return tuple(self._outbox.log)

    def inject_fault(
        self,
        kind: str,
        *,
        path: str = "*",
        method: str = "*",
        times: int = 1,
        delay: float | None = None,
    ) -> None:
        """Make the next matching API requests fail.

        :param kind: ``500``, ``503``, ``slow``, ``timeout``, ``disconnect`` or
            ``connect_error``.
        :param path: glob on the request path.
        :param method: HTTP method or ``*``.
        :param times: how many requests it hits.
        :param delay: seconds for ``slow`` (required) and ``timeout`` (60).
        """
        self.faults.add(kind, path=path, method=method, times=times, delay=delay)

    def before_next_request(
        self, action: Callable[[], object], *, path: str = "*", method: str = "*"
    ) -> None:
        """Run ``action`` just before the next matching API request is handled.

        For races no caller can time: ``sb.before_next_request(lambda:
        sb.console_cancel(imp_uid, 5000), path="/payments/cancel")`` lands a
        console cancel after the caller read the balance, before its cancel.

        :param action: called once, outside the sandbox lock.
        :param path: glob on the request path.
        :param method: HTTP method or ``*``.
        """
        self.faults.add_hook(action, path=path, method=method)

    def inject_webhook_fault(
        self,
        kind: str,
        *,
        times: int = 1,
        delay: float | None = None,
        copies: int = 2,
    ) -> None:
        """Disturb the next webhooks.

        :param kind: ``drop``, ``duplicate``, ``delay`` or ``reorder``.
        :param times: deliveries affected (``reorder``: held, then released
            newest first).
        :param delay: sandbox seconds a ``delay`` holds each one (default 60).
        :param copies: deliveries a ``duplicate`` makes.
        """
        with self._lock:
            self._outbox.inject(kind, times=times, delay=delay, copies=copies)

    def clear_faults(self) -> None:
        """Remove API and webhook faults (held ``reorder`` webhooks are released)."""
        self.faults.clear()
        with self._lock:
            self._outbox.clear_faults()
        self._outbox.wake()

    def active_faults(self) -> dict[str, list[dict[str, Any]]]:
        """The API faults and webhook faults still waiting to hit."""
        with self._lock:
            return {"api": self.faults.as_list(), "webhooks": self._outbox.fault_list()}

    def reset(self) -> None:
        """Forget everything but the keys and settings; the clock goes back too."""
        with self._held():
            self._ledger.clear()
            self._outbox.clear()
            self.faults.clear()
            self.clock.reset(self._initial_offset)

    # Inspection -------------------------------------------------------------

    def payments_count(self) -> int:
        """How many payments are stored."""
        with self._held():
            return len(self._ledger.payments)

    def cancel_checksums(self, imp_uid: str) -> list[Decimal | None]:
        """The ``checksum`` each accepted cancel of a payment carried, oldest first.

        None for a cancel sent without one, and for a console cancel.

        :param imp_uid: PortOne's id.
        """
        with self._held():
            payment = self._ledger.payment(imp_uid)
            cancellations = payment.cancellations if payment else []
            return [c.checksum for c in cancellations]

    def cancel_tax_parts(
        self, imp_uid: str
    ) -> list[tuple[Decimal | None, Decimal | None]]:
        """The ``(tax_free, vat_amount)`` each accepted cancel of a payment
        carried, oldest first: None for a part not sent, and for a console cancel.

        :param imp_uid: PortOne's id.
        """
        with self._held():
            payment = self._ledger.payment(imp_uid)
            cancellations = payment.cancellations if payment else []
            return [(c.tax_free, c.vat_amount) for c in cancellations]

    def _sizes(self) -> dict[str, int]:
        """How many entries each bounded structure of the engine holds."""
        with self._held():
            led = self._ledger
            return {
                "payments": len(led.payments),
                "merchant_index": led.merchant_index_size(),
                "prepared": len(led.prepared),
                "customers": len(led.customers),
                "schedules": len(led.schedules),
                "outbox": self._outbox.pending_count(),
                "webhook_log": len(self._outbox.log),
            }
