"""The :class:`NicePay` Flask extension."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import typing as t
import warnings

import click
from flask import Blueprint
from flask import Flask
from flask import url_for
from itsdangerous import URLSafeSerializer
from sqlalchemy.engine import Engine
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from . import card_pages
from . import channels
from . import checkout
from . import cli_billing  # noqa: F401  (registers ``flask nicepay billing``)
from . import cli_db  # noqa: F401  (``flask nicepay db``)
from . import cli_janitor  # noqa: F401  (``flask nicepay janitor``)
from . import cli_schedules  # noqa: F401  (``flask nicepay schedules``)
from . import cli_subscriptions  # noqa: F401  (``flask nicepay subscriptions``)
from . import config
from . import key_in_pages
from .billing import Billing
from .cli import nicepay_cli
from .db import make_engine
from .embedded_sandbox import embedded_sandbox
from .extra_refunds import ExtraPayments
from .inbox import Inbox
from .janitor import Janitor
from .notifications import Notifications
from .orders import Orders
from .parts import Shortcut
from .payments import Payments
from .payments import TransitionHook
from .portone import PortOneClient
from .refunds import Refunds
from .service import PaymentService
from .state import SANDBOX_MOUNT
from .state import State
from .state import app_state
from .store import Order
from .store import Store
from .store import utcnow
from .subscriptions import Subscriptions
from .sync import Adopt
from .sync import Reconciler
from .verify import OnMismatch
from .verify import Policy
from .views import bp

if t.TYPE_CHECKING:
    from .sandbox import Sandbox

logger = logging.getLogger("flask_nicepay")


class NicePay:
    """Payments through PortOne V1 on the NICE channel, for Flask apps.

    .. code-block:: python

        nicepay = NicePay()

        def create_app():
            app = Flask(__name__)
            app.config.from_prefixed_env()
            nicepay.init_app(app)
            return app

    Deployment values are ``NICEPAY_*`` config keys (``docs/configuration.rst``);
    behaviour is given here.

    :param app: initialise right away for this app.
    :param engine: a SQLAlchemy engine for the plugin's tables, e.g. the store's
        own, so the store's order and the payment change in one transaction
        (see ``on_transition``). By default one is made from
        ``NICEPAY_DATABASE_URI``.
    :param on_transition: ``on_transition(connection, transition)``, called inside
        the transaction of every state change.
    :param adopt: decides whether a payment for an unknown ``merchant_uid``
        becomes an order (default: payments charged to the plugin's billing keys).
    :param client: a :class:`~flask_nicepay.portone.PortOneClient` to use instead
        of one made from the config.
    :param sandbox: a :class:`~flask_nicepay.sandbox.Sandbox` to use in sandbox
        mode instead of a new one (tests pass theirs to drive the buyer's side).
    :param store: an order :class:`~flask_nicepay.store.Store` to use instead of
        one on ``engine``.
    :param inbox: a notification :class:`~flask_nicepay.inbox.Inbox` to use
        instead of one on ``engine``.
    :param clock: the plugin's time, an aware datetime. By default the embedded
        sandbox's in embedded-sandbox mode (so a test that moves the sandbox ahead
        moves the plugin too), else the real time.

    The parts of the current app's payments are attributes: :attr:`orders`,
    :attr:`notifications`, :attr:`reconciler`, :attr:`refunds`, :attr:`extras`,
    :attr:`billing`, :attr:`subscriptions`, :attr:`janitor` and :attr:`client`;
    :attr:`payments` holds them all. A few of their methods are shortcuts here:
    :meth:`create_order`, :meth:`get_order`, :meth:`sync`, :meth:`refund`,
    :meth:`cancel`, :meth:`refund_extra`, :meth:`reconcile` and :meth:`expire_vbanks`.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        engine: Engine | None = None,
        on_transition: TransitionHook | None = None,
        adopt: Adopt | None = None,
        client: PortOneClient | None = None,
        sandbox: Sandbox | None = None,
        store: Store | None = None,
        inbox: Inbox | None = None,
        clock: t.Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._on_transition = on_transition
        self._adopt = adopt
        self._client = client
        self._sandbox = sandbox
        self._store = store
        self._inbox = inbox
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read and check the config, and register routes, CLI and sandbox.

        Changes to ``NICEPAY_*`` config after this call are not seen.

        :raises RuntimeError: the app already has a NicePay.
        :raises ConfigurationError: a setting is missing or wrong.
        """
        if "nicepay" in app.extensions:
            raise RuntimeError(
                "A NicePay instance is already registered on this Flask app. "
                "Import and use that instance instead."
            )
        settings = _read_settings(app)
        sandbox = self._make_sandbox(app, settings)
        payments = self._make_payments(app, settings, sandbox)
        if settings.create_tables:
            payments.create_all()
        app.extensions["nicepay"] = State(
            self, settings, payments, sandbox, _signer(app, settings)
        )
        _register(app, settings, sandbox)

    # -- building -------------------------------------------------------------

    def _make_payments(
        self, app: Flask, settings: config.Settings, sandbox: Sandbox | None
    ) -> Payments:
        return Payments(
            client=self._client or self._make_client(settings, sandbox),
            engine=self._engine or make_engine(settings.database_uri),
            sender=app,
            policy=Policy(
                pg_providers=settings.pg_providers,
                on_mismatch=OnMismatch(settings.on_mismatch),
                channels=settings.channels,
            ),
            on_transition=self._on_transition,
            adopt=self._adopt,
            prepare=settings.prepare,
            merchant_uid_prefix=settings.merchant_uid_prefix,
            notice_url=lambda: _api_notice_url(settings),
            channel_key=settings.channels.api.channel_key,
            pg=settings.channels.api.pg,
            store=self._store,
            inbox=self._inbox,
            clock=self._clock or (sandbox.moment if sandbox else utcnow),
            janitor=settings.janitor,
            tax_mode=settings.tax_mode,
        )

    def _make_sandbox(self, app: Flask, settings: config.Settings) -> Sandbox | None:
        if settings.mode.name != "embedded":
            return None
        if self._sandbox is not None:
            return self._sandbox
        return embedded_sandbox(app, settings, self._engine)

    def _make_client(
        self, settings: config.Settings, sandbox: Sandbox | None
    ) -> PortOneClient:
        if sandbox is not None:
            return PortOneClient(
                settings.imp_key,
                settings.imp_secret,
                base_url=sandbox.base_url,
                session=sandbox.session(),
                timeout=settings.timeout,
            )
        base_url = settings.api_base_url
        if settings.mode.name == "standalone" and settings.sandbox_url:
            base_url = settings.sandbox_url
        return PortOneClient(
            settings.imp_key,
            settings.imp_secret,
            base_url=base_url,
            timeout=settings.timeout,
        )

    # -- per-app state, through current_app ------------------------------------

    @staticmethod
    def state(app: Flask | None = None) -> State:
        """The current (or given) app's :class:`~flask_nicepay.state.State`.

        :raises RuntimeError: NicePay was not initialised on the app.
        """
        return app_state(app)

    @property
    def payments(self) -> Payments:
        """The current app's :class:`~flask_nicepay.payments.Payments`."""
        return self.state().payments

    @property
    def orders(self) -> Orders:
        """Creating, registering and reading orders."""
        return self.payments.orders

    @property
    def notifications(self) -> Notifications:
        """Webhooks, completions and returns: received, processed, replayed."""
        return self.payments.notifications

    @property
    def reconciler(self) -> Reconciler:
        """PortOne's truth applied to orders: one payment, or many."""
        return self.payments.reconciler

    @property
    def refunds(self) -> Refunds:
        """Refunds and cancels."""
        return self.payments.refunds

    @property
    def extras(self) -> ExtraPayments:
        """Extra payments an operator pays back."""
        return self.payments.extras

    @property
    def billing(self) -> Billing:
        """Billing keys, key-in, charges with a key, schedules."""
        return self.payments.billing

    @property
    def subscriptions(self) -> Subscriptions:
        """Plans charged to billing keys, period after period."""
        return self.payments.subscriptions

    @property
    def janitor(self) -> Janitor:
        """What heals the payments left half done: passes run from cron or beat."""
        return self.payments.janitor

    @property
    def client(self) -> PortOneClient:
        """The current app's PortOne client."""
        return self.payments.client

    @property
    def sandbox(self) -> Sandbox | None:
        """The current app's embedded sandbox, in embedded-sandbox mode."""
        return self.state().sandbox

    @property
    def settings(self) -> config.Settings:
        """The current app's validated settings."""
        return self.state().settings

    @property
    def service(self) -> PaymentService:
        """Deprecated: the current app's payments under their former interface."""
        warnings.warn(
            "NicePay.service is deprecated; use nicepay.payments or its parts "
            "(nicepay.orders, .notifications, .reconciler, .refunds, .billing, "
            ".subscriptions).",
            DeprecationWarning,
            stacklevel=2,
        )
        return PaymentService.wrapping(self.payments)

    #: A signed link to the hosted page where a customer registers a card; see
    #: :func:`flask_nicepay.card_pages.registration_url`.
    card_registration_url = staticmethod(card_pages.registration_url)
    #: A signed link to the hosted page where a buyer pays an order by typing a
    #: card; see :func:`flask_nicepay.key_in_pages.key_in_url`.
    key_in_url = staticmethod(key_in_pages.key_in_url)

    # -- shortcuts to the parts ---------------------------------------------------

    create_order = Shortcut("orders", Orders.create)
    get_order = Shortcut("orders", Orders.get)
    sync = Shortcut("reconciler", Reconciler.sync)
    refund = Shortcut("refunds", Refunds.refund)
    cancel = Shortcut("refunds", Refunds.cancel)
    refund_extra = Shortcut("extras", ExtraPayments.refund_extra)
    reconcile = Shortcut("reconciler", Reconciler.reconcile)
    expire_vbanks = Shortcut("reconciler", Reconciler.expire_vbanks)

    def checkout_url(
        self, order: Order | str, *, _external: bool = False, **options: t.Any
    ) -> str:
        """The URL of the hosted checkout page for an order.

        :param order: the order or its ``merchant_uid``.
        :param options: per-checkout choices (validated now, signed into the URL,
            and recorded on the order: a payment beyond what the order's links
            offered is a mismatch, whatever the browser sent): ``pay_methods``,
            ``pay_method``, ``language``, ``escrow``, ``card_quota``,
            ``card_direct``, ``card_detail``, ``vbank_due``, ``nice_mobile_v2``,
            ``digital``, ``custom_data``.
        :raises marshmallow.ValidationError: an option NICE would refuse.
        """
        uid = order if isinstance(order, str) else order.merchant_uid
        found = self.get_order(uid)
        if found is None:
            raise LookupError(f"No order {uid!r}.")
        loaded = checkout.OPTIONS.load({**checkout.defaults(found), **options})
        checkout.check(found, loaded, now=self.payments.clock())
        self.orders.offer(uid, checkout.offer(loaded))
        values: dict[str, t.Any] = {"merchant_uid": uid, "_external": _external}
        if options:
            values["o"] = self.state().signer.dumps(checkout.OPTIONS.dump(loaded))
        return url_for("nicepay.checkout", **values)


def _read_settings(app: Flask) -> config.Settings:
    """The app's ``NICEPAY_*`` settings, defaults filled in, validated."""
    for key, value in config.DEFAULTS.items():
        app.config.setdefault(key, value)
    settings = config.read(app.config, app.instance_path)
    for channel in settings.channels.unconfigured():
        logger.warning(channels.UNCHECKED_CHANNEL_WARNING, channel.purpose)
    if settings.mode.implicit and click.get_current_context(silent=True) is None:
        logger.warning(config.IMPLICIT_SANDBOX_WARNING)
    elif settings.mode.implicit:  # loaded by `flask`: not on --help, said once
        said: list[bool] = []
        app.before_request(lambda: None if said else _say_once(said))
    return settings


def _say_once(said: list[bool]) -> None:
    said.append(True)
    logger.warning(config.IMPLICIT_SANDBOX_WARNING)


def _register(app: Flask, settings: config.Settings, sandbox: Sandbox | None) -> None:
    """The routes, the CLI and, in embedded mode, the sandbox's own mount."""
    app.register_blueprint(bp, url_prefix=settings.url_prefix)
    app.cli.add_command(nicepay_cli)
    _exempt_from_csrf(app, bp)
    if "csrf" not in app.extensions:  # CSRFProtect may come after NicePay
        app.before_request(lambda: _exempt_from_csrf(app, bp))
    if sandbox is not None and settings.mode.name == "embedded":
        app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, {SANDBOX_MOUNT: sandbox.app}
        )


def _exempt_from_csrf(app: Flask, blueprint: Blueprint) -> None:
    """Exempt the blueprint from Flask-WTF's CSRFProtect, if the app has one.

    PortOne's webhook and the checkout script's completion post carry no CSRF
    token, and a refused request would never reach the inbox. A forged request
    gains nothing here: every door only asks PortOne for the truth.
    """
    csrf = app.extensions.get("csrf")
    if csrf is not None and callable(getattr(csrf, "exempt", None)):
        csrf.exempt(blueprint)


def _signer(app: Flask, settings: config.Settings) -> URLSafeSerializer:
    # Signed checkout options: the app's secret key, else one derived from the
    # REST secret, so every worker of a deployment agrees without extra config.
    secret = (
        app.secret_key
        or hashlib.sha256(
            b"flask-nicepay checkout " + settings.imp_secret.encode()
        ).hexdigest()
    )
    return URLSafeSerializer(secret, salt="nicepay-checkout-options")


def _api_notice_url(settings: config.Settings) -> str | None:
    """The webhook URL sent with API payments (no request to build it from)."""
    if settings.public_url is None:
        return None
    return settings.public_url + settings.url_prefix + "/webhook"
