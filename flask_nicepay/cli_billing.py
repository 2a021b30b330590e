"""``flask nicepay billing …``: the billing keys, as an operator looks at them.

Times are printed in KST, labelled, as by every other command; ``delete`` asks
PortOne, so it first says which PortOne that is when it matters
(:func:`~flask_nicepay.cli_notes.uses_portone`).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .cli import nicepay_cli
from .cli_notes import kst
from .cli_notes import uses_portone
from .portone import PortOneError
from .state import app_state


@nicepay_cli.group("billing")
def billing() -> None:
    """Billing keys: list, show, delete."""


@billing.command("keys")
@click.option(
    "--status", type=click.Choice(["active", "deleted"]), help="Only keys in it."
)
@with_appcontext
def keys(status: str | None) -> None:
    """Every billing key, newest change first (card numbers as PortOne masks them)."""
    found = app_state().payments.billing.keys(status)
    if not found:
        click.echo("No billing keys.")
    for key in found:
        card = " ".join(filter(None, (key.card_name, key.card_number))) or "-"
        click.echo(f"{key.customer_uid}  {key.status:8} {card}  {kst(key.updated_at)}")


@billing.command("show")
@click.argument("customer_uid")
@with_appcontext
def show(customer_uid: str) -> None:
    """One billing key and the orders charged or scheduled on it."""
    billing = app_state().payments.billing
    key = billing.get_key(customer_uid)
    if key is None:
        raise click.ClickException(f"No billing key {customer_uid!r}.")
    click.secho(f"{key.customer_uid}  {key.status}", bold=True)
    for name in ("card_name", "card_number", "pg_provider"):
        value = getattr(key, name)
        if value is not None:
            click.echo(f"  {name:12} {value}")
    click.echo(f"  {'created_at':12} {kst(key.created_at)}")
    orders = billing.orders_of(customer_uid)
    click.echo(f"Orders ({len(orders)}):")
    for row in orders:
        when = f"  scheduled {kst(row['scheduled_at'])}" if row["scheduled_at"] else ""
        click.echo(
            f"  {row['merchant_uid']}  {row['state']:20} "
            f"{row['amount']:,} {row['currency']}  {row['origin']}{when}"
        )


@billing.command("delete")
@click.argument("customer_uid")
@click.option("--reason", help="Recorded at PortOne.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@uses_portone
def delete(customer_uid: str, reason: str | None, yes: bool) -> None:
    """Delete a billing key at PortOne, and mark it deleted here."""
    billing = app_state().payments.billing
    if billing.get_key(customer_uid) is None:
        raise click.ClickException(f"No billing key {customer_uid!r}.")
    if not yes:
        click.confirm(f"Delete the billing key {customer_uid} at PortOne?", abort=True)
    try:
        key = billing.delete_key(customer_uid, reason=reason)
    except PortOneError as exc:
        raise click.ClickException(f"PortOne refused: {exc}") from exc
    click.echo(f"{key.customer_uid}: {key.status}")
