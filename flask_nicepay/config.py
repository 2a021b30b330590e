"""The ``NICEPAY_*`` configuration keys: defaults, reading and validation.

Read once, in :meth:`~flask_nicepay.NicePay.init_app`; every key is documented in
``docs/configuration.rst``. A mistake fails at start-up with a message that names
the key, never at the first payment.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import typing as t
from urllib.parse import urlsplit

import sqlalchemy as sa

from .portone import DEFAULT_BASE_URL

#: PortOne's published webhook source addresses.
PORTONE_WEBHOOK_IPS = ("52.78.100.19", "52.78.48.223", "52.78.5.241")

DEFAULTS: dict[str, t.Any] = {
    "NICEPAY_IMP_KEY": None,
    "NICEPAY_IMP_SECRET": None,
    "NICEPAY_MERCHANT_CODE": None,
    "NICEPAY_CHANNEL_KEY": None,
    "NICEPAY_PG": None,
    "NICEPAY_SANDBOX": None,
    "NICEPAY_SANDBOX_URL": None,
    "NICEPAY_REQUIRE_LIVE": False,
    "NICEPAY_DATABASE_URI": None,
    "NICEPAY_CREATE_TABLES": None,
    "NICEPAY_URL_PREFIX": "/nicepay",
    "NICEPAY_API_BASE_URL": DEFAULT_BASE_URL,
    "NICEPAY_SDK_URL": "https://cdn.iamport.kr/v1/iamport.js",
    "NICEPAY_TIMEOUT": (3.05, 20.0),
    "NICEPAY_PREPARE": True,
    "NICEPAY_ON_MISMATCH": "cancel",
    "NICEPAY_PG_PROVIDERS": ("nice",),
    "NICEPAY_WEBHOOK_ALLOWLIST": None,
    "NICEPAY_TRUSTED_PROXIES": 0,
    "NICEPAY_WEBHOOK_RETRIES": False,
    "NICEPAY_SUCCESS_URL": None,
    "NICEPAY_FAILURE_URL": None,
    "NICEPAY_PUBLIC_URL": None,
    "NICEPAY_NICE_MOBILE_V2": False,
    "NICEPAY_LANGUAGE": "ko",
    "NICEPAY_VBANK_DUE_DAYS": 3,
    "NICEPAY_MAX_BODY": 64 * 1024,
    "NICEPAY_MERCHANT_UID_PREFIX": "np",
    "NICEPAY_SANDBOX_AUTO_DELIVER": True,
}


#: What NICEPAY_URL_PREFIX may be: plain path segments.
_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+")


class ConfigurationError(RuntimeError):
    """A ``NICEPAY_*`` setting is missing or wrong; the message names it."""


class Mode(t.NamedTuple):
    """Which PortOne the app talks to."""

    #: ``live``, ``embedded`` (the sandbox in this process) or ``standalone`` (a
    #: sandbox server at ``NICEPAY_SANDBOX_URL``).
    name: str
    #: Sandbox chosen only because no keys were configured.
    implicit: bool = False

    @property
    def sandbox(self) -> bool:
        return self.name != "live"


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The validated settings of one application."""

    mode: Mode
    imp_key: str
    imp_secret: str = dataclasses.field(repr=False)
    merchant_code: str
    channel_key: str | None
    pg: str | None
    api_base_url: str
    sdk_url: str | None
    sandbox_url: str | None
    database_uri: str
    create_tables: bool
    url_prefix: str
    timeout: float | tuple[float, float]
    prepare: bool
    on_mismatch: str
    pg_providers: frozenset[str]
    webhook_allowlist: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    trusted_proxies: int
    webhook_retries: bool
    success_url: str | None
    failure_url: str | None
    public_url: str | None
    nice_mobile_v2: bool
    language: str
    vbank_due_days: int
    max_body: int
    merchant_uid_prefix: str
    sandbox_auto_deliver: bool
    require_live: bool = False


SANDBOX_KEY, SANDBOX_SECRET, SANDBOX_CODE = (
    "sandbox_key",
    "sandbox_secret",
    "imp00000000",
)


