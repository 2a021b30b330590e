"""``flask nicepay doctor``: what is misconfigured, and how to fix each thing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing as t

import sqlalchemy as sa
from flask import Flask

from . import migrations
from . import tables
from .channels import API
from .channels import USD
from .channels import WINDOW
from .channels import Channels
from .inbox import REPLAYABLE
from .machine import MONEY_STATES
from .machine import OPEN_STATES
from .portone import AuthenticationError
from .portone import PortOneError
from .state import app_state
from .tax import TaxMode

NICE_VBANK_NOTICE_URL = "https://service.iamport.kr/nice_payments/notice_vbank"


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``ok``, ``warn`` or ``error``, with the fix when there is one."""

    level: str
    title: str
    detail: str | None = None
    fix: str | None = None


def run_checks(app: Flask) -> list[Check]:
    """Every check, in the order an operator should read them."""
    state = app_state(app)
    checks = [_mode(state), _token(state)]
    checks += _live_setup(app, state)
    checks += [_database(state), *_backlog(state), *_unstated_vat(state)]
    return checks


def _mode(state: t.Any) -> Check:
    mode = state.settings.mode
    if mode.name == "live":
        return Check("ok", "Live mode: payments are real.")
    where = state.settings.sandbox_url
    if mode.name == "embedded":
        shared = state.sandbox.shared if state.sandbox else None
        where = (
            "embedded, shared by the app's processes"
            if shared
            else ("embedded, in this process only")
        )
    if mode.implicit:
        return Check(
            "warn",
            f"Sandbox mode ({where}) because no PortOne keys are configured.",
            "Nobody is charged; fine for development, wrong for a shop.",
            "Set NICEPAY_IMP_KEY, NICEPAY_IMP_SECRET, NICEPAY_MERCHANT_CODE and "
            "NICEPAY_CHANNEL_KEY, and NICEPAY_REQUIRE_LIVE = True in production.",
        )
    key = "NICEPAY_SANDBOX_URL" if mode.name == "standalone" else "NICEPAY_SANDBOX"
    return Check("ok", f"Sandbox mode ({where}), chosen with {key}.")


def _token(state: t.Any) -> Check:
    try:
        token = state.payments.client.fetch_token()
    except AuthenticationError:
        return Check(
            "error",
            "PortOne refused the REST API key and secret.",
            fix="Copy NICEPAY_IMP_KEY and NICEPAY_IMP_SECRET again from the PortOne "
            "console (결제연동 > 연동 정보 > API Keys).",
        )
    except PortOneError as exc:
        return Check(
            "error",
            "PortOne could not be reached.",
            str(exc),
            "Check the network path to NICEPAY_API_BASE_URL (outbound HTTPS).",
        )
    drift = abs(token.now - dt.datetime.now(dt.UTC).timestamp())
    detail = f"token valid for {token.lifetime} s; clock differs by {drift:.0f} s"
    if drift > 60:
        return Check(
            "warn",
            "PortOne accepted the keys, but this machine's clock is off.",
            detail,
            "Run NTP; tokens are timed on PortOne's clock, so payments still work.",
        )
    return Check("ok", "PortOne accepted the REST API key and secret.", detail)


def _live_setup(app: Flask, state: t.Any) -> list[Check]:
    settings = state.settings
    if settings.mode.sandbox:
        return []
    return [
        *_live_identity(settings),
        *_channels(settings.channels),
        _allowlist(settings),
        _VBANK_NOTICE,
        *_live_safety(app, settings),
    ]


_VBANK_NOTICE = Check(
    "warn",
    "Virtual accounts on NICE's old module need NICE's deposit notice.",
    "PortOne hears of a deposit only if NICE tells it.",
    f"In NICE's merchant admin set the virtual-account notice URL to "
    f"{NICE_VBANK_NOTICE_URL} (retry every minute, 3 times, encryption off).",
)


