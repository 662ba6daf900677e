"""Mini-program platforms (WeChat, Alipay): exchanging a sign-in code for the platform user id,
and sending the subscription messages citizens accepted."""
import base64
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from flask import current_app

log = logging.getLogger(__name__)

PLATFORMS = ("wechat", "alipay")
CHINA_TIME = timezone(timedelta(hours=8))

_session = requests.Session()


class PlatformError(Exception):
    """The platform could not be reached or answered with a failure of its own."""


class CodeRejected(PlatformError):
    """The platform says the sign-in code is invalid, expired or already used."""


class SubscriptionRefused(PlatformError):
    """The platform says the user has no subscription left for this template (or revoked it)."""


class UntrustedAnswer(PlatformError):
    """The answer does not carry the platform's valid signature: it is not believed."""


@dataclass(frozen=True)
class PlatformSession:
    """Who signed in on the platform. `session_key` is a platform secret: keep it server-side."""

    platform: str
    subject: str  # WeChat openid, Alipay user id
    session_key: str | None = field(default=None, repr=False)
    union_id: str | None = None


class MiniProgramPlatform(Protocol):
    def exchange_code(self, code: str) -> PlatformSession: ...

    def send_subscription_message(self, *, subject: str, template_id: str, data: dict[str, str],
                                  page: str | None = None, locale: str = "zh-CN") -> str:
        """Send one message of an accepted one-time template; returns the platform's id."""


class DevelopmentPlatform:
    """Offline: the same code always names the same platform user."""

    def __init__(self, platform: str):
        self.platform = platform

    def exchange_code(self, code: str) -> PlatformSession:
        if not code:
            raise CodeRejected("empty code")
        digest = hashlib.sha256(f"{self.platform}:{code}".encode()).hexdigest()[:24]
        return PlatformSession(self.platform, f"dev_{digest}", secrets.token_urlsafe(16))

    def send_subscription_message(self, *, subject: str, template_id: str, data: dict[str, str],
                                  page: str | None = None, locale: str = "zh-CN") -> str:
        message_id = f"dev-{secrets.token_hex(8)}"
        log.info("%s subscription message (development, not sent): template %s, id %s",
                 self.platform, template_id, message_id)
        return message_id


def _request(method: str, url: str, *, timeout: float, **kwargs) -> requests.Response:
    try:
        response = _session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        log.warning("mini-program platform unreachable: %s", type(exc).__name__)
        raise PlatformError("unreachable") from exc
    if response.status_code >= 500:
        raise PlatformError(f"HTTP {response.status_code}")
    return response


def _get_json(method: str, url: str, *, timeout: float, **kwargs) -> dict:
    response = _request(method, url, timeout=timeout, **kwargs)
    try:
        body = response.json()
    except ValueError as exc:
        raise PlatformError(f"not JSON (HTTP {response.status_code})") from exc
    if not isinstance(body, dict):
        raise PlatformError("unexpected answer")
    return body


