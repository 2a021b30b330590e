"""``flask nicepay …``: the commands an operator runs when something looks wrong.

Every time is printed in Korea Standard Time and labelled ``KST``, as the
store's pages show it; a ``--since`` without an offset is read in KST too.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import typing as t
from decimal import Decimal
from decimal import InvalidOperation

import click
from flask import current_app
from flask.cli import with_appcontext

from . import tables
from .cli_notes import KST
from .cli_notes import kst
from .cli_notes import portone_notes
from .cli_notes import store_url
from .cli_notes import uses_portone
from .doctor import run_checks
from .inbox import Outcome
from .ledger import RefundInProgressError
from .machine import InvalidTransitionError
from .portone import PortOneError
from .portone import RefundAccount
from .refunds import RefundError
from .state import app_state
from .store import UnknownOrderError

if t.TYPE_CHECKING:
    from .extension import NicePay
    from .payments import Payments
    from .store import Order


@click.group("nicepay")
def nicepay_cli() -> None:
    """PortOne payments: inspect, reconcile, replay, refund."""


def _nicepay() -> NicePay:
    return app_state().extension


class Money(click.ParamType):  # type: ignore[type-arg]
    """An exact amount: digits, optionally with up to 2 decimals.

    :param zero: 0 is an amount too (a tax part: a zero-rated VAT).
    """

    name = "amount"

    def __init__(self, *, zero: bool = False) -> None:
        self.zero = zero

    def convert(self, value: t.Any, param: t.Any, ctx: t.Any) -> Decimal:
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.fail(f"{value!r} is not an amount", param, ctx)
        low = "0 or more" if self.zero else "more than 0"
        if (
            not amount.is_finite()
            or amount < 0
            or (amount == 0 and not self.zero)
            or amount != round(amount, 2)
        ):
            self.fail(f"{value!r} must be {low}, with at most 2 decimals", param, ctx)
        return amount


class Since(click.ParamType):  # type: ignore[type-arg]
    """A moment: ISO 8601 (``2026-11-26T09:00+09:00``) or an age (``2h``, ``7d``)."""

    name = "since"
    _AGE = re.compile(r"^(\d+)([mhd])$")

    def convert(self, value: t.Any, param: t.Any, ctx: t.Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        age = self._AGE.match(text)
        if age:
            unit = {"m": "minutes", "h": "hours", "d": "days"}[age.group(2)]
            return dt.datetime.now(dt.UTC) - dt.timedelta(**{unit: int(age.group(1))})
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is neither ISO 8601 nor an age like 2h", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=KST)


@nicepay_cli.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the plugin's tables, or upgrade them (as ``flask nicepay db upgrade``)."""
    _nicepay().payments.store.create_all()
    click.echo(f"Tables ready: {', '.join(sorted(tables.metadata.tables))}")


@nicepay_cli.command("show")
@click.argument("merchant_uid")
@with_appcontext
def show(merchant_uid: str) -> None:
    """An order: its state, history, refunds and notifications."""
    payments = _nicepay().payments
    order = payments.orders.get(merchant_uid)
    if order is None:
        raise click.ClickException(f"No order {merchant_uid!r}.")
    _show_order(order)
    _show_history(payments, merchant_uid)


#: The order's fields ``show`` prints, when they hold something.
_SHOWN = (
    "name",
    "amount",
    "currency",
    "origin",
    "pay_method",
    "imp_uid",
    "paid_amount",
    "cancelled_amount",
    "vbank_name",
    "vbank_num",
    "vbank_due",
    "fail_reason",
    "cancel_reason",
    "mismatch_reason",
    "late_payment",
    "receipt_url",
    "created_at",
    "updated_at",
)


def _show_order(order: Order) -> None:
    click.secho(f"{order.merchant_uid}  {order.state.value}", bold=True)
    for name in _SHOWN:
        value = getattr(order, name)
        if isinstance(value, dt.datetime):
            value = kst(value)
        if value not in (None, False, ""):
            click.echo(f"  {name:17} {value}")