def _live_identity(settings: t.Any) -> list[Check]:
    """How the shop names itself to PortOne, and where PortOne finds it."""
    checks = []
    if not re.fullmatch(r"imp\d{8}", settings.merchant_code):
        checks.append(
            Check(
                "warn",
                f"NICEPAY_MERCHANT_CODE {settings.merchant_code!r} does not look like "
                "a merchant code (imp + 8 digits).",
                fix="Use the 고객사 식별코드 from the PortOne console.",
            )
        )
    if settings.channel_key is None:
        checks.append(
            Check(
                "warn",
                "Using the deprecated NICEPAY_PG instead of a channel key.",
                fix="Set NICEPAY_CHANNEL_KEY from the NICE channel in the console.",
            )
        )
    if settings.public_url is None:
        checks.append(
            Check(
                "warn",
                "NICEPAY_PUBLIC_URL is not set.",
                "notice_url and m_redirect_url are built from each request's host; "
                "behind a proxy that may be an internal address PortOne cannot reach, "
                "and API payments send no notice_url at all.",
                "Set NICEPAY_PUBLIC_URL = 'https://shop.example.com'.",
            )
        )
    return checks


#: Each purpose's configuration keys: the channel key's, then the MIDs'.
_CHANNEL_KEYS = {
    WINDOW: ("NICEPAY_CHANNEL_KEY", "NICEPAY_CHANNEL_MIDS"),
    API: ("NICEPAY_API_CHANNEL_KEY", "NICEPAY_API_CHANNEL_MIDS"),
    USD: ("NICEPAY_USD_CHANNEL_KEY", "NICEPAY_USD_CHANNEL_MIDS"),
}
_WHERE_MIDS = (
    "the PortOne console lists each channel's MID (가맹점 ID) under 결제 연동 > "
    "연동 정보 > 채널 관리"
)


def _channels(channels: Channels) -> list[Check]:
    """Whether each purpose's payments can be told to be the store's live money."""
    checks = []
    for channel in channels.unconfigured():
        key, mids = _CHANNEL_KEYS[channel.purpose]
        checks.append(
            Check(
                "error",
                f"The {channel.purpose} channel's live MIDs are not configured.",
                "A payment through another MID of the account, a test-mode one "
                "included, would pay an order; NICE cancels test payments every "
                "night and PortOne never hears of it.",
                f"Set {mids} to the MID(s) of the channel {key} names: {_WHERE_MIDS}.",
            )
        )
    if channels.api.channel_key == channels.window.channel_key and not (
        channels.api.mids and channels.api.mids != channels.window.mids
    ):
        key, mids = _CHANNEL_KEYS[API]
        checks.append(
            Check(
                "warn",
                "Key-in, billing-key and scheduled payments use the window's channel.",
                "NICE sets non-authenticated billing up as a PG setting of its own, "
                "with its own MID.",
                f"Set {key} and {mids} to the billing channel's.",
            )
        )
    if not checks:
        purposes = ", ".join(c.purpose for c in channels.configured())
        checks.append(Check("ok", f"Live MIDs configured for: {purposes}."))
    return checks


def _live_safety(app: Flask, settings: t.Any) -> list[Check]:
    """What keeps a live shop whole when something goes wrong."""
    checks = []
    if not settings.webhook_retries:
        checks.append(
            Check(
                "warn",
                "PortOne delivers each webhook once.",
                "A webhook lost to a deploy or an outage is not sent again.",
                "Ask PortOne support for webhook retries (then set "
                "NICEPAY_WEBHOOK_RETRIES = True), and run `flask nicepay reconcile` "
                "every few minutes from cron.",
            )
        )
    if not settings.require_live:
        checks.append(
            Check(
                "warn",
                "NICEPAY_REQUIRE_LIVE is off.",
                "If the keys ever go missing, the app would start on the sandbox.",
                "Set NICEPAY_REQUIRE_LIVE = True in production.",
            )
        )
    if not app.secret_key:
        checks.append(
            Check(
                "warn",
                "The app has no SECRET_KEY.",
                "Checkout options are signed with a key derived from the REST secret.",
                "Set SECRET_KEY so rotating the PortOne secret keeps links valid.",
            )
        )
    return checks


