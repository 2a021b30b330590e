"""Keep card numbers and credentials out of messages, logs and reprs."""

from __future__ import annotations

import re

# The shapes card numbers are written in: 13 to 19 digits in one run, or groups of
# four (4-4-4-4, and 4-4-4-1..7 for the longer ones) or the 4-6-5 of American
# Express, split by spaces or dashes. Other digit groupings (a date and a counter,
# "20261126-12345", as in a generated merchant_uid) are not card numbers and stay
# readable. Already-masked numbers (digits with ``*``) pass through.
_CARD_NUMBER = re.compile(
    r"(?<![0-9*])(?:"
    r"\d{13,19}"
    r"|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}"
    r"|\d{4}([ -])\d{6}\2\d{5}"
    r")(?![0-9*])"
)


_CARD_NUMBER_BYTES = re.compile(_CARD_NUMBER.pattern.encode("ascii"))


def redact(text: str) -> str:
    """Mask every card-number-shaped run of digits in ``text``, keeping the last 4.

    :param text: any text that may have come from outside, such as PortOne's message.
    """
    return _CARD_NUMBER.sub(_mask_match, text)


def redact_bytes(data: bytes) -> bytes:
    """:func:`redact` for raw bytes in any encoding, leaving every other byte alone.

    ASCII digits mean the same in UTF-8, EUC-KR and Latin-1, so a body is masked
    without decoding it, and whatever else it holds (NUL, invalid UTF-8) is kept.
    """
    return _CARD_NUMBER_BYTES.sub(_mask_match_bytes, data)


def _mask_match(match: re.Match[str]) -> str:
    return _mask_match_text(match.group(0))


def _mask_match_bytes(match: re.Match[bytes]) -> bytes:
    return _mask_match_text(match.group(0).decode("ascii")).encode("ascii")


def _mask_match_text(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask(value: str | None, *, keep: int = 4) -> str:
    """Show only the last ``keep`` characters of a secret-ish value.

    :param value: the value to hide; ``None`` shows as ``None``.
    :param keep: how many trailing characters stay visible.
    """
    if value is None:
        return "None"
    if len(value) <= keep * 2:
        return "*" * len(value)
    return "…" + value[-keep:]
