"""The :class:`Sandbox`: one offline PortOne V1 account, driven from Python or HTTP.

It owns the state (a :class:`~flask_nicepay.sandbox.model.record_store.Ledger`), the
clock, the webhook outbox, the API faults and the Flask app serving the REST and control
APIs. One lock guards the state; it is never held while a webhook is sent or a fault
sleeps.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from collections.abc import Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any
from typing import Final
from typing import TypeVar

import requests

from ..engine import cancels
from ..engine import schedules
from ..engine import vbanks
from ..engine import window
from ..engine.faults import FaultBook
from ..engine.webhook_outbox import Dispatcher
from ..engine.webhook_outbox import Format
from ..engine.webhook_outbox import Outbox
from ..engine.webhook_outbox import Sender
from ..engine.webhook_outbox import WebhookDelivery
from ..engine.webhook_outbox import post_with_requests
from ..model.access_tokens import TokenStore
from ..model.clock import Clock
from ..model.record_store import Ledger
from ..model.sandbox_errors import CheckoutRefused
from ..model.values import Params
from .adapter import SandboxAdapter
from .flask_app import create_app
from .sdk_windows import WindowBook
from .serialize import customer_json
from .serialize import payment_json
from .serialize import prepared_json
from .serialize import schedule_json

log = logging.getLogger("flask_nicepay.sandbox")
T = TypeVar("T")
_DUMP_LIMIT: Final = 50


class Sandbox:
    """An offline PortOne V1 account with the NICE old module.

    :param imp_key: REST API key ``getToken`` accepts.
    :param imp_secret: REST API secret ``getToken`` accepts.
    :param webhook_url: the console's notification URL; a payment's
        ``notice_url`` replaces it.
    :param webhook_format: ``json`` or ``form``, as set in the console.
    :param webhook_sender: sends one delivery and returns the HTTP status
        (default: ``requests.post`` with 10 s connect and 30 s read timeouts).
    :param webhook_retries: PortOne's opt-in retries: up to 5 more attempts a
        minute apart after a network error or a 5xx.
    :param auto_deliver: deliver webhooks from a background thread as they fall
        due, instead of waiting for :meth:`deliver_webhooks`.
    :param clock_offset: seconds added to the real time.
    :param max_payments: bound on payments and on each other table.
    :param merchant_name: holder name of virtual accounts issued by the window.
    """

    #: Base URL for :meth:`session` and :class:`~flask_nicepay.sandbox.SandboxAdapter`.
    base_url: Final = "http://sandbox.portone.invalid"

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
    ) -> None:
        self.imp_key = imp_key
        self._imp_secret = imp_secret
        self._initial_offset = clock_offset
        self._lock = threading.RLock()
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
        self._ledger = Ledger(
            self.clock,
            TokenStore(imp_key, imp_secret),
            self._outbox.enqueue,
            max_records=max_payments,
            merchant_name=merchant_name,
        )
        self.faults = FaultBook(self._lock)
        #: Payment windows opened by the browser SDK and not finished yet.
        self.sdk_windows = WindowBook(max_payments)
        self._connections = 0
        self.app = create_app(self)
        self._dispatcher = Dispatcher(self._outbox) if auto_deliver else None

    def __repr__(self) -> str:
        return f"Sandbox(imp_key={self.imp_key!r}, base_url={self.base_url!r})"

    @property
    def imp_secret(self) -> str:
        """The REST API secret (kept out of ``repr`` and logs)."""
        return self._imp_secret

    # Plumbing ---------------------------------------------------------------

    def run(self, operation: Callable[[Ledger], T]) -> T:
        """Run an engine call under the lock, then let webhooks go.

        :param operation: takes the ledger; serialize inside it.
        """
        with self._lock:
            result = operation(self._ledger)
        self._outbox.wake()
        return result

    def session(self) -> requests.Session:
        """A ``requests.Session`` reaching the sandbox in-process at ``base_url``."""
        session = requests.Session()
        session.mount(self.base_url, SandboxAdapter(self))
        return session

    def close(self) -> None:
        """Stop the webhook thread of auto mode (pending deliveries stay)."""
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None

    def __enter__(self) -> Sandbox:
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

    # Clock ------------------------------------------------------------------

    def now(self) -> int:
        """Sandbox time, UNIX seconds."""
        return self.clock.now()

    def advance_clock(self, seconds: float) -> list[dict[str, Any]]:
        """Move the clock forward and run the schedules that became due.

        :param seconds: how far.
        :returns: the schedules executed.
        """
        with self._lock:
            self.clock.advance(seconds)
        return self.run_due_schedules()

    def set_clock(self, timestamp: float) -> list[dict[str, Any]]:
        """Move the clock to a later time and run the schedules that became due.

        :param timestamp: UNIX seconds, not earlier than now.
        :returns: the schedules executed.
        """
        with self._lock:
            self.clock.set(timestamp)
        return self.run_due_schedules()

    def run_due_schedules(self) -> list[dict[str, Any]]:
        """Execute every schedule with ``schedule_at`` <= now."""
        return self.run(
            lambda led: [
                schedule_json(s, led.payment(s.imp_uid or ""))
                for s in schedules.run_due(led)
            ]
        )

    # The buyer --------------------------------------------------------------

    def checkout(
        self,
        merchant_uid: str,
        amount: int | float | Decimal,
        pay_method: str = "card",
        outcome: str = "approve",
        *,
        currency: str = "KRW",
        channel: str = "pc",
        name: str | None = "샌드박스 주문",
        buyer_name: str | None = None,
        buyer_email: str | None = None,
        buyer_tel: str | None = None,
        buyer_addr: str | None = None,
        buyer_postcode: str | None = None,
        card_number: str | None = None,
        card_code: str | None = None,
        card_quota: int = 0,
        vbank_code: str | None = None,
        vbank_due: str | int | None = None,
        notice_url: str | list[str] | None = None,
        custom_data: Any = None,
        escrow: bool = False,
        nice_mobile_v2: bool = False,
        user_agent: str | None = None,
        tax_free: int | Decimal | None = None,
        vat_amount: int | Decimal | None = None,
    ) -> dict[str, Any]:
        """Open the payment window and finish it in one call.

        :param outcome: ``approve``, ``decline`` or ``close``.
        :param card_quota: installment months the buyer picks; offered through
            ``display.card_quota`` when 2 or more.
        :returns: the Payment JSON.
        :raises CheckoutRefused: where ``IMP.request_pay`` refuses.

        The other parameters are ``IMP.request_pay``'s.
        """
        params: dict[str, Any] = {
            "merchant_uid": merchant_uid,
            "amount": amount,
            "pay_method": pay_method,
            "currency": currency,
            "name": name,
            "buyer_name": buyer_name,
            "buyer_email": buyer_email,
            "buyer_tel": buyer_tel,
            "buyer_addr": buyer_addr,
            "buyer_postcode": buyer_postcode,
            "vbank_due": vbank_due,
            "notice_url": notice_url,
            "custom_data": custom_data,
            "escrow": escrow,
            "niceMobileV2": nice_mobile_v2,
            "tax_free": tax_free,
            "vat_amount": vat_amount,
        }
        if card_quota >= 2:
            params["display"] = {"card_quota": [card_quota]}
        opened = self.open_checkout(params, channel=channel, user_agent=user_agent)
        return self.complete_checkout(
            opened["imp_uid"],
            outcome,
            card_number=card_number,
            card_code=card_code,
            card_quota=card_quota,
            vbank_code=vbank_code,
        )

    def open_checkout(
        self,
        params: Mapping[str, Any],
        *,
        channel: str = "pc",
        user_agent: str | None = None,
    ) -> dict[str, Any]:
        """Validate ``IMP.request_pay`` parameters and create the ``ready`` attempt.

        :param params: the ``request_pay`` parameters.
        :param channel: ``pc`` or ``mobile``.
        :param user_agent: the buyer's browser.
        :raises CheckoutRefused: where ``IMP.request_pay`` refuses.
        """
        return self.run(
            lambda led: payment_json(
                window.open_window(led, params, channel, user_agent)
            )
        )

    def complete_checkout(
        self,
        imp_uid: str,
        outcome: str,
        *,
        card_number: str | None = None,
        card_code: str | None = None,
        card_quota: int | None = None,
        vbank_code: str | None = None,
    ) -> dict[str, Any]:
        """Finish an opened window: ``approve``, ``decline`` or ``close``.

        :param imp_uid: the attempt :meth:`open_checkout` created.
        :param outcome: what the buyer did.
        :param card_number: a test card (it decides approval).
        :param card_code: the card company, when no number is given.
        :param card_quota: installment months.
        :param vbank_code: bank of the virtual account.
        """
        return self.run(
            lambda led: payment_json(
                window.complete(
                    led,
                    imp_uid,
                    outcome,
                    card_number=card_number,
                    card_code=card_code,
                    card_quota=card_quota,
                    vbank_code=vbank_code,
                )
            )
        )

    @staticmethod
    def sdk_url(base_url: str) -> str:
        """Where a page loads the browser SDK (``IMP``) from this sandbox.

        Use it in place of ``https://cdn.iamport.kr/v1/iamport.js``. The script
        finds the sandbox from its own address, so ``base_url`` is wherever
        :attr:`app` answers, mount prefix included: ``http://127.0.0.1:8765``
        for the standalone server, or ``/_nicepay_sandbox`` (or its absolute
        form) when the app is mounted there inside the store's WSGI app.

        :param base_url: the address of the sandbox app, with no trailing path.
        :returns: e.g. ``http://127.0.0.1:8765/v1/iamport.js``.
        """
        return base_url.rstrip("/") + "/v1/iamport.js"

    @staticmethod
    def callback_rsp(result: Mapping[str, Any] | CheckoutRefused) -> dict[str, Any]:
        """The ``rsp`` the PC callback of ``IMP.request_pay`` receives.

        :param result: a Payment JSON from the window, or the refusal.
        """
        return window.callback_rsp(result)

    @staticmethod
    def redirect_query(result: Mapping[str, Any] | CheckoutRefused) -> dict[str, str]:
        """The query the mobile flow appends to ``m_redirect_url``.

        :param result: a Payment JSON from the window, or the refusal.
        """
        return window.redirect_query(result)

    def deposit(
        self,
        imp_uid: str | None = None,
        merchant_uid: str | None = None,
        *,
        force: bool = False,
    ) -> dict[str, Any]:
        """The buyer pays into an issued virtual account: ``paid`` + webhook.

        :param imp_uid: the vbank payment.
        :param merchant_uid: or the order (its newest open account).
        :param force: accept a deposit after ``vbank_date``.
        """
        return self.run(
            lambda led: payment_json(
                vbanks.deposit(led, imp_uid, merchant_uid, force=force)
            )
        )

    # The console ------------------------------------------------------------

    def console_cancel(
        self,
        imp_uid: str,
        amount: int | float | Decimal | None = None,
        reason: str = "관리자 취소",
    ) -> dict[str, Any]:
        """A cancel made in PortOne's admin console; always sends ``cancelled``.

        :param imp_uid: the payment.
        :param amount: how much, None for the whole balance.
        :param reason: the reason recorded.
        """
        params = Params({"imp_uid": imp_uid, "amount": amount, "reason": reason})
        return self.run(
            lambda led: payment_json(cancels.cancel(led, params, console=True))
        )

    def add_pg_channel(self, pg_provider: str) -> None:
        """Set up another PG in the console, next to NICE.

        A key-in payment whose ``pg`` names it (``kakaopay`` or
        ``kakaopay.{MID}``) then goes through that PG and reports it as its
        ``pg_provider``, as PortOne does for an account with several channels.

        :param pg_provider: PortOne's PG code, e.g. ``kakaopay``.
        """
        if not (pg_provider.isascii() and pg_provider.isidentifier()):
            raise ValueError("pg_provider must be a PG code such as kakaopay")
        with self._lock:
            self._ledger.pg_channels.add(pg_provider[:16])

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
        with self._lock:
            self._ledger.clear()
            self._outbox.clear()
            self.faults.clear()
            self.sdk_windows.clear()
            self.clock.reset(self._initial_offset)

    # Inspection -------------------------------------------------------------

    def payments_count(self) -> int:
        """How many payments are stored."""
        with self._lock:
            return len(self._ledger.payments)

    def payment(self, imp_uid: str) -> dict[str, Any] | None:
        """A payment's JSON, or None.

        :param imp_uid: PortOne's id.
        """
        return self.run(lambda led: _maybe(led.payment(imp_uid), payment_json))

    def cancel_checksums(self, imp_uid: str) -> list[Decimal | None]:
        """The ``checksum`` each accepted cancel of a payment carried, oldest first.

        None for a cancel sent without one, and for a console cancel.

        :param imp_uid: PortOne's id.
        """
        with self._lock:
            payment = self._ledger.payment(imp_uid)
            cancellations = payment.cancellations if payment else []
            return [c.checksum for c in cancellations]

    def sizes(self) -> dict[str, int]:
        """How many entries each bounded structure holds."""
        with self._lock:
            led = self._ledger
            return {
                "payments": len(led.payments),
                "merchant_index": led.merchant_index_size(),
                "prepared": len(led.prepared),
                "customers": len(led.customers),
                "schedules": len(led.schedules),
                "outbox": self._outbox.pending_count(),
                "webhook_log": len(self._outbox.log),
                "sdk_windows": len(self.sdk_windows),
            }

    def state(self) -> dict[str, Any]:
        """A JSON-ready dump of the sandbox for debugging (recent entries only)."""
        with self._lock:
            led = self._ledger
            return {
                "now": led.now(),
                "clock_offset": self.clock.offset,
                "token_expires_at": led.tokens.expires_at(),
                "sizes": self.sizes(),
                "payments": [payment_json(p) for p in _recent(led.payments.values())],
                "prepared": [prepared_json(p) for p in _recent(led.prepared.values())],
                "customers": [
                    customer_json(c) for c in _recent(led.customers.values())
                ],
                "schedules": [
                    schedule_json(s, led.payment(s.imp_uid or ""))
                    for s in _recent(led.schedules.values())
                ],
                "faults": self.faults.as_list(),
                "webhook_faults": self._outbox.fault_list(),
                "connections_accepted": self._connections,
            }


def _recent(items: list[T]) -> list[T]:
    return items[-_DUMP_LIMIT:]


def _maybe(
    value: T | None, render: Callable[[T], dict[str, Any]]
) -> dict[str, Any] | None:
    return None if value is None else render(value)
