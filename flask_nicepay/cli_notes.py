"""What ``flask nicepay`` says besides its answers: which PortOne, when, where.

Commands that ask PortOne first say, one line each, when it is the sandbox by
default or an embedded sandbox no other process shares. Times are KST, labelled.
"""

from __future__ import annotations

import datetime as dt
import functools
import typing as t

import click
from flask import Flask

from . import config
from .checkout import KST
from .state import app_state

__all__ = ["KST", "kst", "portone_notes", "store_url", "uses_portone"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def uses_portone(command: F) -> F:
    """Mark a command that asks PortOne: it first says, in one line each, when
    that PortOne is the sandbox by default, or one this process cannot share."""

    @functools.wraps(command)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        for line in portone_notes():
            click.secho(line, fg="yellow", err=True)
        return command(*args, **kwargs)

    return t.cast(F, wrapper)


def portone_notes() -> list[str]:
    """What an operator must know about the PortOne a command is about to ask."""
    state = app_state()
    settings, notes = state.settings, []
    if settings.mode.implicit:
        notes.append(
            "Sandbox: no PortOne keys are configured, so this works on the offline "
            "sandbox and nobody is charged (set NICEPAY_IMP_KEY and the others for "
            "real payments)."
        )
    sandbox = state.sandbox
    unshared = settings.sandbox_state_file is None or config.in_memory(
        str(state.payments.engine.url)
    )
    if sandbox is not None and sandbox.shared is None and unshared:
        notes.append(
            "The embedded sandbox is not shared (the database is in memory or "
            "NICEPAY_SANDBOX_STATE_FILE is False), so this command sees an "
            "empty PortOne: use a database file and leave "
            "NICEPAY_SANDBOX_STATE_FILE unset, or run `flask nicepay sandbox` "
            "and set NICEPAY_SANDBOX_URL."
        )
    return notes


def kst(moment: dt.datetime | None) -> str:
    """A time as the CLI prints it: KST, to the second, labelled (naive is UTC).

    :param moment: the time, or None for ``-``.
    """
    if moment is None:
        return "-"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return f"{moment.astimezone(KST):%Y-%m-%d %H:%M:%S} KST"


def store_url(app: Flask) -> str:
    """Where the store answers, from its config: ``NICEPAY_PUBLIC_URL``, else
    ``SERVER_NAME`` (with ``PREFERRED_URL_SCHEME`` and ``APPLICATION_ROOT``).

    :raises click.UsageError: neither is set; the message says what to set.
    """
    public = app_state(app).settings.public_url
    if public:
        return public.rstrip("/")
    server = app.config.get("SERVER_NAME")
    if server:
        scheme = app.config.get("PREFERRED_URL_SCHEME") or "http"
        root = (app.config.get("APPLICATION_ROOT") or "/").rstrip("/")
        return f"{scheme}://{server}{root}"
    raise click.UsageError(
        "Where is the store? Set NICEPAY_PUBLIC_URL (e.g. http://127.0.0.1:5000) "
        "or SERVER_NAME (host:port) in the app's config, or give --webhook-url."
    )
