"""Push through Firebase Cloud Messaging with the firebase-admin SDK, in batches of at most 500.

FCM_CREDENTIALS names a service-account JSON (a path, or the JSON itself); without it pushes are
only logged (development). FCM_BASE_URL points the SDK at another FCM-compatible endpoint (a
stand-in on 127.0.0.1 in tests and benchmarks); the OAuth token endpoint is the service
account's own `token_uri`.
"""
import json
import logging
import threading
import uuid
import warnings
from dataclasses import dataclass
from typing import Protocol

import firebase_admin
import requests.adapters
from firebase_admin import credentials, exceptions, messaging
from flask import current_app
from urllib3.util import Retry

from notifications.retry import retry_after_seconds

log = logging.getLogger(__name__)

GOOGLE_FCM = "https://fcm.googleapis.com"
MAX_BATCH = 500  # FCM's limit per send_each call
MAX_PAYLOAD_BYTES = 4096  # FCM's limit for a message's notification and data
PAYLOAD_BUDGET = 3800  # what we allow ourselves, leaving room for the SDK's own fields


@dataclass(frozen=True)
class PushMessage:
    token: str
    notification_id: str
    type: str
    application_id: str | None
    title: str
    body: str
    conversation_id: str | None = None  # a staff message opens its conversation


@dataclass(frozen=True)
class PushResult:
    token: str
    outcome: str  # "sent" | "unregistered" | "retry" | "failed"
    retry_after: float | None = None  # seconds FCM asked us to wait (429, 503)
    quota: bool = False  # FCM said the project's quota is spent: every push should wait
    error: str | None = None
    message_id: str | None = None


class PushGateway(Protocol):
    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        """One result per message, in order; never raises for a single message's failure."""


def _mask(token: str) -> str:
    return "…" + token[-6:] if len(token) > 6 else "…"


def payload(message: PushMessage) -> tuple[dict, dict]:
    """(data, notification) for one message: ids and localized texts only, within the size
    budget (the body is shortened if it must be)."""
    data = {"notification_id": message.notification_id, "type": message.type}
    if message.application_id:
        data["application_id"] = message.application_id
    if message.conversation_id:
        data["conversation_id"] = message.conversation_id
    title, body = message.title[:200], message.body

    def size(text: str) -> int:
        return len(json.dumps({"data": data, "notification": {"title": title, "body": text}},
                              ensure_ascii=False).encode())

    while body and size(body) > PAYLOAD_BUDGET:
        raw = body.removesuffix("…").encode()
        cut = size(body) - PAYLOAD_BUDGET + 3
        body = raw[:max(0, len(raw) - cut)].decode(errors="ignore") + "…"
    return data, {"title": title, "body": body}


