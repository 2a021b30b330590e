"""The sandbox's counterparts: a store receiving its webhooks, a REST API client."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask import request

from flask_nicepay.sandbox import Sandbox
from flask_nicepay.sandbox import WebhookDelivery

HOOK_URL = "http://store.test/portone/webhook"


class Store:
    """A tiny Flask store that receives webhooks through its test client."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.content_types: list[str] = []
        self.status = 200
        self.app = Flask("store")
        self.app.add_url_rule(
            "/portone/webhook", "webhook", self._webhook, methods=["POST"]
        )
        self.client = self.app.test_client()

    def _webhook(self) -> tuple[str, int]:
        self.content_types.append(request.mimetype)
        body = request.get_json() if request.is_json else request.form.to_dict()
        self.received.append(body)
        return "", self.status

    def send(self, delivery: WebhookDelivery) -> int:
        """A webhook_sender posting into the store's test client."""
        path = urlsplit(delivery.url or "").path
        answer = self.client.post(
            path, data=delivery.data(), content_type=delivery.content_type
        )
        return answer.status_code

    def statuses(self) -> list[str]:
        return [body["status"] for body in self.received]


class Api:
    """An authorized in-process client for the V1 REST API.

    Like a real client it fetches a new token once when told 401, so tests can
    move the sandbox clock past a token's expiry.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.session = sandbox.session()
        self.base = sandbox.base_url
        self.refresh()

    def refresh(self) -> None:
        answer = self.session.post(
            self.base + "/users/getToken",
            json={
                "imp_key": self.sandbox.imp_key,
                "imp_secret": self.sandbox.imp_secret,
            },
        )
        token = answer.json()["response"]["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        answer = self.session.request(method, self.base + path, **kwargs)
        if answer.status_code == 401:
            self.refresh()
            answer = self.session.request(method, self.base + path, **kwargs)
        return answer

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", path, **kwargs)

    def ok(self, answer: requests.Response) -> Any:
        """The ``response`` of a successful answer."""
        body = answer.json()
        assert answer.status_code == 200, body
        assert body["code"] == 0, body
        assert body["message"] is None
        return body["response"]


def refusal(answer: requests.Response) -> tuple[int, int, str]:
    """(HTTP status, code, message) of a refused answer, checking the envelope."""
    body = answer.json()
    assert set(body) == {"code", "message", "response"}
    assert body["response"] is None
    return answer.status_code, body["code"], body["message"]
