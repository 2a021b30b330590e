"""The :class:`JsonAccount`: the engine's account as a Python caller sees it.

The engine's :class:`~flask_nicepay.sandbox.engine.account.Account` holds the
state; this layer answers every call with PortOne's JSON and keeps the windows
the browser SDK opened. The views are written against it;
:class:`~flask_nicepay.sandbox.Sandbox` (in
:mod:`~flask_nicepay.sandbox.http.flask_app`) adds the Flask app on top.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from typing import Final
from typing import TypeVar
from typing import Unpack

from ..engine import cancels
from ..engine import schedules
from ..engine import vbanks
from ..engine import window
from ..engine.account import Account
from ..engine.purchase import CheckoutOptions
from ..engine.purchase import option
from ..engine.purchase import request_pay_params
from ..model.sandbox_errors import CheckoutRefused
from ..model.values import Params
from .sdk_windows import WindowBook
from .serialize import customer_json
from .serialize import payment_json
from .serialize import prepared_json
from .serialize import schedule_json

T = TypeVar("T")
_DUMP_LIMIT: Final = 50


class JsonAccount(Account):
    """An :class:`~flask_nicepay.sandbox.engine.account.Account` whose calls answer
    PortOne's JSON, with the browser SDK's open windows.

    The parameters are those of :class:`~flask_nicepay.sandbox.Sandbox`.
    """

    #: Payment windows opened by the browser SDK and not finished yet.
    sdk_windows: WindowBook

    def _build_surface(self, max_records: int) -> None:
        self.sdk_windows = WindowBook(max_records, self._held, self.shared)

    # Clock ------------------------------------------------------------------

    def advance_clock(self, seconds: float) -> list[dict[str, Any]]:
        """Move the clock forward and run the schedules that became due.

        :param seconds: how far.
        :returns: the schedules executed.
        """
        with self._held():
            self.clock.advance(seconds)
        return self.run_due_schedules()

    def set_clock(self, timestamp: float) -> list[dict[str, Any]]:
        """Move the clock to a later time and run the schedules that became due.

        :param timestamp: UNIX seconds, not earlier than now.
        :returns: the schedules executed.
        """
        with self._held():
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
        **options: Unpack[CheckoutOptions],
    ) -> dict[str, Any]:
        """Open the payment window and finish it in one call.

        :param outcome: ``approve``, ``decline`` or ``close``.
        :param options: the other ``IMP.request_pay`` parameters and what the
            buyer picks in the window (:class:`~flask_nicepay.sandbox.CheckoutOptions`).
        :returns: the Payment JSON.
        :raises CheckoutRefused: where ``IMP.request_pay`` refuses.
        """
        params = request_pay_params(merchant_uid, amount, pay_method, options)
        opened = self.open_checkout(
            params,
            channel=option(options, "channel"),
            user_agent=option(options, "user_agent"),
        )
        picked = ("card_number", "card_code", "card_quota", "vbank_code")
        choices = {key: option(options, key) for key in picked}
        return self.complete_checkout(opened["imp_uid"], outcome, **choices)

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
        :attr:`~flask_nicepay.sandbox.Sandbox.app` answers, mount prefix
        included: ``http://127.0.0.1:8765`` for the standalone server, or
        ``/_nicepay_sandbox`` (or its absolute form) when the app is mounted
        there inside the store's WSGI app.

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

    def reset(self) -> None:
        """Forget everything but the keys and settings; the clock goes back too."""
        with self._held():
            super().reset()
            self.sdk_windows.clear()

    # Inspection -------------------------------------------------------------

    def payment(self, imp_uid: str) -> dict[str, Any] | None:
        """A payment's JSON, or None.

        :param imp_uid: PortOne's id.
        """
        return self.run(lambda led: _maybe(led.payment(imp_uid), payment_json))

    def sizes(self) -> dict[str, int]:
        """How many entries each bounded structure holds."""
        with self._held():
            return {**self._sizes(), "sdk_windows": len(self.sdk_windows)}

    def state(self) -> dict[str, Any]:
        """A JSON-ready dump of the sandbox for debugging (recent entries only)."""
        with self._held():
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
