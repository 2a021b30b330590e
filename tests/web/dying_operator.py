"""An operator's request whose process dies in the middle of its action.

Run as ``python -m tests.web.dying_operator INSTANCE DATABASE_URI MERCHANT_UID``:
an app on the given database and sandbox files posts the console's *Apply
PortOne's record* for the order, and the store's transition hook ends the process
(``os._exit``) inside the call, before the order's write commits.
"""

from __future__ import annotations

import os
import sys
import typing as t

from flask import Flask

from flask_nicepay import NicePay
from flask_nicepay.console import Console
from flask_nicepay.console_base import CSRF_COOKIE

from .consoleshop import PREFIX
from .webshop import SECRET_KEY

#: The exit status that says the process died where it was meant to.
DIED = 3


def _die(*_: t.Any, **__: t.Any) -> None:
    os._exit(DIED)


def main(instance: str, uri: str, merchant_uid: str) -> None:
    app = Flask(__name__, instance_path=instance)
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        NICEPAY_SANDBOX=True,
        NICEPAY_SANDBOX_AUTO_DELIVER=False,
        NICEPAY_DATABASE_URI=uri,
        NICEPAY_CREATE_TABLES=False,
    )
    NicePay(on_transition=_die).init_app(app)
    Console(app, guard=lambda request: "park")
    client = app.test_client()
    client.get(PREFIX + "/")
    cookie = client.get_cookie(CSRF_COOKIE, path=PREFIX)
    assert cookie is not None
    client.post(
        f"{PREFIX}/orders/{merchant_uid}/sync", data={"csrf_token": cookie.value}
    )
    sys.exit("the action finished: the process was meant to die inside it")


if __name__ == "__main__":
    main(*sys.argv[1:4])
