"""``flask nicepay subscriptions …``: subscriptions, as an operator looks at them.

Times are printed in Korea's time (KST), the time the periods are counted in.
``cancel``, ``change-plan`` and ``run-due`` ask PortOne, so they first say which
PortOne that is when it matters (:func:`~flask_nicepay.cli_notes.uses_portone`).
"""

from __future__ import annotations

from decimal import Decimal

import click
from flask.cli import with_appcontext

from .cli import Money
from .cli import nicepay_cli
from .cli_notes import kst
from .cli_notes import uses_portone
from .portone import PortOneError
from .state import app_state
from .subscription_machine import SubscriptionState
from .subscription_plan import Plan
from .subscription_plan import describe
from .subscription_table import SubscriptionError
from .subscriptions import Subscriptions


def _subscriptions() -> Subscriptions:
    return app_state().payments.subscriptions


@nicepay_cli.group("subscriptions")
def subscriptions() -> None:
    """Subscriptions: list, show, cancel, change the price, and the due work."""


@subscriptions.command("list")
@click.option(
    "--status",
    type=click.Choice([s.value for s in SubscriptionState]),
    help="Only these.",
)
@click.option("--customer", "customer_uid", help="Only those charged to this key.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@with_appcontext
def list_(status: str | None, customer_uid: str | None, limit: int) -> None:
    """Subscriptions, newest first."""
    found = _subscriptions().find(status=status, customer_uid=customer_uid, limit=limit)
    if not found:
        click.echo("No subscriptions.")
    for sub in found:
        ends = " (ends then)" if sub.cancel_at_period_end else ""
        click.echo(
            f"{sub.subscription_uid}  {sub.status.value:10} {sub.customer_uid}  "
            f"{sub.amount:,} {sub.currency}  paid to {kst(sub.period_end)}{ends}"
        )


@subscriptions.command("show")
@click.argument("subscription_uid")
@with_appcontext
def show(subscription_uid: str) -> None:
    """One subscription and every charge it made or expects."""
    sub = _subscriptions().get(subscription_uid)
    if sub is None:
        raise click.ClickException(f"No subscription {subscription_uid!r}.")
    click.secho(f"{sub.subscription_uid}  {sub.status.value}", bold=True)
    lines = {
        "plan": f"{sub.name}: {sub.amount:,} {sub.currency}, {describe(sub.interval)}",
        "billing key": sub.customer_uid,
        "period": f"{sub.period} ({kst(sub.period_start)} to {kst(sub.period_end)})",
        "ends then": "yes" if sub.cancel_at_period_end else "no",
        "next charge": sub.pending_merchant_uid or "-",
        "last decline": sub.fail_reason or "-",
        "ended": kst(sub.ended_at),
    }
    for name, value in lines.items():
        click.echo(f"  {name:12} {value}")
    rows = _subscriptions().charges(subscription_uid)
    click.echo(f"Charges ({len(rows)}):")
    for row in rows:
        when = kst(row["paid_at"] or row["scheduled_at"])
        click.echo(
            f"  {row['period']:>3}.{row['attempt']}  {row['merchant_uid']}  "
            f"{row['state']:10} {row['customer_uid']}  {when}"
        )


@subscriptions.command("cancel")
@click.argument("subscription_uid")
@click.option("--now", "at_once", is_flag=True, help="End it now, not at period end.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@uses_portone
def cancel(subscription_uid: str, at_once: bool, yes: bool) -> None:
    """Stop charging a subscription (at the end of the period paid, by default)."""
    if _subscriptions().get(subscription_uid) is None:
        raise click.ClickException(f"No subscription {subscription_uid!r}.")
    when = "now" if at_once else "at the end of its period"
    if not yes:
        click.confirm(f"Cancel {subscription_uid} {when}?", abort=True)
    try:
        sub = _subscriptions().cancel(subscription_uid, at_period_end=not at_once)
    except (PortOneError, SubscriptionError) as exc:
        raise click.ClickException(str(exc)) from exc
    ends = kst(sub.ended_at or sub.period_end)
    click.echo(f"{sub.subscription_uid}: {sub.status.value}, ends {ends}")


@subscriptions.command("change-plan")
@click.argument("subscription_uid")
@click.option(
    "--amount",
    type=Money(),
    required=True,
    help="What each period costs from the next one on.",
)
@click.option("--name", help="The payment's name at PortOne (default: the current).")
@click.option("--tax-free", type=Money(zero=True), help="The tax-free part.")
@click.option("--vat-amount", type=Money(zero=True), help="The VAT part.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@uses_portone
def change_plan(
    subscription_uid: str,
    amount: Decimal,
    name: str | None,
    tax_free: Decimal | None,
    vat_amount: Decimal | None,
    yes: bool,
) -> None:
    """Charge another price from the next period on.

    The period under way keeps its price, and so do the retries of its charge.
    The tax parts are those given here (none by default), not the current ones.
    """
    sub = _subscriptions().get(subscription_uid)
    if sub is None:
        raise click.ClickException(f"No subscription {subscription_uid!r}.")
    try:
        plan = Plan(
            name=name or sub.name,
            amount=amount,
            interval=sub.interval,
            currency=sub.currency,
            tax_free=tax_free,
            vat_amount=vat_amount,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    if not yes:
        click.confirm(
            f"Charge {subscription_uid} {_price(plan)} from the next period "
            f"(now {_price(sub.plan)})?",
            abort=True,
        )
    try:
        changed = _subscriptions().change_plan(subscription_uid, plan)
    except (PortOneError, SubscriptionError) as exc:
        raise click.ClickException(str(exc)) from exc
    nxt = changed.pending_merchant_uid or "none until it is resumed"
    click.echo(f"{subscription_uid}: {_price(changed.plan)}; next charge {nxt}")


def _price(plan: Plan) -> str:
    parts = [f"{plan.amount:,} {plan.currency}", plan.name]
    if plan.tax_free is not None:
        parts.append(f"tax-free {plan.tax_free:,}")
    if plan.vat_amount is not None:
        parts.append(f"VAT {plan.vat_amount:,}")
    return ", ".join(parts)


@subscriptions.command("run-due")
@with_appcontext
@uses_portone
def run_due() -> None:
    """Do the due work: end, look up, follow or schedule again what is late.

    Safe to run from cron on many hosts at once.
    """
    report = _subscriptions().run_due()
    for uid, what in report.done.items():
        click.echo(f"{uid}: {what}")
    for uid, why in report.failed.items():
        click.echo(f"{uid}: failed: {why}", err=True)
    click.echo(f"{len(report.done)} done, {len(report.failed)} failed.")
    if report.failed:
        raise SystemExit(1)