def _show_history(payments: Payments, merchant_uid: str) -> None:
    """What happened to the order: its transitions, refunds and notifications."""
    click.secho("history", bold=True)
    for row in payments.orders.history(merchant_uid):
        click.echo(
            f"  {kst(row['created_at'])}  {row['from_state']:>19} -> "
            f"{row['to_state']:<19} {row['event']:<16} {row['source']}"
        )
    click.secho("refunds", bold=True)
    for refund in payments.orders.refunds_of(merchant_uid):
        click.echo(
            f"  #{refund.id} {refund.amount} {refund.status} ({refund.origin}) "
            f"{refund.reason or ''} {refund.error or ''}".rstrip()
        )
        if refund.receipt_url:
            click.echo(f"     receipt {refund.receipt_url}")
    click.secho("notifications", bold=True)
    for entry in payments.inbox.search(merchant_uid=merchant_uid):
        click.echo(
            f"  #{entry.id} {kst(entry.received_at)} {entry.kind:<7} "
            f"{entry.outcome:<13} {entry.remote_addr or ''} "
            f"{entry.error or ''}".rstrip()
        )


@nicepay_cli.command("reconcile")
@click.option(
    "--since", type=Since(), help="Every order changed since then, any state."
)
@with_appcontext
@uses_portone
def reconcile(since: dt.datetime | None) -> None:
    """Bring orders in line with PortOne (open ones, or all changed --since)."""
    payments = _nicepay().payments
    total = payments.reconciler.to_reconcile(since=since)
    with click.progressbar(length=total, label="Reconciling", show_pos=True) as bar:
        report = payments.reconciler.reconcile(since=since, progress=bar.update)
    click.echo(
        f"{report.orders} orders, {report.api_calls} lookups: "
        f"{report.applied} changed, "
        f"{report.unchanged} unchanged, {report.not_at_portone} not at PortOne."
    )
    for error in report.errors:
        click.secho(f"  error: {error}", fg="red", err=True)
    if report.errors:
        raise SystemExit(1)


@nicepay_cli.command("replay")
@click.argument("entry_id", type=int, required=False)
@click.option("--failed", is_flag=True, help="Every notification that failed.")
@with_appcontext
def replay(entry_id: int | None, failed: bool) -> None:
    """Process a stored notification again (ID), or all that failed (--failed)."""
    if entry_id is None and not failed:
        raise click.UsageError(
            "Missing the notification ID (see `flask nicepay show`), or --failed "
            "for every notification that failed."
        )
    if entry_id is not None and failed:
        raise click.UsageError("Give a notification ID or --failed, not both.")
    for line in portone_notes():
        click.secho(line, fg="yellow", err=True)
    payments = _nicepay().payments
    if entry_id is not None:
        ids = [entry_id]
        if payments.inbox.get(entry_id) is None:
            raise click.ClickException(f"No notification {entry_id}.")
    else:
        ids = payments.notifications.failed_ids()
    outcomes: dict[str, int] = {}
    with click.progressbar(ids, label="Replaying", show_pos=True) as bar:
        for each in bar:
            outcome = str(payments.notifications.replay(each).outcome)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
    click.echo(f"{len(ids)} replayed: {summary or 'nothing to do'}")
    if outcomes.get(str(Outcome.ERROR)):
        raise SystemExit(1)


