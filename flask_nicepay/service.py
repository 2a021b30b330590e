"""The former facade, kept for one release: use :class:`~flask_nicepay.Payments`.

``PaymentService`` restated every operation of the reconciler, refunds and
billing. Each now lives in one place, reached through
:class:`~flask_nicepay.payments.Payments` (and through
:class:`~flask_nicepay.NicePay`, which exposes the same parts). The old names still
work and warn with :class:`DeprecationWarning`; ``docs/changes.rst`` lists where
each went.
"""

from __future__ import annotations

import typing as t
import warnings

from .notifications import Received
from .payments import Payments
from .payments import TransitionHook
from .store import UnknownOrderError

#: Where each method of the former ``PaymentService`` went, on
#: :class:`~flask_nicepay.payments.Payments`.
MOVED = {
    "new_merchant_uid": "orders.new_merchant_uid",
    "create_order": "orders.create",
    "ensure_prepared": "orders.ensure_prepared",
    "get_order": "orders.get",
    "history": "orders.history",
    "refunds_of": "orders.refunds_of",
    "receive": "notifications.receive",
    "reject": "notifications.reject",
    "process": "notifications.process",
    "replay": "notifications.replay",
    "replay_failed": "notifications.replay_failed",
    "failed_ids": "notifications.failed_ids",
    "sync": "reconciler.sync",
    "reconcile": "reconciler.reconcile",
    "expire_vbanks": "reconciler.expire_vbanks",
    "close": "reconciler.close",
    "refund": "refunds.refund",
}


class PaymentService:
    """Deprecated: a :class:`~flask_nicepay.payments.Payments` under its old name.

    Takes what :class:`~flask_nicepay.payments.Payments` takes. Every former
    method still works, with a :class:`DeprecationWarning` that names its new
    place (:data:`MOVED`); everything else is the wrapped object's.
    """

    def __init__(self, **kwargs: t.Any) -> None:
        warnings.warn(
            "PaymentService is deprecated; build flask_nicepay.Payments instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        self._payments = Payments(**kwargs)

    @classmethod
    def wrapping(cls, payments: Payments) -> PaymentService:
        """The old interface to an existing :class:`~flask_nicepay.payments.Payments`,
        without a warning."""
        service = cls.__new__(cls)
        service._payments = payments
        return service

    def __getattr__(self, name: str) -> t.Any:
        if name == "_payments":  # not set yet: no recursion through here
            raise AttributeError(name)
        moved = MOVED.get(name)
        if moved is None:
            return getattr(self._payments, name)
        warnings.warn(
            f"PaymentService.{name} is deprecated; use Payments.{moved} "
            f"(nicepay.{moved} in a Flask app).",
            DeprecationWarning,
            stacklevel=2,
        )
        part, method = moved.split(".")
        return getattr(getattr(self._payments, part), method)


__all__ = [
    "MOVED",
    "PaymentService",
    "Received",
    "TransitionHook",
    "UnknownOrderError",
]
