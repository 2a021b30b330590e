"""The :class:`NicePay` Flask extension."""

from __future__ import annotations

import hashlib
import logging
import typing as t
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import url_for
from itsdangerous import URLSafeSerializer
from sqlalchemy.engine import Engine
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from . import checkout
from . import config
from .billing import Billing
from .cli import nicepay_cli
from .db import make_engine
from .machine import OrderState
from .portone import PortOneClient
from .portone import RefundAccount
from .refunds import RefundResult
from .service import PaymentService
from .service import TransitionHook
from .state import SANDBOX_MOUNT
from .state import State
from .state import app_state
from .store import Order
from .sync import Adopt
from .sync import ReconcileReport
from .sync import SyncResult
from .verify import OnMismatch
from .verify import Policy
from .views import bp

if t.TYPE_CHECKING:
    from .sandbox import Sandbox
    from .sandbox import WebhookDelivery

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
    ) -> None:
        self._engine = engine
        self._on_transition = on_transition
        self._adopt = adopt
        self._client = client
        self._sandbox = sandbox
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
        for key, value in config.DEFAULTS.items():
            app.config.setdefault(key, value)
        settings = config.read(app.config, app.instance_path)
        if settings.mode.implicit:
            logger.warning(
                "flask-nicepay: no PortOne keys configured, so payments go to the "
                "OFFLINE SANDBOX. Nobody is charged. Set NICEPAY_IMP_KEY, "
                "NICEPAY_IMP_SECRET, NICEPAY_MERCHANT_CODE and NICEPAY_CHANNEL_KEY "
                "for real payments, and NICEPAY_REQUIRE_LIVE = True in production."
            )
        sandbox = self._make_sandbox(app, settings)
        client = self._client or self._make_client(settings, sandbox)
        service = PaymentService(
            client=client,
            engine=self._engine or make_engine(settings.database_uri),
            sender=app,
            policy=Policy(
                pg_providers=settings.pg_providers,
                on_mismatch=OnMismatch(settings.on_mismatch),
            ),
            on_transition=self._on_transition,
            adopt=self._adopt,
            prepare=settings.prepare,
            merchant_uid_prefix=settings.merchant_uid_prefix,
            notice_url=lambda: _api_notice_url(settings),
            channel_key=settings.channel_key,
            pg=settings.pg,
        )
        if settings.create_tables:
            service.create_all()
        app.extensions["nicepay"] = State(
            self, settings, service, sandbox, _signer(app, settings)
        )
        app.register_blueprint(bp, url_prefix=settings.url_prefix)
        app.cli.add_command(nicepay_cli)
        _exempt_from_csrf(app, bp)
        if "csrf" not in app.extensions:  # CSRFProtect may come after NicePay
            app.before_request(lambda: _exempt_from_csrf(app, bp))
        if sandbox is not None and settings.mode.name == "embedded":
            app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
                app.wsgi_app, {SANDBOX_MOUNT: sandbox.app}
            )

    # -- building -------------------------------------------------------------

    def _make_sandbox(self, app: Flask, settings: config.Settings) -> Sandbox | None:
        if settings.mode.name != "embedded":
            return None
        if self._sandbox is not None:
            return self._sandbox
        from .sandbox import Sandbox

        return Sandbox(
            imp_key=settings.imp_key,
            imp_secret=settings.imp_secret,
            webhook_url="http://sandbox.invalid" + settings.url_prefix + "/webhook",
            webhook_sender=lambda delivery: _deliver_in_app(app, delivery),
            auto_deliver=settings.sandbox_auto_deliver,
        )

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
    def service(self) -> PaymentService:
        """The current app's :class:`~flask_nicepay.service.PaymentService`."""
        return self.state().service

    @property
    def client(self) -> PortOneClient:
        """The current app's PortOne client."""
        return self.state().service.client

    @property
    def sandbox(self) -> Sandbox | None:
        """The current app's embedded sandbox, in embedded-sandbox mode."""
        return self.state().sandbox

    @property
    def settings(self) -> config.Settings:
        """The current app's validated settings."""
        return self.state().settings

    @property
    def billing(self) -> Billing:
        """Billing keys, key-in, charges with a key, schedules."""
        return self.state().service.billing

    # -- the store's API ------------------------------------------------------

    def create_order(self, **fields: t.Any) -> Order:
        """Register an order (and its amount with PortOne); see
        :meth:`~flask_nicepay.service.PaymentService.create_order`."""
        return self.service.create_order(**fields)

    def checkout_url(
        self, order: Order | str, *, _external: bool = False, **options: t.Any
    ) -> str:
        """The URL of the hosted checkout page for an order.

        :param order: the order or its ``merchant_uid``.
        :param options: per-checkout choices (validated now, and signed into the
            URL so the browser cannot change them): ``pay_methods``,
            ``pay_method``, ``language``, ``escrow``, ``card_quota``,
            ``card_direct``, ``card_detail``, ``vbank_due``, ``nice_mobile_v2``,
            ``digital``, ``custom_data``.
        :raises marshmallow.ValidationError: an option NICE would refuse.
        """
        uid = order if isinstance(order, str) else order.merchant_uid
        found = self.get_order(uid)
        if found is None:
            raise LookupError(f"No order {uid!r}.")
        language = self.state().settings.language
        loaded = checkout.OPTIONS.load(
            {**checkout.defaults(found, language=language), **options}
        )
        checkout.check(found, loaded, now=self.service.clock())
        values: dict[str, t.Any] = {"merchant_uid": uid, "_external": _external}
        if options:
            values["o"] = self.state().signer.dumps(checkout.OPTIONS.dump(loaded))
        return url_for("nicepay.checkout", **values)

    def get_order(self, merchant_uid: str) -> Order | None:
        """The order, or ``None``."""
        return self.service.get_order(merchant_uid)

    def sync(
        self, *, imp_uid: str | None = None, merchant_uid: str | None = None
    ) -> SyncResult:
        """Fetch a payment from PortOne and bring its order in line."""
        return self.service.sync(imp_uid=imp_uid, merchant_uid=merchant_uid)

    def refund(
        self,
        merchant_uid: str,
        amount: int | t.Any = None,
        *,
        tax_free: t.Any = None,
        vat_amount: t.Any = None,
        reason: str | None = None,
        refund_account: RefundAccount | None = None,
    ) -> RefundResult:
        """Refund part (``amount``) or all of a paid order."""
        return self.service.refund(
            merchant_uid,
            amount,
            tax_free=tax_free,
            vat_amount=vat_amount,
            reason=reason,
            refund_account=refund_account,
        )

    def cancel(
        self,
        merchant_uid: str,
        *,
        reason: str | None = None,
        refund_account: RefundAccount | None = None,
    ) -> SyncResult:
        """Cancel an order: refund it in full when paid, otherwise close it.

        Money held after a mismatch (``NICEPAY_ON_MISMATCH = "hold"``) is paid
        back before the order is closed.

        :param refund_account: where a paid virtual-account order is paid back.
        """
        order = self.get_order(merchant_uid)
        if order is not None and (order.balance > 0 or self._holds(order)):
            refunded = self.refund(
                merchant_uid, reason=reason, refund_account=refund_account
            )
            if (
                refunded.order is None
                or refunded.order.state is not OrderState.MISMATCH
            ):
                return refunded.sync
        return self.service.close(merchant_uid, reason=reason)

    def _holds(self, order: Order) -> bool:
        """A mismatched order whose payment PortOne still holds, per the policy."""
        if order.state is not OrderState.MISMATCH:
            return False
        rows = self.service.refunds_of(order.merchant_uid)
        held = sum(r.amount for r in rows if r.status == "held")
        returned = sum(
            r.amount for r in rows if r.source != "auto" and r.status == "succeeded"
        )
        return held > returned

    def reconcile(self, **kwargs: t.Any) -> ReconcileReport:
        """Bring open orders (or those changed ``since``) in line with PortOne."""
        return self.service.reconcile(**kwargs)

    def expire_vbanks(self) -> list[Order]:
        """Expire virtual accounts past their deadline, after asking PortOne."""
        return self.service.expire_vbanks()


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


def _deliver_in_app(app: Flask, delivery: WebhookDelivery) -> int:
    """The embedded sandbox's webhooks, straight into this app's webhook route."""
    path = urlsplit(delivery.url or "").path or "/"
    client = app.test_client()
    response = client.post(
        path,
        data=delivery.data(),
        content_type=delivery.content_type,
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    return response.status_code
