"""Keep card numbers and credentials out of messages, logs and reprs."""

from __future__ import annotations

import re

# 13 to 19 digits, optionally grouped by spaces or dashes: every card number shape.
# Already-masked numbers (digits mixed with ``*``) do not match and pass through.
_CARD_NUMBER = re.compile(r"(?<![\d*])(?:\d[ -]?){12,18}\d(?![\d*])")


def redact(text: str) -> str:
    """Mask every card-number-shaped run of digits in ``text``, keeping the last 4.

    :param text: any text that may have come from outside, such as PortOne's message.
    """
    return _CARD_NUMBER.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
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
