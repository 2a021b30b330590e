"""The buyer and PortOne, as the shop sees them: paying, and knocking on its doors.

A payment is made at the standalone sandbox through its control API, which
answers what the browser would hold: the PC callback's ``rsp`` and the mobile
return's query. The doors are then knocked on over HTTP (gunicorn) or through the
app's test client, which speak the same requests.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlencode

import requests
from flask import Flask

from flask_nicepay.deferred import flush

KNOCKS = ("webhook", "webhook", "webhook", "pc", "mobile")


class View(t.NamedTuple):
    """A finished payment window: the order and what came back from it."""

    merchant_uid: str
    payment: dict[str, t.Any]
    rsp: dict[str, t.Any]
    query: dict[str, t.Any]


def new_order(app: Flask, amount: int = 10_000, **fields: t.Any) -> str:
    with app.app_context():
        order = app.extensions["nicepay"].extension.create_order(
            amount=amount, name="deferred", **fields
        )
    return str(order.merchant_uid)


def pay(
    app: Flask,
    sandbox_url: str,
    merchant_uid: str | None = None,
    *,
    amount: int = 10_000,
    session: requests.Session | None = None,
    **choices: t.Any,
) -> View:
    """Pay an order (a new one unless named) in the sandbox's window.

    :param choices: ``outcome``, ``pay_method``, ``channel`` and the like.
    """
    uid = merchant_uid or new_order(app, amount)
    answer = (session or requests).post(
        sandbox_url + "/_sandbox/checkout",
        json={"merchant_uid": uid, "amount": amount, **choices},
        timeout=30,
    )
    answer.raise_for_status()
    found = answer.json()["response"]
    return View(uid, found["payment"] or {}, found["rsp"], found["redirect_query"])


def request_of(view: View, door: str) -> tuple[str, str, dict[str, t.Any]]:
    """The request a door receives for a window: method, path, data."""
    if door == "webhook":
        payment = view.payment
        body = {
            "imp_uid": payment["imp_uid"],
            "merchant_uid": view.merchant_uid,
            "status": payment["status"],
        }
        return "POST", "/nicepay/webhook", body
    if door == "pc":  # what the checkout page's script posts of the rsp
        names = ("imp_uid", "merchant_uid", "error_code", "error_msg")
        return "POST", "/nicepay/complete", {n: view.rsp.get(n) for n in names}
    return "GET", "/nicepay/return?" + urlencode(view.query), {}


def knock(app: Flask, view: View, door: str, *, wait: bool = True) -> t.Any:
    """Deliver through one door with the app's test client; the response.

    :param wait: whether to wait until the process's relay has offered what the
        door handed off to the broker, so that the queue shows it.
    """
    method, path, body = request_of(view, door)
    client = app.test_client()
    if method == "GET":
        answer = client.get(path)
    else:
        answer = client.post(path, json=body, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    if wait:
        assert flush(app)
    return answer


def knock_over_http(url: str, view: View, door: str, session: requests.Session) -> int:
    """Deliver through one door over HTTP; the status of the answer."""
    method, path, body = request_of(view, door)
    if method == "GET":
        answer = session.get(url + path, timeout=60, allow_redirects=False)
    else:
        answer = session.post(url + path, json=body, timeout=60)
    return answer.status_code
