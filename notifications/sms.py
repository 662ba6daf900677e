"""SMS gateway adapters: development logs a masked number; http posts to a signed gateway API."""
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Protocol

import requests
from flask import current_app

log = logging.getLogger(__name__)

_session = requests.Session()


class SmsError(Exception):
    """The gateway did not accept the message."""


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send a text to a mainland mobile number; returns the gateway's message id."""


def _masked(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "****"


class DevelopmentSms:
    """Nothing leaves the machine: the log shows that a message went to a masked number."""

    def send(self, phone: str, text: str) -> str:
        message_id = uuid.uuid4().hex
        log.info("sms (development, not sent) to %s: %d characters, id %s",
                 _masked(phone), len(text), message_id)
        return message_id


class HttpSms:
    """A gateway's JSON API: POST {base_url}/messages, signed with HMAC-SHA256 of the timestamp
    and body under the account secret (the secret itself never travels)."""

    def __init__(self, base_url: str, key: str, secret: str, timeout: float):
        self.url = base_url.rstrip("/") + "/messages"
        self.key, self.secret, self.timeout = key, secret, timeout

    def send(self, phone: str, text: str) -> str:
        if not self.url.startswith(("http://", "https://")) or not self.key:
            log.error("sms gateway not configured (SMS_GATEWAY_URL, SMS_GATEWAY_KEY)")
            raise SmsError("not configured")
        body = json.dumps({"to": phone, "text": text, "request_id": uuid.uuid4().hex},
                          ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        signature = hmac.new(self.secret.encode(), timestamp.encode() + b"\n" + body,
                             hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Api-Key": self.key,
                   "X-Timestamp": timestamp, "X-Signature": signature}
        try:
            response = _session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("sms gateway unreachable (%s) for %s", type(exc).__name__, _masked(phone))
            raise SmsError("unreachable") from exc
        if response.status_code >= 300:
            log.warning("sms gateway refused a message to %s: HTTP %s", _masked(phone),
                        response.status_code)
            raise SmsError(f"HTTP {response.status_code}")
        try:
            message_id = str(response.json().get("id") or "")
        except ValueError:
            message_id = ""
        log.info("sms sent to %s, id %s", _masked(phone), message_id or "-")
        return message_id


def sms_gateway() -> SmsGateway:
    """The adapter SMS_ADAPTER names ("development" or "http")."""
    config = current_app.config
    if config["SMS_ADAPTER"] == "http":
        return HttpSms(config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_KEY"],
                       config["SMS_GATEWAY_SECRET"], float(config["SMS_TIMEOUT"]))
    return DevelopmentSms()
