"""The janitor: periodic passes that heal what a crash, a lost answer or a lost
task left behind, without an operator.

========================  ===================================================
pass                      duty
========================  ===================================================
``stale_inbox``           rows still ``received`` after the grace period are
                          processed again
``failed_inbox``          failed notifications are retried with backoff, and
                          left to the operator after ``max_attempts``
``open_orders``           open orders are reconciled, 100 per PortOne lookup
``vbanks``                virtual accounts past their deadline are swept
``refunds``               refunds whose answer was lost are settled from
                          ``cancel_history``
``subscriptions``         the subscriptions' due work is done
========================  ===================================================

Every pass takes a bounded amount of work (see
:class:`~flask_nicepay.janitor_policy.JanitorPolicy`), claims each row before it
asks PortOne about it, and changes orders only through the order's
compare-and-swap: many janitors may run at once, and running one twice changes
nothing the first did not. ``flask nicepay janitor`` runs them from cron; a
Celery beat schedule calls :meth:`Janitor.run_pass` with a pass's name.
"""

from __future__ import annotations

import dataclasses
import typing as t

from .janitor_base import PassReport as PassReport
from .janitor_inbox import InboxPasses
from .janitor_orders import OrderPasses
from .portone.redact import redact

#: The passes, in the order :meth:`Janitor.run` runs them.
PASSES = (
    "stale_inbox",
    "failed_inbox",
    "open_orders",
    "vbanks",
    "refunds",
    "subscriptions",
)


@dataclasses.dataclass
class JanitorReport:
    """What one :meth:`Janitor.run` did, pass by pass."""

    passes: dict[str, PassReport] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether no pass failed."""
        return all(report.ok for report in self.passes.values())

    def as_dict(self) -> dict[str, t.Any]:
        """The report as JSON-ready data: per pass, its counts and errors."""
        return {name: report.as_dict() for name, report in self.passes.items()}


class Janitor(InboxPasses, OrderPasses):
    """The passes of the janitor, one method each (named as in :data:`PASSES`),
    and :meth:`run` for all of them.

    Reached as :attr:`NicePay.janitor <flask_nicepay.NicePay.janitor>`.
    """

    def run(self, passes: t.Iterable[str] | None = None) -> JanitorReport:
        """Run the passes named (every one, by default), in the order of
        :data:`PASSES`.

        A pass that fails is reported and the next one still runs.

        :raises ValueError: a name that is not a pass.
        """
        wanted = set(PASSES if passes is None else passes)
        unknown = wanted - set(PASSES)
        if unknown:
            raise ValueError(
                f"No janitor pass {', '.join(sorted(unknown))}; the passes are "
                f"{', '.join(PASSES)}."
            )
        report = JanitorReport()
        for name in PASSES:
            if name in wanted:
                report.passes[name] = self.run_pass(name)
        return report

    def run_pass(self, name: str) -> PassReport:
        """Run one pass by name; an unexpected error is reported, not raised.

        :raises ValueError: a name that is not a pass.
        """
        if name not in PASSES:
            raise ValueError(f"No janitor pass {name!r}; see PASSES.")
        method: t.Callable[[], PassReport] = getattr(self, name)
        try:
            return method()
        except Exception as exc:  # the next pass, or the next run, still goes
            failed = PassReport(name)
            failed.errors.append(redact(f"{type(exc).__name__}: {exc}"))
            return failed

    def subscriptions(self) -> PassReport:
        """Do the subscriptions' due work (see
        :meth:`~flask_nicepay.subscription_janitor.DueWork.run_due`)."""
        report = PassReport("subscriptions")
        due = self.due_work.run_due(
            batch_size=self.policy.batch_size, max_batches=self.policy.max_batches
        )
        for what in due.done.values():
            report.add(what.replace(" ", "_"))
        report.add("failed", len(due.failed))
        report.errors.extend(f"{uid}: {why}" for uid, why in due.failed.items())
        return report
