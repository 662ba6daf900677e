"""An FCM HTTP v1 stand-in with its OAuth token endpoint, on 127.0.0.1, recording what it receives.

In a test:

    with FcmStandin() as fcm:
        credentials = fcm.write_service_account(tmp_path)   # points token_uri at the stand-in
        fcm.unregister("dead-token"); fcm.unavailable(count=3); fcm.quota(retry_after=2)
        fcm.unavailable(status=500); fcm.latency_ms = 3000   # internal errors; answers too late
        ... fcm.messages ...                                  # what was accepted, in order

As a process (benchmarks): `python -m standins.fcm --port 9099 --credentials-out sa.json`;
it is then driven over HTTP: GET /_standin/messages, GET /_standin/stats, POST /_standin/reset,
POST /_standin/behaviour {"unavailable": n|-1, "quota": n|-1, "retry_after": s,
"unregistered": [tokens], "latency_ms": ms}.
"""
import argparse
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from standins.server import HOST, Handler, Standin

SEND_PATH = re.compile(r"^/v1/projects/(?P<project>[^/]+)/messages:send$")
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
PROJECT_ID = "onething-standin"


def _fcm_error(code: int, status: str, message: str, fcm_code: str | None) -> dict:
    details = [{"@type": FCM_ERROR_TYPE, "errorCode": fcm_code}] if fcm_code else []
    return {"error": {"code": code, "message": message, "status": status, "details": details}}


