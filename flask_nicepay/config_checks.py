"""One ``NICEPAY_*`` value at a time: read, checked, and refused with its key named.

Each reader takes the app's config and the key, and returns the value in the form
:class:`~flask_nicepay.config.Settings` holds it, or raises
:class:`~flask_nicepay.config.ConfigurationError` saying what to write instead.
What several keys mean together (the mode, the keys, live-only rules) is decided
in :mod:`flask_nicepay.config`.
"""

from __future__ import annotations

import importlib.util
import math
import re
import typing as t

import sqlalchemy as sa


class ConfigurationError(RuntimeError):
    """A ``NICEPAY_*`` setting is missing or wrong; the message names it."""


#: What NICEPAY_URL_PREFIX may be: plain path segments.
_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+")


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def switch(
    config: t.Mapping[str, t.Any], key: str, *, unset: bool | None = False
) -> bool | None:
    """A switch, also as text from the environment; ``None`` is ``unset``.

    Every switch reads the same way, and a typo is refused rather than guessed:
    ``NICEPAY_REQUIRE_LIVE = "ture"`` must not quietly mean off.
    """
    value = config[key]
    if value is None:
        return unset
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigurationError(
        f"{key} must be True or False ('true'/'false', '1'/'0' from the "
        f"environment), not {value!r}."
    )


def database(config: t.Mapping[str, t.Any]) -> str | None:
    value = config["NICEPAY_DATABASE_URI"]
    if not value:
        return None
    try:
        sa.make_url(value)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        raise ConfigurationError(
            "NICEPAY_DATABASE_URI must be a SQLAlchemy database URL such as "
            "'sqlite:///shop.db' or 'postgresql+psycopg://user@host/shop', "
            f"not {value!r}."
        ) from None
    return str(value)


def url(config: t.Mapping[str, t.Any], key: str) -> str:
    value = str(config[key] or "")
    if not value.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"{key} must be an absolute http(s) URL, not {value!r}."
        )
    return value.rstrip("/")


def prefix(value: t.Any) -> str:
    prefix = "/" + str(value or "").strip("/")
    if not _PREFIX.fullmatch(prefix):
        # Anything else would become part of every route: a variable ("<x>"),
        # a query, a scheme, or a space in every notice_url sent to PortOne.
        raise ConfigurationError(
            f"NICEPAY_URL_PREFIX must be a plain path such as '/nicepay' (letters, "
            f"digits, '.', '_', '~', '-' between slashes), not {value!r}."
        )
    return prefix


def _seconds(value: t.Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def timeout(value: t.Any) -> float | tuple[float, float]:
    if _seconds(value):
        return float(value)
    if (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(_seconds(v) for v in value)
    ):
        return (float(value[0]), float(value[1]))
    raise ConfigurationError(
        f"NICEPAY_TIMEOUT must be seconds or (connect, read) seconds, not {value!r}."
    )


def choice(config: t.Mapping[str, t.Any], key: str, allowed: tuple[str, ...]) -> str:
    value = config[key]
    if value not in allowed:
        raise ConfigurationError(
            f"{key} must be one of {', '.join(allowed)}, not {value!r}."
        )
    return str(value)


def names(config: t.Mapping[str, t.Any], key: str) -> list[str]:
    value = config[key]
    if isinstance(value, str):
        value = [value]
    if not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigurationError(f"{key} must be a list of names, not {value!r}.")
    return list(value)


def count(config: t.Mapping[str, t.Any], key: str, low: int, high: int) -> int:
    value = config[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise ConfigurationError(f"{key} must be a whole number from {low} to {high}.")
    return value


def target(config: t.Mapping[str, t.Any], key: str) -> str | None:
    """A same-site path the buyer is sent to, with ``{merchant_uid}`` filled in."""
    value = config[key]
    if value is None:
        return None
    value = str(value)
    # Browsers drop tabs and newlines inside URLs, so "/\t/evil.example" would
    # become "//evil.example": no control characters or spaces either.
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value)
    ):
        raise ConfigurationError(
            f"{key} must be a path on this site, such as '/orders/{{merchant_uid}}', "
            f"not {value!r}: the buyer is never sent elsewhere."
        )
    try:
        value.format(merchant_uid="np-1")
    except (KeyError, IndexError, ValueError):
        raise ConfigurationError(
            f"{key} may hold only the placeholder {{merchant_uid}} (write a literal "
            f"brace as {{{{ or }}}}), not {value!r}."
        ) from None
    return value


def merchant_uid_prefix(config: t.Mapping[str, t.Any]) -> str:
    value = str(config["NICEPAY_MERCHANT_UID_PREFIX"])
    if not value or len(value) > 12 or not value.replace("_", "").isalnum():
        raise ConfigurationError(
            "NICEPAY_MERCHANT_UID_PREFIX must be 1-12 letters, digits or underscores."
        )
    return value


def processing(config: t.Mapping[str, t.Any]) -> str:
    """Where notifications are processed; ``celery`` needs Celery installed."""
    value = choice(config, "NICEPAY_PROCESSING", ("inline", "celery"))
    if value == "celery" and importlib.util.find_spec("celery") is None:
        raise ConfigurationError(
            "NICEPAY_PROCESSING = 'celery' needs Celery: pip install "
            "'Flask-NicePay[celery]', or set NICEPAY_PROCESSING = 'inline'."
        )
    return value