def _allowlist(settings: t.Any) -> Check:
    if not settings.webhook_allowlist:
        return Check(
            "warn",
            "Webhooks are accepted from any address.",
            "Safe, because every webhook is verified against PortOne's API.",
            "Set NICEPAY_WEBHOOK_ALLOWLIST to PortOne's addresses to refuse others.",
        )
    allowed = ", ".join(str(n) for n in settings.webhook_allowlist)
    if settings.trusted_proxies == 0:
        return Check(
            "ok",
            f"Webhooks accepted only from {allowed}.",
            "Behind a reverse proxy every webhook would come from the proxy.",
            "Behind a proxy set NICEPAY_TRUSTED_PROXIES to the number of proxies.",
        )
    return Check(
        "ok",
        f"Webhooks accepted only from {allowed}, "
        f"seen through {settings.trusted_proxies} trusted proxy hop(s).",
    )


def _database(state: t.Any) -> Check:
    engine = state.payments.engine
    try:
        present = set(sa.inspect(engine).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        return Check(
            "error", "The database cannot be reached.", str(exc).splitlines()[0]
        )
    at = migrations.current(engine) if present else None
    if at is not None and at != migrations.head():
        return Check(
            "error",
            f"The plugin's tables are at {at}; this release needs {migrations.head()}.",
            fix="Run `flask nicepay db upgrade`.",
        )
    missing = sorted(set(tables.metadata.tables) - present)
    if missing:
        return Check(
            "error",
            f"Tables missing: {', '.join(missing)}.",
            fix="Run `flask nicepay db upgrade`.",
        )
    return Check("ok", f"Database ready ({engine.url.get_backend_name()}).")


def _backlog(state: t.Any) -> list[Check]:
    payments = state.payments
    if _database(state).level == "error":
        return []
    day_ago = payments.clock() - dt.timedelta(days=1)
    query = (
        sa.select(sa.func.count())
        .select_from(tables.orders)
        .where(tables.orders.c.state.in_([s.value for s in OPEN_STATES]))
        .where(tables.orders.c.updated_at < day_ago)
    )
    with payments.engine.connect() as conn:
        stale = int(conn.execute(query).scalar_one())
    failed = len(payments.inbox.search(outcomes=REPLAYABLE))
    checks = []
    if stale:
        checks.append(
            Check(
                "warn",
                f"{stale} open orders unchanged for a day.",
                fix="Run `flask nicepay reconcile` (and from cron).",
            )
        )
    if failed:
        checks.append(
            Check(
                "warn",
                f"{failed} notifications failed or found no order.",
                fix="Look with `flask nicepay show`, then replay them: "
                "`flask nicepay replay --failed`.",
            )
        )
    return checks


def _unstated_vat(state: t.Any) -> list[Check]:
    """Under the fixed tax mode, paid orders whose parts nobody stated."""
    if (
        state.settings.tax_mode is not TaxMode.FIXED
        or _database(state).level == "error"
    ):
        return []
    query = (
        sa.select(sa.func.count())
        .select_from(tables.orders)
        .where(tables.orders.c.state.in_([s.value for s in MONEY_STATES]))
        .where(tables.orders.c.vat_amount.is_(None))
    )
    with state.payments.engine.connect() as conn:
        unstated = int(conn.execute(query).scalar_one())
    if not unstated:
        return []
    return [
        Check(
            "warn",
            f"{unstated} paid orders state no VAT under NICEPAY_TAX_MODE = 'fixed'.",
            "Only NICE knows their parts, so each refund of them must be given its "
            "tax-free and VAT parts by hand.",
            "Pass vat_amount (and tax_free) to create_order; refund these with "
            "--tax-free and --vat-amount.",
        )
    ]