@nicepay_cli.command("cancel")
@click.argument("merchant_uid")
@click.option(
    "--amount", type=Money(), help="Refund this much; all that is left if omitted."
)
@click.option("--tax-free", type=Money(), help="The tax-free part of the refund.")
@click.option("--vat-amount", type=Money(), help="The VAT part of the refund.")
@click.option("--reason", help="Recorded at PortOne and here.")
@click.option("--refund-holder", help="Virtual account refunds: the account holder.")
@click.option("--refund-bank", help="Virtual account refunds: 3-digit KFTC bank code.")
@click.option("--refund-account", help="Virtual account refunds: the account number.")
@click.option(
    "--payment",
    metavar="IMP_UID",
    help="Pay back this extra payment of the order (its ledger row says auto) in "
    "full, instead of refunding the order's own.",
)
@with_appcontext
@uses_portone
def cancel(
    merchant_uid: str,
    amount: Decimal | None,
    tax_free: Decimal | None,
    vat_amount: Decimal | None,
    reason: str | None,
    refund_holder: str | None,
    refund_bank: str | None,
    refund_account: str | None,
    payment: str | None,
) -> None:
    """Refund an order in part or in full, or close it if it holds no money."""
    nicepay = _nicepay()
    account = _refund_account(refund_holder, refund_bank, refund_account)
    if nicepay.get_order(merchant_uid) is None:
        raise click.ClickException(f"No order {merchant_uid!r}.")
    if payment is not None and amount is not None:
        raise click.UsageError("--payment pays back all of it: leave out --amount.")
    parts = {"tax_free": tax_free, "vat_amount": vat_amount}
    try:
        if payment is not None:
            result = nicepay.refund_extra(
                merchant_uid, payment, reason=reason, refund_account=account, **parts
            ).sync
        elif amount is not None or any(v is not None for v in parts.values()):
            result = nicepay.refund(
                merchant_uid, amount, reason=reason, refund_account=account, **parts
            ).sync
        else:
            result = nicepay.cancel(merchant_uid, reason=reason, refund_account=account)
    except _REFUSED as exc:
        raise click.ClickException(str(exc)) from None
    except PortOneError as exc:
        raise click.ClickException(f"PortOne: {exc}") from None
    after = result.order
    click.echo(f"{merchant_uid}: {after.state.value if after else '?'}")


#: What ``cancel`` refuses to do as asked, said in one line.
_REFUSED = (
    RefundError,
    RefundInProgressError,
    InvalidTransitionError,
    UnknownOrderError,
)


def _refund_account(
    holder: str | None, bank: str | None, account: str | None
) -> RefundAccount | None:
    """The account a virtual-account refund goes to: all three options, or none."""
    if not (holder or bank or account):
        return None
    if not (holder and bank and account):
        raise click.UsageError(
            "A refund account needs --refund-holder, --refund-bank and "
            "--refund-account."
        )
    return RefundAccount(holder, bank, account)


@nicepay_cli.command("expire-vbanks")
@with_appcontext
@uses_portone
def expire_vbanks() -> None:
    """Expire virtual accounts past their deadline (after asking PortOne)."""
    expired = _nicepay().expire_vbanks()
    for order in expired:
        click.echo(f"expired {order.merchant_uid} (due {kst(order.vbank_due)})")
    click.echo(f"{len(expired)} virtual accounts expired.")


@nicepay_cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--webhook-url",
    help="Where its webhooks go; this app's webhook route by default.",
)
@with_appcontext
def sandbox(host: str, port: int, webhook_url: str | None) -> None:
    """Run the standalone PortOne sandbox, wired to this app's webhook route."""
    from .sandbox import Sandbox
    from .sandbox import serve

    settings = app_state().settings
    target = webhook_url or store_url(current_app) + settings.url_prefix + "/webhook"
    box = Sandbox(
        imp_key=settings.imp_key,
        imp_secret=settings.imp_secret,
        webhook_url=target,
        auto_deliver=True,
    )
    with serve(box, host=host, port=port) as url:
        click.echo(f"PortOne sandbox on {url}, webhooks to {target}")
        click.echo(f"Point the app at it: NICEPAY_SANDBOX_URL={url}")
        click.echo("Ctrl-C to stop.")
        try:
            while True:  # schedules run when due, as at PortOne
                box.run_due_schedules()
                time.sleep(1)
        except KeyboardInterrupt:
            click.echo("stopped")
        finally:
            box.close()


@nicepay_cli.command("doctor")
@with_appcontext
def doctor() -> None:
    """Check the configuration and the connection to PortOne; say how to fix it."""
    problems = 0
    for check in run_checks(current_app):
        colour = {"ok": "green", "warn": "yellow", "error": "red"}[check.level]
        click.secho(f"[{check.level.upper():5}] {check.title}", fg=colour)
        if check.detail:
            click.echo(f"        {check.detail}")
        if check.fix:
            click.echo(f"        fix: {check.fix}")
        problems += check.level == "error"
    if problems:
        raise SystemExit(1)
