"""The shop's own error pages: in the shop's look and the buyer's language.

Bad input is answered with a clear message and a 4xx, never with Werkzeug's bare
pages; anything unexpected gets a 500 page of the shop's, and is logged.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask import render_template
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from .shop_words import words

log = logging.getLogger("example_app")


class ShopError(HTTPException):
    """A request the shop refuses, with the words (a key) that say why."""

    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__()
        self.code = code
        self.message = message


def _page(code: int, message: str) -> tuple[str, int]:
    said = words()
    title = said.get(f"error_{code}", said["error_400"])
    body = said.get(message, message)
    return render_template("error.html", code=code, title=title, body=body), code


def _shop_error(exc: ShopError) -> tuple[str, int]:
    return _page(exc.code or 400, exc.message)


def _http_error(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    if code == 404:
        return _page(404, "error_404_body")
    return _page(code, "error_body")


def _server_error(exc: InternalServerError) -> tuple[str, int]:
    log.error("Unexpected error", exc_info=exc.original_exception or exc)
    return _page(500, "error_500_body")


def init_app(app: Flask) -> None:
    """Answer the shop's errors with its own pages."""
    app.register_error_handler(ShopError, _shop_error)
    for code in (400, 404, 405):
        app.register_error_handler(code, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
