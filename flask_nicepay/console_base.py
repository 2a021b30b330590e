"""The operator console's blueprint and what every one of its routes shares.

Every request first asks the store's guard (see
:class:`~flask_nicepay.console.Console`); a refusal is a 403 before anything is
read. Every form carries a token that must match a ``SameSite=Strict`` cookie, so
another site cannot post to the console in an operator's name. Every action is
written to ``nicepay_console_actions`` with the operator's name, before its call
(see :mod:`flask_nicepay.console_journal`).
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
import typing as t

from flask import Blueprint
from flask import Request
from flask import Response
from flask import current_app
from flask import g
from flask import render_template
from flask import request
from werkzeug.exceptions import NotFound

from .console_journal import Journal
from .console_queries import BadForm as BadForm
from .console_texts import console_texts
from .state import app_state

#: Decides whether the request's user may operate; a string names the operator.
Guard = t.Callable[[Request], bool | str | None]
#: Names the operator of a request the guard let in.
Actor = t.Callable[[Request], str | None]

#: The console's cross-site token travels in this cookie too.
CSRF_COOKIE = "nicepay_console_csrf"
#: The language an operator chose (``?lang=en``) is kept in this cookie.
LANGUAGE_COOKIE = "nicepay_console_lang"
LANGUAGES = ("ko", "en")
#: The console's pages run only the plugin's own script and style sheet; a
#: store's own policy, set before, is kept.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

console_bp = Blueprint("nicepay_console", __name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ConsoleState:
    """What :meth:`Console.init_app <flask_nicepay.console.Console.init_app>`
    keeps per app."""

    guard: Guard | None
    actor: Actor | None


def console_state() -> ConsoleState:
    return t.cast(ConsoleState, current_app.extensions["nicepay_console"])


@console_bp.before_request
def _readable_query() -> Response | None:
    """Refuse a query string that is not UTF-8 before anything (the guard
    included) parses it: Werkzeug raises when ``request.args`` is first read."""
    try:
        request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        detail = "the query string is not UTF-8"
        return page(
            "nicepay/console/message.html", 400, message="bad_input", detail=detail
        )
    return None


@console_bp.before_request
def _check_access() -> Response | None:
    """The guard's word first; then, for a post, the form's token."""
    guard = console_state().guard
    allowed = True if guard is None else guard(request)
    if not allowed:
        return page("nicepay/console/message.html", 403, message="denied")
    g.nicepay_operator = _name(allowed)
    if request.method == "POST" and not _csrf_ok():
        return page("nicepay/console/message.html", 400, message="form_expired")
    return None


@console_bp.after_request
def _private(response: Response) -> Response:
    """No cache keeps, and no other site frames, what an operator sees."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Content-Security-Policy", CONSOLE_CSP)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    chosen = _chosen_language()
    if chosen in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, samesite="Lax", path=_cookie_path()
        )
    return response


@console_bp.errorhandler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return page("nicepay/console/message.html", 404, message="not_found")


@console_bp.errorhandler(BadForm)
def _bad_form(exc: BadForm) -> Response:
    return page("nicepay/console/message.html", 400, message="bad_input", detail=exc)


def _name(allowed: bool | str) -> str:
    """The operator's name: the actor callable's, else the guard's, else a
    placeholder (only a sandbox console runs without a guard)."""
    actor = console_state().actor
    named = actor(request) if actor is not None else None
    if named:
        return str(named)[:128]
    if isinstance(allowed, str) and allowed:
        return allowed[:128]
    return "operator" if console_state().guard is not None else "sandbox"


def operator() -> str:
    """The name of the operator making the current request."""
    return t.cast(str, g.nicepay_operator)


def _chosen_language() -> str | None:
    try:
        return request.args.get("lang")
    except UnicodeDecodeError:  # a query refused by _readable_query: no choice
        return None


def language() -> str:
    chosen = _chosen_language() or request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else app_state().settings.language


# -- the form token -----------------------------------------------------------------


def _cookie_path() -> str:
    return request.script_root + app_state().settings.url_prefix + "/console"


def csrf_token() -> str:
    """The browser's token: the cookie's, or a new one set with this answer."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) < 32:
        token = g.get("nicepay_new_csrf") or secrets.token_urlsafe(32)
        g.nicepay_new_csrf = token
    return token


def _csrf_ok() -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.form.get("csrf_token", "")
    return len(cookie) >= 32 and hmac.compare_digest(cookie, sent)


# -- pages and records --------------------------------------------------------------


def page(template: str, status: int = 200, **context: t.Any) -> Response:
    """A console page in the operator's language, its form token set."""
    lang = language()
    state = app_state()
    body = render_template(
        template,
        t=console_texts(lang),
        lang=lang,
        other_lang="en" if lang == "ko" else "ko",
        sandbox=state.settings.mode.sandbox,
        open_guard=console_state().guard is None,
        csrf_token=csrf_token(),
        operator=g.get("nicepay_operator"),
        **context,
    )
    response = Response(body, status=status, mimetype="text/html")
    new = g.get("nicepay_new_csrf")
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            new,
            httponly=True,
            samesite="Strict",
            secure=not state.settings.mode.sandbox,
            path=_cookie_path(),
        )
    return response


def journal() -> Journal:
    """The record of operators' actions, on the plugin's engine and clock."""
    payments = app_state().payments
    return Journal(payments.engine, payments.clock)


def begin(action: str, target: str | None, **options: t.Any) -> int:
    """Write that the current operator is about to do ``action``."""
    return journal().begin(operator(), action, target, **options)
