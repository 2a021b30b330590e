"""Reconcile from the console in batches of 100, its counts shown as it goes.

Starting writes the run, one ``reconcile`` action, ``started``, with the number of
open orders then. Each batch is then one post (``/reconcile/<run>/next``, with the
run's cursor and the form token) that writes a ``reconcile_batch`` action before
it asks PortOne, runs ``reconciler.reconcile(after=cursor, batches=1)`` (the
CLI's own call, one batch of it), finishes the batch's record with its counts, and
moves the run's cursor and totals on with a compare-and-swap: a batch posted
twice, from two tabs say, is counted once. The answer redirects to the run's page
(post, redirect, get); there a small script of the plugin's own, allowed by the
console's Content-Security-Policy, posts the next batch, and without it the
operator does. *Stop* ends the run; a run whose operator went away, or whose
process died, stays ``started`` and goes on from its cursor when continued.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

from flask import Response
from flask import abort
from flask import redirect
from flask import request
from flask import url_for
from sqlalchemy.engine import RowMapping

from .checkout import KST
from .console_base import BadForm
from .console_base import begin
from .console_base import console_bp
from .console_base import journal
from .console_base import page
from .console_journal import FAILED
from .console_journal import REFUSED
from .console_journal import STARTED
from .console_journal import STOPPED
from .console_journal import SUCCEEDED
from .state import app_state
from .sweeps import ReconcileReport

#: Orders per batch: one PortOne multi-lookup.
BATCH = 100
#: How long a batch's counts stay on screen before the next batch is posted (ms).
ADVANCE_AFTER_MS = 300
#: The counts a run adds up, batch after batch.
COUNTS = ("orders", "lookups", "changed", "unchanged", "not_at_portone", "errors")


@console_bp.post("/reconcile")
def reconcile() -> Response:
    """Start a run over every open order, or with ``since`` (a time in KST) over
    every order changed since then, as ``flask nicepay reconcile [--since]`` does."""
    since = _since(request.form.get("since", ""))
    total = app_state().payments.reconciler.to_reconcile(since=since)
    detail: dict[str, t.Any] = {"total": total}
    target = "orders"
    if since is not None:
        detail["since"] = since.isoformat()
        target = f"orders changed since {since.astimezone(KST):%Y-%m-%d %H:%M} KST"
    run_id = begin("reconcile", target, detail=detail, resume_after=0)
    return _to_run(run_id, go=True)


@console_bp.get("/reconcile/<int:run_id>")
def reconcile_run(run_id: int) -> Response:
    """The run's counts so far and its last batches; ``?go=1`` (the redirect
    after a batch) lets the page's script post the next one."""
    run = _run(run_id)
    batches = journal().batches(run_id)
    failed_last = bool(batches) and batches[0]["outcome"] == FAILED
    running = run["outcome"] == STARTED
    return page(
        "nicepay/console/reconcile.html",
        run=run,
        since=_run_since(run),
        counts=json.loads(run["detail"] or "{}"),
        count_names=COUNTS,
        batches=batches,
        advance=running and not failed_last and request.args.get("go") == "1",
        advance_after=ADVANCE_AFTER_MS,
    )


@console_bp.post("/reconcile/<int:run_id>/next")
def reconcile_next(run_id: int) -> Response:
    """Reconcile the run's next batch, record it, and show the run again."""
    run = _run(run_id)
    after = request.form.get("after", "")
    if not after.isdigit() or len(after) > 18:
        raise BadForm("after must be the run's cursor")
    if run["outcome"] != STARTED or int(after) != run["resume_after"]:
        return _to_run(run_id)  # stopped, finished, or moved on by another post
    cursor = int(after)
    batch_id = begin(
        "reconcile_batch", f"after {cursor}", detail={"after": cursor}, run_id=run_id
    )
    reconciler = app_state().payments.reconciler
    try:
        report = reconciler.reconcile(
            since=_run_since(run), after=cursor, batches=1, batch_size=BATCH
        )
    except Exception as exc:
        journal().finish(batch_id, FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    _record_batch(run, batch_id, cursor, report)
    return _to_run(run_id, go=True)


@console_bp.post("/reconcile/<int:run_id>/stop")
def reconcile_stop(run_id: int) -> Response:
    """End the run where it is; the stop is recorded with who stopped it."""
    _run(run_id)
    stop_id = begin("reconcile_stop", f"reconcile {run_id}", run_id=run_id)
    stopped = journal().finish(run_id, STOPPED)
    error = None if stopped else "the run had ended already"
    journal().finish(stop_id, SUCCEEDED if stopped else REFUSED, error=error)
    return _to_run(run_id)


def _record_batch(
    run: RowMapping, batch_id: int, cursor: int, report: ReconcileReport
) -> None:
    counts = {
        "orders": report.orders,
        "lookups": report.api_calls,
        "changed": report.applied,
        "unchanged": report.unchanged,
        "not_at_portone": report.not_at_portone,
        "errors": len(report.errors),
    }
    error = "; ".join(report.errors[:5]) or None
    outcome = FAILED if error else SUCCEEDED
    journal().finish(batch_id, outcome, detail={"after": cursor, **counts}, error=error)
    totals = json.loads(run["detail"] or "{}")
    for name, value in counts.items():
        totals[name] = totals.get(name, 0) + value
    totals["batches"] = totals.get("batches", 0) + 1
    moved = journal().advance(run["id"], cursor, report.last_id or cursor, totals)
    if moved and report.orders < BATCH:  # the last open order is done
        errors = totals.get("errors", 0)
        journal().finish(
            run["id"],
            FAILED if errors else SUCCEEDED,
            error=f"{errors} errors; see the batches" if errors else None,
        )


def _run(run_id: int) -> RowMapping:
    found = journal().get(run_id)
    if found is None or found["action"] != "reconcile":
        abort(404)
    return found


def _to_run(run_id: int, *, go: bool = False) -> Response:
    target = url_for(".reconcile_run", run_id=run_id, go="1" if go else None)
    return t.cast(Response, redirect(target, code=303))


def _since(text: str) -> dt.datetime | None:
    """The form's ``since``: empty, or a date and time (``2026-12-02T09:30``, as a
    ``datetime-local`` field sends it) read in KST unless it names its zone."""
    if not text.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip()[:40])
    except ValueError:
        raise BadForm(
            "since must be a date and time, such as 2026-12-02T09:30"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)


def _run_since(run: RowMapping) -> dt.datetime | None:
    since = json.loads(run["detail"] or "{}").get("since")
    return None if since is None else dt.datetime.fromisoformat(since)
