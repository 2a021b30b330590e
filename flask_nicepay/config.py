"""The ``NICEPAY_*`` configuration keys: defaults, reading and validation.

Read once, in :meth:`~flask_nicepay.NicePay.init_app`; every key is documented in
``docs/configuration.rst``. A mistake fails at start-up with a message that names
the key, never at the first payment.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import os
import typing as t
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from . import channels
from . import config_checks as check
from . import janitor_policy
from .channels import Channels
from .config_checks import ConfigurationError as ConfigurationError
from .janitor_policy import JanitorPolicy
from .portone import DEFAULT_BASE_URL
from .tax import TaxMode

#: PortOne's published webhook source addresses.
PORTONE_WEBHOOK_IPS = ("52.78.100.19", "52.78.48.223", "52.78.5.241")

DEFAULTS: dict[str, t.Any] = {
    "NICEPAY_IMP_KEY": None,
    "NICEPAY_IMP_SECRET": None,
    "NICEPAY_MERCHANT_CODE": None,
    "NICEPAY_CHANNEL_KEY": None,
    "NICEPAY_CHANNEL_MIDS": None,
    "NICEPAY_API_CHANNEL_KEY": None,
    "NICEPAY_API_CHANNEL_MIDS": None,
    "NICEPAY_USD_CHANNEL_KEY": None,
    "NICEPAY_USD_CHANNEL_MIDS": None,
    "NICEPAY_PG": None,
    "NICEPAY_SANDBOX": None,
    "NICEPAY_SANDBOX_URL": None,
    "NICEPAY_SANDBOX_STATE_FILE": None,
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
    # The MID's tax mode in NICE's settings: what each cancel states.
    "NICEPAY_TAX_MODE": TaxMode.AUTO.value,
    **janitor_policy.DEFAULTS,
    "NICEPAY_PROCESSING": "inline",
    "NICEPAY_CELERY_BATCH": 10,
}


#: Logged at start-up when no keys are configured (by ``flask run``, at its first
#: request; the commands that ask PortOne say it in one line).
IMPLICIT_SANDBOX_WARNING = (
    "flask-nicepay: no PortOne keys configured, so payments go to the "
    "OFFLINE SANDBOX. Nobody is charged. Set NICEPAY_IMP_KEY, "
    "NICEPAY_IMP_SECRET, NICEPAY_MERCHANT_CODE and NICEPAY_CHANNEL_KEY "
    "for real payments, and NICEPAY_REQUIRE_LIVE = True in production."
)


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
    #: The window's channel key and ``pg`` (also in :attr:`channels`).
    channel_key: str | None
    pg: str | None
    api_base_url: str
    sdk_url: str | None
    sandbox_url: str | None
    #: Where the embedded sandbox keeps its state for every process, or None.
    sandbox_state_file: str | None
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
    #: The janitor's grace periods, backoff and batches (``NICEPAY_JANITOR_*``).
    janitor: JanitorPolicy = dataclasses.field(default_factory=JanitorPolicy)
    #: ``inline`` (in the request) or ``celery`` (by a worker, after the answer).
    processing: str = "inline"
    #: The most notifications one message to the Celery workers carries.
    celery_batch: int = 10
    #: The store's live PG settings by purpose (``NICEPAY_*CHANNEL*``).
    channels: Channels = dataclasses.field(default_factory=Channels)
    #: The MID's tax mode (``NICEPAY_TAX_MODE``): what each cancel states.
    tax_mode: TaxMode = TaxMode.AUTO


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
    return Settings(
        mode=mode,
        imp_key=keys[0],
        imp_secret=keys[1],
        merchant_code=keys[2],
        **_places(config, mode, instance_path),
        **_rules(config, mode),
        **_checkout(config),
        janitor=janitor_policy.from_config(config),
        channels=channels.read(config, sandbox=mode.sandbox),
        tax_mode=_tax_mode(config),
    )


def _tax_mode(config: t.Mapping[str, t.Any]) -> TaxMode:
    """``NICEPAY_TAX_MODE``: ``auto``, or ``fixed`` for a 지정금액 MID."""
    modes = tuple(mode.value for mode in TaxMode)
    return TaxMode(check.choice(config, "NICEPAY_TAX_MODE", modes))


def _places(
    config: t.Mapping[str, t.Any], mode: Mode, instance_path: str
) -> dict[str, t.Any]:
    """Where the app's database, PortOne and its payment window are."""
    database_uri = check.database(config) or _default_database(instance_path)
    create_tables = check.switch(config, "NICEPAY_CREATE_TABLES", unset=None)
    return {
        "database_uri": database_uri,
        "create_tables": mode.sandbox if create_tables is None else create_tables,
        "channel_key": config["NICEPAY_CHANNEL_KEY"],
        "pg": config["NICEPAY_PG"]
        or (None if config["NICEPAY_CHANNEL_KEY"] else "nice"),
        "api_base_url": check.url(config, "NICEPAY_API_BASE_URL"),
        "sdk_url": _sdk_url(config) if mode.name == "live" else None,
        "sandbox_url": (
            check.url(config, "NICEPAY_SANDBOX_URL")
            if config["NICEPAY_SANDBOX_URL"]
            else None
        ),
        "sandbox_state_file": _sandbox_state_file(config, database_uri, instance_path),
    }


