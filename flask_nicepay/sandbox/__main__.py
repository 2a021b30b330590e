"""``python -m flask_nicepay.sandbox``: a standalone sandbox on a real socket.

Webhooks are delivered as they fall due and schedules run on a one-second ticker,
so a store pointed at it behaves as against PortOne. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from .http.flask_app import Sandbox
from .http.server import serve

log = logging.getLogger("flask_nicepay.sandbox")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line.

    :param argv: the arguments, default ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m flask_nicepay.sandbox",
        description="Offline PortOne V1 (NICE old module) sandbox.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface (default 127.0.0.1: the control API has no auth)",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--imp-key", default="sandbox_key", help="REST API key")
    parser.add_argument(
        "--imp-secret", default="sandbox_secret", help="REST API secret"
    )
    parser.add_argument("--webhook-url", default=None, help="console notification URL")
    parser.add_argument("--webhook-format", choices=("json", "form"), default="json")
    parser.add_argument(
        "--webhook-retries",
        action="store_true",
        help="retry failed webhooks 5 times, a minute apart",
    )
    parser.add_argument(
        "--max-payments",
        type=int,
        default=100_000,
        help="bound on stored payments (default 100000)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log requests")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted.

    :param argv: the arguments, default ``sys.argv[1:]``.
    """
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())
    sandbox = Sandbox(
        args.imp_key,
        args.imp_secret,
        webhook_url=args.webhook_url,
        webhook_format=args.webhook_format,
        webhook_retries=args.webhook_retries,
        auto_deliver=True,
        max_payments=args.max_payments,
    )
    with sandbox, serve(sandbox, args.host, args.port) as base_url:
        print(f"PortOne V1 sandbox at {base_url}", flush=True)
        print(
            f"imp_key={args.imp_key} imp_secret={_masked(args.imp_secret)}", flush=True
        )
        print(f"control API at {base_url}/_sandbox/state", flush=True)
        print(f"JS SDK at {Sandbox.sdk_url(base_url)}", flush=True)
        try:
            while not stop.wait(1.0):
                sandbox.run_due_schedules()
        except KeyboardInterrupt:
            pass
    return 0


def _masked(secret: str) -> str:
    """The secret as the banner shows it: never the secret itself.

    :param secret: the REST API secret.
    """
    if secret == "sandbox_secret":  # noqa: S105 - the documented default
        return "(the default, see docs/sandbox)"
    return f"({len(secret)} characters, as given with --imp-secret)"


if __name__ == "__main__":
    sys.exit(main())