class _FcmHandler(Handler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the body would wait for the
    # client's delayed ACK (40 ms on Linux) on every kept-alive request.
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 (http.server's naming)
        standin = self.standin
        if self.path == "/_standin/messages":
            with standin._lock:
                self.reply(200, list(standin.messages))
        elif self.path == "/_standin/stats":
            self.reply(200, standin.stats())
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):  # noqa: N802
        standin = self.standin
        raw = self.body()
        if self.path == "/token":
            status, payload, headers = standin._answer_token(parse_qs(raw.decode()))
            self.reply(status, payload, headers)
            return
        if self.path == "/_standin/reset":
            standin.reset()
            self.reply(200, {"ok": True})
            return
        if self.path == "/_standin/behaviour":
            standin.behave(json.loads(raw or b"{}"))
            self.reply(200, {"ok": True})
            return
        match = SEND_PATH.match(self.path)
        if not match:
            self.reply(404, _fcm_error(404, "NOT_FOUND", "Unknown path.", None))
            return
        if standin.latency_ms:
            time.sleep(standin.latency_ms / 1000)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.reply(400, _fcm_error(400, "INVALID_ARGUMENT", "Bad JSON.", None))
            return
        status, payload, headers, record = standin._answer_send(
            match.group("project"), self.headers, body)
        if status == 200 and standin.before_response:
            standin.before_response(record)
        try:
            self.reply(status, payload, headers)
        except OSError:
            return  # the sender is gone
        if status == 200 and standin.after_response:
            standin.after_response(record)


class FcmStandin(Standin):
    """FCM's `messages:send` and a token endpoint; behaviour switchable while it runs."""

    name = "fcm-standin"
    handler = _FcmHandler

    def __init__(self, host: str = HOST, port: int = 0, latency_ms: int = 0):
        super().__init__(host, port)
        self.latency_ms = latency_ms
        self.messages: list[dict] = []  # accepted messages, in arrival order
        self.requests: list[dict] = []  # every send request, with the status answered
        self.token_requests = 0
        self.issued_tokens: set[str] = set()
        self.unregistered: set[str] = set()
        self._unavailable = 0  # requests still to answer 503; -1 means until told otherwise
        self._error_status = 503  # what "unavailable" answers: 503 UNAVAILABLE or 500 INTERNAL
        self._quota = 0  # requests still to answer 429
        self.retry_after: int | None = None
        # Called from the request thread with the message record: before answering, and right
        # after the answer has been written (tests kill the sender at these two points).
        self.before_response: Callable[[dict], None] | None = None
        self.after_response: Callable[[dict], None] | None = None
        self.public_key = None

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    # -- behaviour -----------------------------------------------------------------------
    def unavailable(self, count: int = -1, retry_after: int | None = None,
                    status: int = 503) -> None:
        """Answer 503 (or `status` 500: an internal error) to the next `count` sends (-1: until
        `healthy()`)."""
        with self._lock:
            self._unavailable, self.retry_after = count, retry_after
            self._error_status = status

    def quota(self, retry_after: int = 1, count: int = 1) -> None:
        """Answer 429 QUOTA_EXCEEDED with Retry-After to the next `count` sends (-1: until
        `healthy()`)."""
        with self._lock:
            self._quota, self.retry_after = count, retry_after

    def healthy(self) -> None:
        with self._lock:
            self._unavailable = self._quota = self.latency_ms = 0
            self.retry_after = None

    def unregister(self, *tokens: str) -> None:
        """FCM will answer 404 UNREGISTERED for these device tokens."""
        with self._lock:
            self.unregistered.update(tokens)

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.requests.clear()
            self.unregistered.clear()
            self._unavailable = self._quota = 0
            self.retry_after = None

    def behave(self, settings: dict) -> None:
        with self._lock:
            if "unavailable" in settings:
                self._unavailable = int(settings["unavailable"])
            if "quota" in settings:
                self._quota = int(settings["quota"])
            if "retry_after" in settings:
                self.retry_after = settings["retry_after"]
            if "unregistered" in settings:
                self.unregistered.update(settings["unregistered"])
            if "latency_ms" in settings:
                self.latency_ms = int(settings["latency_ms"])

    # -- what arrived ----------------------------------------------------------------------
    def received_for(self, token: str) -> list[dict]:
        with self._lock:
            return [m for m in self.messages if m["token"] == token]

    def notification_ids(self) -> list[str]:
        with self._lock:
            return [m["data"].get("notification_id") for m in self.messages]

    def stats(self) -> dict:
        with self._lock:
            answered: dict[str, int] = {}
            for request in self.requests:
                answered[str(request["status"])] = answered.get(str(request["status"]), 0) + 1
            return {"accepted": len(self.messages), "requests": len(self.requests),
                    "answered": answered, "token_requests": self.token_requests}

    # -- credentials -----------------------------------------------------------------------
    def service_account(self, project_id: str = PROJECT_ID) -> dict:
        """A service-account JSON with a fresh RSA key whose token_uri is this stand-in."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = key.public_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        return {
            "type": "service_account", "project_id": project_id,
            "private_key_id": uuid.uuid4().hex, "private_key": pem,
            "client_email": f"push@{project_id}.iam.gserviceaccount.com",
            "client_id": "100000000000000000001", "token_uri": self.token_url,
            "auth_uri": self.url + "/auth",
        }

    def write_service_account(self, directory: str | Path, project_id: str = PROJECT_ID) -> str:
        path = Path(directory) / "fcm-service-account.json"
        path.write_text(json.dumps(self.service_account(project_id)))
        return str(path)

    # -- the HTTP side -----------------------------------------------------------------------
    def _answer_token(self, form: dict) -> tuple[int, dict, dict]:
        assertion = (form.get("assertion") or [""])[0]
        if self.public_key is not None:
            try:
                jwt.decode(assertion, self.public_key, algorithms=["RS256"],
                           audience=self.token_url, options={"verify_aud": False})
            except jwt.PyJWTError:
                return 400, {"error": "invalid_grant"}, {}
        access_token = "standin-" + uuid.uuid4().hex
        with self._lock:
            self.token_requests += 1
            self.issued_tokens.add(access_token)
        return 200, {"access_token": access_token, "expires_in": 3600,
                     "token_type": "Bearer"}, {}

    def _answer_send(self, project: str, headers, body: dict) -> tuple[int, dict, dict, dict]:
        message = body.get("message") or {}
        token = message.get("token") or message.get("fid") or ""
        record = {"project": project, "token": token, "data": message.get("data") or {},
                  "notification": message.get("notification") or {},
                  "android": message.get("android"), "apns": message.get("apns"),
                  "payload_bytes": len(json.dumps(
                      {"data": message.get("data"), "notification": message.get("notification")},
                      ensure_ascii=False).encode()),
                  "at": time.time()}
        auth = headers.get("Authorization", "")
        with self._lock:
            if not auth.startswith("Bearer ") or auth[7:] not in self.issued_tokens:
                answer = (401, _fcm_error(401, "UNAUTHENTICATED", "Request had invalid "
                                          "authentication credentials.", None), {})
            elif self._quota:
                if self._quota > 0:
                    self._quota -= 1
                answer = (429, _fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.",
                                          "QUOTA_EXCEEDED"),
                          {"Retry-After": str(self.retry_after or 1)})
            elif self._unavailable:
                if self._unavailable > 0:
                    self._unavailable -= 1
                extra = {"Retry-After": str(self.retry_after)} if self.retry_after else {}
                answer = (503, _fcm_error(503, "UNAVAILABLE", "The service is currently "
                                          "unavailable.", "UNAVAILABLE"), extra) \
                    if self._error_status == 503 else \
                    (500, _fcm_error(500, "INTERNAL", "Internal error.", "INTERNAL"), {})
            elif not token or token in self.unregistered:
                answer = (404, _fcm_error(404, "NOT_FOUND", "Requested entity was not found.",
                                          "UNREGISTERED"), {})
            elif record["payload_bytes"] > 4096:
                answer = (400, _fcm_error(400, "INVALID_ARGUMENT", "Message is too big",
                                          "INVALID_ARGUMENT"), {})
            else:
                record["name"] = f"projects/{project}/messages/{uuid.uuid4().hex}"
                self.messages.append(record)
                answer = (200, {"name": record["name"]}, {})
            self.requests.append({**record, "status": answer[0]})
        return (*answer, record)


def main() -> None:
    parser = argparse.ArgumentParser(description="FCM HTTP v1 stand-in on 127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--project", default=PROJECT_ID)
    parser.add_argument("--credentials-out", help="write a service-account JSON here")
    args = parser.parse_args()
    standin = FcmStandin(port=args.port, latency_ms=args.latency_ms)
    if args.credentials_out:
        Path(args.credentials_out).write_text(json.dumps(standin.service_account(args.project)))
    print(f"FCM stand-in on {standin.url} (project {args.project})", flush=True)
    standin.serve_forever()


if __name__ == "__main__":
    main()