def classify(token: str, exception: Exception | None, message_id: str | None = None) -> PushResult:
    """What one FCM answer means for us."""
    if exception is None:
        return PushResult(token, "sent", message_id=message_id)
    response = getattr(exception, "http_response", None)
    retry_after = retry_after_seconds(response.headers.get("Retry-After")) if response is not None \
        else None
    name = type(exception).__name__
    if isinstance(exception, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return PushResult(token, "unregistered", error=name)
    if isinstance(exception, messaging.QuotaExceededError | exceptions.ResourceExhaustedError):
        return PushResult(token, "retry", retry_after=retry_after, quota=True, error=name)
    if isinstance(exception, exceptions.UnavailableError | exceptions.InternalError
                  | exceptions.DeadlineExceededError | exceptions.UnknownError
                  | exceptions.UnauthenticatedError):
        return PushResult(token, "retry", retry_after=retry_after, error=name)
    if isinstance(exception, exceptions.NotFoundError):
        return PushResult(token, "unregistered", error=name)
    return PushResult(token, "failed", error=name)


class FcmGateway:
    """The real SDK: `messaging.send_each` per batch of at most 500 messages."""

    def __init__(self, *, service_account: dict, base_url: str = GOOGLE_FCM,
                 project_id: str | None = None, timeout: float = 10.0,
                 batch_size: int = MAX_BATCH):
        options = {"httpTimeout": timeout}
        if project_id:
            options["projectId"] = project_id
        self.batch_size = max(1, min(MAX_BATCH, batch_size))
        self.app = firebase_admin.initialize_app(credentials.Certificate(service_account),
                                                 options, name=f"onething-{uuid.uuid4().hex}")
        self.base_url = base_url.rstrip("/")
        if self.base_url != GOOGLE_FCM:
            self._point_at(self.base_url)

    def _point_at(self, base_url: str) -> None:
        # firebase-admin has no public option for the FCM endpoint (its emulator variables cover
        # Auth, Database and Firestore only). Its messaging service keeps the send URL and the
        # HTTP session on the service object, unchanged since the v1 API arrived; we set them
        # once, here, and the stand-in tests fail loudly should that ever change.
        service = messaging._get_messaging_service(self.app)
        if not hasattr(service, "_fcm_url") or not hasattr(service, "_client"):
            raise RuntimeError("this firebase-admin version cannot be pointed at FCM_BASE_URL")
        service._fcm_url = f"{base_url}/v1/projects/{service._project_id}/messages:send"
        # Our worker retries with backoff and jitter itself; the SDK's own retries (up to four,
        # in the sending thread) would only hold a batch and its lease.
        service._client.session.mount(base_url, requests.adapters.HTTPAdapter(
            pool_connections=10, pool_maxsize=100,
            max_retries=Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0,
                              raise_on_status=False)))

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(messages), self.batch_size):
            results += self._send_batch(messages[start:start + self.batch_size])
        return results

    def _send_batch(self, batch: list[PushMessage]) -> list[PushResult]:
        built = [self._build(message) for message in batch]
        try:
            answer = messaging.send_each(built, app=self.app)
        except (exceptions.FirebaseError, ValueError) as exc:
            # The whole batch failed before reaching FCM (e.g. the token endpoint is down).
            log.warning("push batch of %d failed: %s", len(batch), type(exc).__name__)
            return [PushResult(m.token, "retry", error=type(exc).__name__) for m in batch]
        results = [classify(message.token, response.exception, response.message_id)
                   for message, response in zip(batch, answer.responses, strict=True)]
        log.info("push batch: %d sent, %d unregistered, %d to retry, %d failed",
                 answer.success_count, sum(r.outcome == "unregistered" for r in results),
                 sum(r.outcome == "retry" for r in results),
                 sum(r.outcome == "failed" for r in results))
        return results

    @staticmethod
    def _build(message: PushMessage) -> messaging.Message:
        data, notification = payload(message)
        with warnings.catch_warnings():
            # 7.x prefers Firebase installation ids (`fid`); devices register FCM registration
            # tokens, which FCM's v1 API still takes as `token`.
            warnings.simplefilter("ignore", DeprecationWarning)
            return messaging.Message(
                token=message.token, data=data,
                notification=messaging.Notification(**notification),
                android=messaging.AndroidConfig(
                    priority="high",
                    # A repeated delivery replaces the first on the phone rather than showing twice.
                    notification=messaging.AndroidNotification(tag=message.notification_id)),
                apns=messaging.APNSConfig(headers={"apns-collapse-id": message.notification_id}),
            )

    def close(self) -> None:
        firebase_admin.delete_app(self.app)


class DevelopmentPush:
    """No FCM credentials: pushes are logged and kept here, not sent; they count as sent, so the
    inbox and the event stream go on as with FCM. The log names the device by the end of its
    token and shows the title, which holds catalogue names only (notifications.templates)."""

    def __init__(self) -> None:
        self.sent: list[PushMessage] = []

    def send(self, messages: list[PushMessage]) -> list[PushResult]:
        for message in messages:
            log.info("push (FCM_CREDENTIALS unset: logged, not sent) %s to device %s: %s",
                     message.type, _mask(message.token), message.title)
        self.sent += messages
        return [PushResult(m.token, "sent", message_id=f"dev-{uuid.uuid4().hex}")
                for m in messages]


_gateways: dict[tuple, PushGateway] = {}
_lock = threading.Lock()


def _service_account(value: str) -> dict:
    value = value.strip()
    if value.startswith("{"):
        return json.loads(value)
    with open(value, encoding="utf-8") as handle:
        return json.load(handle)


def push_gateway() -> PushGateway:
    """The gateway the configuration names, one per process and configuration."""
    config = current_app.config
    key = (config.get("FCM_CREDENTIALS") or "", config.get("FCM_BASE_URL") or GOOGLE_FCM,
           config.get("FCM_PROJECT_ID") or "", float(config.get("FCM_TIMEOUT") or 10),
           int(config.get("FCM_BATCH_SIZE") or MAX_BATCH))
    with _lock:
        gateway = _gateways.get(key)
        if gateway is None:
            if key[0]:
                gateway = FcmGateway(service_account=_service_account(key[0]), base_url=key[1],
                                     project_id=key[2] or None, timeout=key[3], batch_size=key[4])
            else:
                log.warning("FCM_CREDENTIALS is not set: pushes are logged, not sent")
                gateway = DevelopmentPush()
            _gateways[key] = gateway
        return gateway


def close_gateways() -> None:
    """Forget every gateway of this process (tests; a configuration change)."""
    with _lock:
        for gateway in _gateways.values():
            if isinstance(gateway, FcmGateway):
                gateway.close()
        _gateways.clear()