class WeChatPlatform:
    """WeChat's code2Session: GET {base_url}/sns/jscode2session."""

    # 40029 invalid code, 40163 code already used, 40226 blocked user.
    REJECTED = {40029, 40163, 40226}
    SUBSCRIPTION_GONE = {43101}  # the user has no acceptance left for the template
    STALE_TOKEN = {40001, 42001}  # the access token was replaced or expired

    def __init__(self, base_url: str, app_id: str, app_secret: str, timeout: float):
        self.base_url, self.app_id, self.app_secret = base_url.rstrip("/"), app_id, app_secret
        self.timeout = timeout

    def exchange_code(self, code: str) -> PlatformSession:
        if not self.app_id:
            raise PlatformError("wechat is not configured")
        body = _get_json("GET", f"{self.base_url}/sns/jscode2session", timeout=self.timeout,
                         params={"appid": self.app_id, "secret": self.app_secret,
                                 "js_code": code, "grant_type": "authorization_code"})
        errcode = body.get("errcode") or 0
        if errcode in self.REJECTED:
            raise CodeRejected(f"errcode {errcode}")
        if errcode or not body.get("openid"):
            log.warning("wechat code exchange failed: errcode %s", errcode)
            raise PlatformError(f"errcode {errcode}")
        return PlatformSession("wechat", body["openid"], body.get("session_key"),
                               body.get("unionid"))

    def _access_token(self, *, refresh: bool = False) -> str:
        # stable_token answers every process the same token, so workers do not revoke each
        # other's; it is kept until shortly before it expires.
        with _token_lock:
            cached = _access_tokens.get(("wechat", self.app_id))
        if cached and not refresh and cached[1] > time.monotonic():
            return cached[0]
        body = _get_json("POST", f"{self.base_url}/cgi-bin/stable_token", timeout=self.timeout,
                         json={"grant_type": "client_credential", "appid": self.app_id,
                               "secret": self.app_secret, "force_refresh": False})
        if body.get("errcode") or not body.get("access_token"):
            raise PlatformError(f"access token: errcode {body.get('errcode')}")
        lifetime = max(60, int(body.get("expires_in") or 7200) - 300)
        with _token_lock:
            _access_tokens[("wechat", self.app_id)] = (body["access_token"],
                                                       time.monotonic() + lifetime)
        return body["access_token"]

    def send_subscription_message(self, *, subject: str, template_id: str, data: dict[str, str],
                                  page: str | None = None, locale: str = "zh-CN") -> str:
        """POST {base_url}/cgi-bin/message/subscribe/send."""
        if not self.app_id:
            raise PlatformError("wechat is not configured")
        message = {"touser": subject, "template_id": template_id,
                   "data": {key: {"value": value} for key, value in data.items()},
                   "lang": "en_US" if locale == "en" else "zh_CN"}
        if page:
            message["page"] = page
        for attempt in (1, 2):
            token = self._access_token(refresh=attempt == 2)
            body = _get_json("POST", f"{self.base_url}/cgi-bin/message/subscribe/send",
                             timeout=self.timeout, params={"access_token": token}, json=message)
            errcode = body.get("errcode") or 0
            if errcode in self.STALE_TOKEN and attempt == 1:
                continue
            if errcode in self.SUBSCRIPTION_GONE:
                raise SubscriptionRefused(f"errcode {errcode}")
            if errcode:
                raise PlatformError(f"errcode {errcode}")
            return str(body.get("msgid") or "")
        raise PlatformError("access token refused")


