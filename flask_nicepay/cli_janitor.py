"""``flask nicepay janitor``: the janitor's passes, for stores that use cron.

Safe from cron on many hosts at once: each row is claimed before PortOne is
asked about it (see :mod:`flask_nicepay.janitor`).
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from .cli import nicepay_cli
from .cli_notes import uses_portone
from .janitor import PASSES
from .janitor import JanitorReport
from .state import app_state


@nicepay_cli.command("janitor")
@click.option(
    "--pass",
    "passes",
    multiple=True,
    type=click.Choice(PASSES),
    help="Run only this pass (again for more); every pass by default.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@with_appcontext
@uses_portone
def janitor(passes: tuple[str, ...], as_json: bool) -> None:
    """Heal what was left half done: one run of each pass, its counts printed.

    Exits with 1 when a pass failed (PortOne unreachable, say); what is left
    is taken up by the next run.
    """
    report = app_state().payments.janitor.run(passes or None)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print(report)
    if not report.ok:
        raise SystemExit(1)


def _print(report: JanitorReport) -> None:
    for name, done in report.passes.items():
        counts = ", ".join(f"{count} {what}" for what, count in done.counts.items())
        click.echo(f"{name}: {counts or 'nothing to do'}")
        for error in done.errors:
            click.secho(f"  error: {error}", fg="red", err=True)
