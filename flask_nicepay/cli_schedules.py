"""``flask nicepay schedules``: PortOne's schedules next to the orders expecting them.

The comparison and the repairs are :class:`~flask_nicepay.schedule_book.ScheduleBook`'s;
this prints them.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import click
from flask.cli import with_appcontext

from .cli import Since
from .cli import nicepay_cli
from .cli_notes import uses_portone
from .portone import PortOneError
from .schedule_book import GapKind
from .schedule_book import ScheduleGap
from .schedule_book import ScheduleRepair
from .state import app_state


class Until(Since):
    """A moment: ISO 8601, or a time ahead (``90d``, ``12h``)."""

    name = "until"

    def convert(self, value: t.Any, param: t.Any, ctx: t.Any) -> dt.datetime:
        moment = super().convert(value, param, ctx)
        if self._AGE.match(str(value).strip()):  # an age ahead, not behind
            now = dt.datetime.now(dt.UTC)
            return now + (now - moment)
        return moment


@nicepay_cli.command("schedules")
@click.option("--since", type=Since(), help="Start of the range (default 7d ago).")
@click.option("--until", type=Until(), help="End of the range (default 90d ahead).")
@click.option("--repair", is_flag=True, help="Repair what differs.")
@click.option(
    "--revoke-unknown",
    is_flag=True,
    help="With --repair: revoke schedules that no order expects.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
@uses_portone
def schedules(
    since: dt.datetime | None,
    until: dt.datetime | None,
    repair: bool,
    revoke_unknown: bool,
    as_json: bool,
) -> None:
    """PortOne's schedules next to the orders that expect them; --repair fixes
    the difference. Exits 1 while a difference remains."""
    if revoke_unknown and not repair:
        raise click.UsageError("--revoke-unknown goes with --repair.")
    if since is not None and until is not None and since > until:
        raise click.UsageError("--since is after --until.")
    billing = app_state().payments.billing
    try:
        gaps = billing.compare_schedules(since, until)
        repairs = (
            billing.repair_schedules(gaps, revoke_unknown=revoke_unknown)
            if repair
            else []
        )
    except PortOneError as exc:
        raise click.ClickException(f"PortOne could not be asked: {exc}") from exc
    if as_json:
        click.echo(json.dumps(_as_json(gaps, repairs), ensure_ascii=False, indent=2))
    else:
        _print(gaps, repairs)
    left = [r for r in repairs if not r.fixed] if repair else gaps
    if left:
        raise click.exceptions.Exit(1)


def _print(gaps: list[ScheduleGap], repairs: list[ScheduleRepair]) -> None:
    if not gaps:
        click.echo("PortOne's schedules and the orders agree.")
        return
    click.echo(f"{'kind':10} {'merchant_uid':40} {'when (UTC)':16}  here / PortOne")
    for gap in gaps:
        when = gap.when.strftime("%Y-%m-%d %H:%M") if gap.when else "-"
        click.echo(
            f"{gap.kind.value:10} {gap.merchant_uid:40} {when:16}  {_sides(gap)}"
        )
        click.echo(f"{'':10} repair: {_repair_text(gap)}")
    for done in repairs:
        actions = ", ".join(a.value for a in done.actions) or "nothing to do"
        status = "fixed" if done.fixed else f"left ({_left_text(done)})"
        click.secho(f"{done.gap.merchant_uid}: {actions}: {status}", bold=True)


def _sides(gap: ScheduleGap) -> str:
    order, schedule = gap.order, gap.schedule
    here = f"{order.state.value} {order.amount:,} {order.currency}" if order else "-"
    there = "-"
    if schedule is not None:
        there = f"{schedule.schedule_status} {schedule.amount:,} {schedule.currency}"
    differ = f" (differ: {', '.join(gap.differences)})" if gap.differences else ""
    return f"{here} / {there}{differ}"


def _repair_text(gap: ScheduleGap) -> str:
    if gap.kind is GapKind.UNKNOWN:
        return f"{gap.action.value} (only with --revoke-unknown)"
    return gap.action.value


def _left_text(done: ScheduleRepair) -> str:
    remaining = t.cast(ScheduleGap, done.remaining)
    return done.error or f"{remaining.kind.value}, {remaining.action.value}"


def _as_json(
    gaps: list[ScheduleGap], repairs: list[ScheduleRepair]
) -> dict[str, t.Any]:
    fixed = {r.gap.merchant_uid: r for r in repairs}
    return {
        "gaps": [_gap_json(g, fixed.get(g.merchant_uid)) for g in gaps],
        "repaired": bool(repairs),
    }


def _gap_json(gap: ScheduleGap, done: ScheduleRepair | None) -> dict[str, t.Any]:
    order, schedule = gap.order, gap.schedule
    entry: dict[str, t.Any] = {
        "kind": gap.kind.value,
        "merchant_uid": gap.merchant_uid,
        "action": gap.action.value,
        "differences": list(gap.differences),
        "order": None,
        "portone": None,
    }
    if order is not None:
        entry["order"] = {
            "state": order.state.value,
            "amount": str(order.amount),
            "currency": order.currency,
            "scheduled_at": _iso(order.scheduled_at),
        }
    if schedule is not None:
        entry["portone"] = {
            "schedule_status": schedule.schedule_status,
            "amount": str(schedule.amount),
            "currency": schedule.currency,
            "schedule_at": _iso(schedule.schedule_at),
            "imp_uid": schedule.imp_uid,
        }
    if done is not None:
        entry["repair"] = {
            "actions": [a.value for a in done.actions],
            "fixed": done.fixed,
            "error": done.error,
        }
    return entry


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