def signed_answer(text: str, keys: tuple[str, ...], public_key) -> tuple[str, dict]:
    """The first of `keys` an Alipay answer holds (`xxx_response`, `error_response`) and its
    value, believed only if `sign` is the platform's RSA2 signature of that member's JSON text
    exactly as it came over the wire (Alipay signs the bytes, not the parsed value). What is
    returned is parsed from those signed bytes themselves, so nothing unsigned gets through."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise PlatformError("not JSON") from exc
    key = next((k for k in keys if isinstance(body, dict) and isinstance(body.get(k), dict)),
               None)
    if key is None:
        raise PlatformError("unexpected answer")
    signature = body.get("sign")
    match = re.search(re.escape(f'"{key}"') + r"\s*:\s*", text)
    if match is None or not isinstance(signature, str):
        raise UntrustedAnswer(f"{key} is not signed")
    try:
        value, end = json.JSONDecoder().raw_decode(text, match.end())
        public_key.verify(base64.b64decode(signature, validate=True),
                          text[match.end():end].encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError) as exc:
        raise UntrustedAnswer(f"{key}: the signature does not verify") from exc
    if not isinstance(value, dict):
        raise UntrustedAnswer(f"{key}: not an object")
    return key, value


class AlipayPlatform:
    """Alipay's gateway ({base_url}/gateway.do): requests RSA2-signed with our private key when
    one is configured; answers believed only when signed with the platform's public key."""

    METHOD = "alipay.system.oauth.token"
    REJECTED = {"isv.code-invalid", "isv.code-expired", "isv.code-used"}
    SEND_METHOD = "alipay.open.app.mini.templatemessage.send"

    def __init__(self, base_url: str, app_id: str, private_key: str, timeout: float,
                 public_key: str = ""):
        self.base_url, self.app_id, self.timeout = base_url.rstrip("/"), app_id, timeout
        self.private_key, self.public_key = private_key, public_key

    def _call(self, params: dict, answer_key: str) -> dict:
        """POST to the gateway; the verified answer (its `answer_key` or its `error_response`,
        the latter returned under "error")."""
        if not self.public_key:
            log.error("alipay's public key is not configured: its answers cannot be verified")
            raise PlatformError("alipay public key not configured")
        pem = self.public_key.strip()
        if not pem.startswith("-----BEGIN"):  # Alipay's console shows the bare base64 key
            pem = f"-----BEGIN PUBLIC KEY-----\n{pem}\n-----END PUBLIC KEY-----"
        try:
            public_key = serialization.load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise PlatformError("alipay public key unreadable") from exc
        if self.private_key:
            params["sign"] = self.sign(params)
        text = _request("POST", f"{self.base_url}/gateway.do", timeout=self.timeout,
                        data=params).text
        try:
            key, answer = signed_answer(text, (answer_key, "error_response"), public_key)
        except UntrustedAnswer as exc:
            log.warning("alipay answer refused: %s", exc)
            raise
        return {"error": answer} if key == "error_response" else answer

    def sign(self, params: dict) -> str:
        content = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k] not in ("",
                                                                                       None))
        key = serialization.load_pem_private_key(self.private_key.encode(), password=None)
        return base64.b64encode(key.sign(content.encode(), padding.PKCS1v15(),
                                         hashes.SHA256())).decode()

    def exchange_code(self, code: str) -> PlatformSession:
        if not self.app_id:
            raise PlatformError("alipay is not configured")
        params = {"app_id": self.app_id, "method": self.METHOD, "format": "JSON",
                  "charset": "utf-8", "sign_type": "RSA2", "version": "1.0",
                  "timestamp": datetime.now(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
                  "grant_type": "authorization_code", "code": code}
        answer = self._call(params, "alipay_system_oauth_token_response")
        if "error" in answer:
            error = answer["error"]
            if error.get("sub_code") in self.REJECTED:
                raise CodeRejected(str(error.get("sub_code")))
            reason = str(error.get("sub_code") or error.get("code"))
            log.warning("alipay code exchange failed: %s", reason)
            raise PlatformError(reason)
        subject = answer.get("open_id") or answer.get("user_id")
        if not subject:
            raise PlatformError("no user id in the answer")
        return PlatformSession("alipay", subject, answer.get("access_token"),
                               answer.get("union_id"))

    def send_subscription_message(self, *, subject: str, template_id: str, data: dict[str, str],
                                  page: str | None = None, locale: str = "zh-CN") -> str:
        """alipay.open.app.mini.templatemessage.send on {base_url}/gateway.do."""
        if not self.app_id:
            raise PlatformError("alipay is not configured")
        # Alipay user ids are 16 digits starting 2088; anything else is an app-scoped open id.
        recipient = "to_user_id" if subject.isdigit() and subject.startswith("2088") \
            else "to_open_id"
        content = {recipient: subject, "user_template_id": template_id, "page": page or "",
                   "data": json.dumps({key: {"value": value} for key, value in data.items()},
                                      ensure_ascii=False)}
        params = {"app_id": self.app_id, "method": self.SEND_METHOD, "format": "JSON",
                  "charset": "utf-8", "sign_type": "RSA2", "version": "1.0",
                  "timestamp": datetime.now(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S"),
                  "biz_content": json.dumps(content, ensure_ascii=False)}
        answer = self._call(params, "alipay_open_app_mini_templatemessage_send_response")
        answer = answer.get("error", answer)
        if str(answer.get("code")) == "10000":
            return str(answer.get("msg_id") or "")
        sub_code = str(answer.get("sub_code") or answer.get("code") or "")
        if "subscri" in sub_code or "template" in sub_code:
            raise SubscriptionRefused(sub_code)
        raise PlatformError(sub_code or "no answer")


_access_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_token_lock = threading.Lock()


def template_for(platform: str | None, kind: str) -> dict | None:
    """The platform's template for a notification type, from MINIPROGRAM_TEMPLATES:
    {"wechat": {"task_completed": "<template id>" | {"id", "fields": {key: source}}}}.
    Sources: "title", "body", "time", "application"; default thing1=title, thing2=body, time3=time.
    """
    entry = (current_app.config.get("MINIPROGRAM_TEMPLATES") or {}).get(platform or "", {})
    entry = entry.get(kind) if isinstance(entry, dict) else None
    if isinstance(entry, str) and entry:
        return {"id": entry, "fields": {"thing1": "title", "thing2": "body", "time3": "time"}}
    if isinstance(entry, dict) and entry.get("id"):
        return {"id": entry["id"], "fields": entry.get("fields") or {"thing1": "title",
                                                                      "thing2": "body"}}
    return None


def platform_client(platform: str) -> MiniProgramPlatform:
    """The adapter for a platform, as MINIPROGRAM_ADAPTER and MINIPROGRAM_PLATFORMS say."""
    config = current_app.config
    if platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}")
    if config["MINIPROGRAM_ADAPTER"] != "http":
        return DevelopmentPlatform(platform)
    settings = config["MINIPROGRAM_PLATFORMS"].get(platform) or {}
    timeout = float(config["MINIPROGRAM_TIMEOUT"])
    if platform == "wechat":
        return WeChatPlatform(settings.get("base_url", ""), settings.get("app_id", ""),
                              settings.get("app_secret", ""), timeout)
    return AlipayPlatform(settings.get("base_url", ""), settings.get("app_id", ""),
                          settings.get("private_key", ""), timeout,
                          settings.get("public_key", ""))
