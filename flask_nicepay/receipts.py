"""Receipts: the addresses of PortOne's card slips, kept and linked with care.

PortOne gives each payment a ``receipt_url`` (the card slip, or the bank's
receipt) and each cancel in ``cancel_history`` its own. The order and its refund
rows keep them, so a store links the slip without asking PortOne again. They are
text from outside all the same: what is kept is cut to what a column, a log line
or a terminal takes, and only an ``https`` address with a host is ever made a
link (never ``javascript:``, ``data:`` or a relative path).
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

#: The longest receipt address kept; NICE's are about 80 characters.
MAX_RECEIPT_URL = 2000


def kept_receipt_url(value: t.Any) -> str | None:
    """What the database keeps of a receipt address PortOne gave, or ``None``.

    Nothing is kept of a value that is not text, is empty or longer than
    :data:`MAX_RECEIPT_URL`, or holds a control character or a space (no URL
    does, and PostgreSQL refuses NUL in text).
    """
    if not isinstance(value, str) or not 0 < len(value) <= MAX_RECEIPT_URL:
        return None
    # split() drops every kind of space: a value without any is its one piece.
    if not value.isprintable() or value.split() != [value]:
        return None
    return value


def receipt_link(value: str | None) -> str | None:
    """``value`` if a page may link to it: an ``https`` address with a host.

    Anything else (another scheme, a relative or protocol-relative path, a value
    the database should not hold) is not a link, and a page shows none.
    """
    value = kept_receipt_url(value)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # an unbalanced bracket in the host
        return None
    if parts.scheme != "https" or not parts.hostname or "\\" in value:
        return None
    return value