def read(config: t.Mapping[str, t.Any], instance_path: str) -> Settings:
    """Validate an app's ``NICEPAY_*`` keys (defaults already set) into Settings.

    :raises ConfigurationError: naming the key and what to do about it.
    """
    mode = _mode(config)
    keys = _keys(config, mode)
    database_uri = _database(config) or _default_database(instance_path)
    create_tables = _bool(config, "NICEPAY_CREATE_TABLES", unset=None)
    return Settings(
        mode=mode,
        imp_key=keys[0],
        imp_secret=keys[1],
        merchant_code=keys[2],
        channel_key=config["NICEPAY_CHANNEL_KEY"],
        pg=config["NICEPAY_PG"] or (None if config["NICEPAY_CHANNEL_KEY"] else "nice"),
        api_base_url=_url(config, "NICEPAY_API_BASE_URL"),
        sdk_url=_sdk_url(config) if mode.name == "live" else None,
        sandbox_url=(
            _url(config, "NICEPAY_SANDBOX_URL")
            if config["NICEPAY_SANDBOX_URL"]
            else None
        ),
        database_uri=database_uri,
        create_tables=mode.sandbox if create_tables is None else create_tables,
        url_prefix=_prefix(config["NICEPAY_URL_PREFIX"]),
        timeout=_timeout(config["NICEPAY_TIMEOUT"]),
        prepare=bool(_bool(config, "NICEPAY_PREPARE")),
        on_mismatch=_choice(config, "NICEPAY_ON_MISMATCH", ("cancel", "hold")),
        pg_providers=frozenset(_strings(config, "NICEPAY_PG_PROVIDERS")),
        webhook_allowlist=_allowlist(config, mode),
        trusted_proxies=_count(config, "NICEPAY_TRUSTED_PROXIES", 0, 10),
        webhook_retries=bool(_bool(config, "NICEPAY_WEBHOOK_RETRIES")),
        success_url=_target(config, "NICEPAY_SUCCESS_URL"),
        failure_url=_target(config, "NICEPAY_FAILURE_URL"),
        public_url=_public_url(config, mode),
        nice_mobile_v2=bool(_bool(config, "NICEPAY_NICE_MOBILE_V2")),
        language=_choice(config, "NICEPAY_LANGUAGE", ("ko", "en")),
        vbank_due_days=_count(config, "NICEPAY_VBANK_DUE_DAYS", 1, 60),
        max_body=_count(config, "NICEPAY_MAX_BODY", 1024, 16 * 1024 * 1024),
        merchant_uid_prefix=_merchant_uid_prefix(config),
        sandbox_auto_deliver=bool(_bool(config, "NICEPAY_SANDBOX_AUTO_DELIVER")),
        require_live=bool(_bool(config, "NICEPAY_REQUIRE_LIVE")),
    )


def _mode(config: t.Mapping[str, t.Any]) -> Mode:
    has_keys = bool(config["NICEPAY_IMP_KEY"] or config["NICEPAY_IMP_SECRET"])
    sandbox = _bool(config, "NICEPAY_SANDBOX", unset=None)
    sandbox_url = config["NICEPAY_SANDBOX_URL"]
    if sandbox is None:
        if sandbox_url:  # naming a sandbox server chooses the sandbox, keys or not
            mode = Mode("embedded")
        else:
            mode = Mode("embedded", implicit=True) if not has_keys else Mode("live")
    else:
        mode = Mode("embedded") if sandbox else Mode("live")
    if sandbox_url and not mode.sandbox:
        raise ConfigurationError(
            "NICEPAY_SANDBOX_URL is set but NICEPAY_SANDBOX is off: unset "
            "NICEPAY_SANDBOX_URL for real payments, or NICEPAY_SANDBOX to use it."
        )
    if sandbox_url:
        mode = Mode("standalone", implicit=mode.implicit)
    if mode.sandbox and _bool(config, "NICEPAY_REQUIRE_LIVE"):
        raise ConfigurationError(
            "NICEPAY_REQUIRE_LIVE is set but the app would run on the sandbox: set "
            "NICEPAY_IMP_KEY, NICEPAY_IMP_SECRET, NICEPAY_MERCHANT_CODE and "
            "NICEPAY_CHANNEL_KEY (and leave NICEPAY_SANDBOX unset)."
        )
    return mode


