"""Partner webhooks: each event POSTed as JSON, signed with HMAC-SHA256 over timestamp and body.

The scheme (see docs/webhooks.md): `X-OneThing-Signature: v1=<hex>` where hex is
HMAC-SHA256(secret, f"{X-OneThing-Timestamp}.{raw body}"); `X-OneThing-Event-Id` is the
notification id, the same on every retry and replay, for the partner to de-duplicate.
"""
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import requests

from notifications.retry import retry_after_seconds

log = logging.getLogger(__name__)

SIGNATURE_VERSION = "v1"
USER_AGENT = "OneThing-Webhooks/1"
_session = requests.Session()


@dataclass(frozen=True)
class WebhookResult:
    outcome: str  # "delivered" | "retry" | "failed" | "gone"
    status: int | None = None
    retry_after: float | None = None
    error: str | None = None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`v1=<hex>`: HMAC-SHA256 under the partner's secret of `timestamp + "." + body`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, header: str, *, tolerance: int = 300,
           now: float | None = None) -> bool:
    """What a partner does on receipt (kept here for the docs' example and the tests)."""
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError:
        return False
    expected = sign(secret, timestamp, body)
    candidates = [part.strip() for part in header.split(",")]
    return age <= tolerance and any(hmac.compare_digest(expected, c) for c in candidates)


def event_body(notification) -> dict:
    """The event a partner receives: ids, type, time and non-personal details; no texts."""
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat().replace("+00:00", "Z") if moment else None

    return {
        "id": notification.id, "type": notification.type, "at": iso(notification.at),
        "created_at": iso(notification.created_at), "application": notification.application,
        "bundle": notification.bundle, "task": notification.task, "matter": notification.matter,
        "department": notification.department, "data": dict(notification.data or {}),
    }


def post(url: str, secret: str, event: dict, *, timeout: float = 5.0) -> WebhookResult:
    """POST one signed event; what the partner's answer means for retrying."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
               "X-OneThing-Event-Id": str(event["id"]), "X-OneThing-Event-Type": event["type"],
               "X-OneThing-Timestamp": timestamp,
               "X-OneThing-Signature": sign(secret, timestamp, body)}
    try:
        response = _session.post(url, data=body, headers=headers, timeout=timeout,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        return WebhookResult("retry", error=type(exc).__name__)
    status = response.status_code
    if 200 <= status < 300:
        return WebhookResult("delivered", status)
    if status == 410:
        return WebhookResult("gone", status, error="HTTP 410")
    if status in (408, 425, 429) or status >= 500:
        return WebhookResult("retry", status, retry_after_seconds(
            response.headers.get("Retry-After")), error=f"HTTP {status}")
    return WebhookResult("failed", status, error=f"HTTP {status}")