def _rules(config: t.Mapping[str, t.Any], mode: Mode) -> dict[str, t.Any]:
    """How the routes are reached and what they trust."""
    return {
        "url_prefix": check.prefix(config["NICEPAY_URL_PREFIX"]),
        "timeout": check.timeout(config["NICEPAY_TIMEOUT"]),
        "prepare": bool(check.switch(config, "NICEPAY_PREPARE")),
        "on_mismatch": check.choice(config, "NICEPAY_ON_MISMATCH", ("cancel", "hold")),
        "pg_providers": frozenset(check.names(config, "NICEPAY_PG_PROVIDERS")),
        "webhook_allowlist": _allowlist(config, mode),
        "trusted_proxies": check.count(config, "NICEPAY_TRUSTED_PROXIES", 0, 10),
        "webhook_retries": bool(check.switch(config, "NICEPAY_WEBHOOK_RETRIES")),
        "success_url": check.target(config, "NICEPAY_SUCCESS_URL"),
        "failure_url": check.target(config, "NICEPAY_FAILURE_URL"),
        "public_url": _public_url(config, mode),
    }


def _checkout(config: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What the buyer's checkout looks like, and the switches left."""
    return {
        "nice_mobile_v2": bool(check.switch(config, "NICEPAY_NICE_MOBILE_V2")),
        "language": check.choice(config, "NICEPAY_LANGUAGE", ("ko", "en")),
        "vbank_due_days": check.count(config, "NICEPAY_VBANK_DUE_DAYS", 1, 60),
        "max_body": check.count(config, "NICEPAY_MAX_BODY", 1024, 16 * 1024 * 1024),
        "merchant_uid_prefix": check.merchant_uid_prefix(config),
        "sandbox_auto_deliver": bool(
            check.switch(config, "NICEPAY_SANDBOX_AUTO_DELIVER")
        ),
        "require_live": bool(check.switch(config, "NICEPAY_REQUIRE_LIVE")),
        "processing": check.processing(config),
        "celery_batch": check.count(config, "NICEPAY_CELERY_BATCH", 1, 500),
    }


def _mode(config: t.Mapping[str, t.Any]) -> Mode:
    has_keys = bool(config["NICEPAY_IMP_KEY"] or config["NICEPAY_IMP_SECRET"])
    sandbox = check.switch(config, "NICEPAY_SANDBOX", unset=None)
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
    if mode.sandbox and check.switch(config, "NICEPAY_REQUIRE_LIVE"):
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


def _sandbox_state_file(
    config: t.Mapping[str, t.Any], database_uri: str, instance_path: str
) -> str | None:
    """The embedded sandbox's shared file: in the instance folder by default.

    None (kept in one process) when switched off, or when the database is in
    memory: another process would see neither the orders nor the payments.
    """
    value = config["NICEPAY_SANDBOX_STATE_FILE"]
    if value is False or in_memory(database_uri):
        return None
    if value is None or value is True:
        value = "nicepay-sandbox.sqlite3"
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise ConfigurationError(
            "NICEPAY_SANDBOX_STATE_FILE is a file name (in the instance folder "
            f"unless absolute) or False to keep the sandbox in memory; not {value!r}."
        )
    return os.path.join(instance_path, os.fspath(value))


def in_memory(database_uri: str) -> bool:
    """Whether a database URL names an in-memory SQLite database.

    :param database_uri: a SQLAlchemy URL.
    """
    if not database_uri.startswith("sqlite"):
        return False
    rest = database_uri.split("://", 1)[-1]
    return rest in ("", "/", "/:memory:") or "mode=memory" in rest


def database_owner(database_uri: str) -> str:
    """Whose sandbox state file it is: the database, named without its password.

    :param database_uri: a SQLAlchemy URL.
    """
    text = make_url(database_uri).render_as_string(hide_password=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _public_url(config: t.Mapping[str, t.Any], mode: Mode) -> str | None:
    value = config["NICEPAY_PUBLIC_URL"]
    if not value:
        return None
    url = check.url(config, "NICEPAY_PUBLIC_URL")
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


def _sdk_url(config: t.Mapping[str, t.Any]) -> str:
    url = check.url(config, "NICEPAY_SDK_URL")
    if not url.startswith("https://"):
        raise ConfigurationError(
            "NICEPAY_SDK_URL must be https:// in live mode: it is the script that "
            "opens the payment window."
        )
    return url