def _keys(config: t.Mapping[str, t.Any], mode: Mode) -> tuple[str, str, str]:
    if mode.sandbox:
        return (
            config["NICEPAY_IMP_KEY"] or SANDBOX_KEY,
            config["NICEPAY_IMP_SECRET"] or SANDBOX_SECRET,
            config["NICEPAY_MERCHANT_CODE"] or SANDBOX_CODE,
        )
    missing = [
        key
        for key in ("NICEPAY_IMP_KEY", "NICEPAY_IMP_SECRET", "NICEPAY_MERCHANT_CODE")
        if not config[key]
    ]
    if not (config["NICEPAY_CHANNEL_KEY"] or config["NICEPAY_PG"]):
        missing.append("NICEPAY_CHANNEL_KEY (or the deprecated NICEPAY_PG)")
    if missing:
        raise ConfigurationError(
            "PortOne needs " + ", ".join(missing) + ": the REST API key and "
            "secret and the merchant code (고객사 식별코드) come from the PortOne "
            "console, the channel key from its NICE channel. Or set "
            "NICEPAY_SANDBOX = True."
        )
    return (
        str(config["NICEPAY_IMP_KEY"]),
        str(config["NICEPAY_IMP_SECRET"]),
        str(config["NICEPAY_MERCHANT_CODE"]),
    )


def _default_database(instance_path: str) -> str:
    os.makedirs(instance_path, exist_ok=True)
    return "sqlite:///" + os.path.join(instance_path, "nicepay.sqlite3")


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _bool(
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


def _database(config: t.Mapping[str, t.Any]) -> str | None:
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


def _sdk_url(config: t.Mapping[str, t.Any]) -> str:
    url = _url(config, "NICEPAY_SDK_URL")
    if not url.startswith("https://"):
        raise ConfigurationError(
            "NICEPAY_SDK_URL must be https:// in live mode: it is the script that "
            "opens the payment window."
        )
    return url


def _url(config: t.Mapping[str, t.Any], key: str) -> str:
    value = str(config[key] or "")
    if not value.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"{key} must be an absolute http(s) URL, not {value!r}."
        )
    return value.rstrip("/")


def _public_url(config: t.Mapping[str, t.Any], mode: Mode) -> str | None:
    value = config["NICEPAY_PUBLIC_URL"]
    if not value:
        return None
    url = _url(config, "NICEPAY_PUBLIC_URL")
    parts = urlsplit(url)
    if parts.query or parts.fragment or not parts.netloc:
        raise ConfigurationError(
            "NICEPAY_PUBLIC_URL is the shop's address, such as "
            f"'https://shop.example.com', with no query or fragment; not {url!r}."
        )
    if mode.name == "live" and not url.startswith("https://"):
        raise ConfigurationError(
            "NICEPAY_PUBLIC_URL must be https:// in live mode: PortOne sends webhooks "
            "and phones return only to addresses it can reach securely."
        )
    return url


def _prefix(value: t.Any) -> str:
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


def _timeout(value: t.Any) -> float | tuple[float, float]:
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


def _choice(config: t.Mapping[str, t.Any], key: str, allowed: tuple[str, ...]) -> str:
    value = config[key]
    if value not in allowed:
        raise ConfigurationError(
            f"{key} must be one of {', '.join(allowed)}, not {value!r}."
        )
    return str(value)


def _strings(config: t.Mapping[str, t.Any], key: str) -> list[str]:
    value = config[key]
    if isinstance(value, str):
        value = [value]
    if not value or not all(isinstance(v, str) and v for v in value):
        raise ConfigurationError(f"{key} must be a list of names, not {value!r}.")
    return list(value)


def _count(config: t.Mapping[str, t.Any], key: str, low: int, high: int) -> int:
    value = config[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise ConfigurationError(f"{key} must be a whole number from {low} to {high}.")
    return value


def _allowlist(
    config: t.Mapping[str, t.Any], mode: Mode
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    value = config["NICEPAY_WEBHOOK_ALLOWLIST"]
    if value is None:
        value = PORTONE_WEBHOOK_IPS if mode.name == "live" else ()
    if value is False:
        value = ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list | tuple | set | frozenset):
        raise ConfigurationError(
            "NICEPAY_WEBHOOK_ALLOWLIST must be a list of addresses or networks (or "
            f"a comma-separated string), not {value!r}."
        )
    try:
        return tuple(ipaddress.ip_network(v, strict=False) for v in value)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"NICEPAY_WEBHOOK_ALLOWLIST holds something that is not an address: {exc}"
        ) from None


def _target(config: t.Mapping[str, t.Any], key: str) -> str | None:
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


def _merchant_uid_prefix(config: t.Mapping[str, t.Any]) -> str:
    value = str(config["NICEPAY_MERCHANT_UID_PREFIX"])
    if not value or len(value) > 12 or not value.replace("_", "").isalnum():
        raise ConfigurationError(
            "NICEPAY_MERCHANT_UID_PREFIX must be 1-12 letters, digits or underscores."
        )
    return value
