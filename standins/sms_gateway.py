"""An SMS gateway stand-in on 127.0.0.1: checks the request signature, records the messages, and
tells the codes it received, as a load test against a real gateway reads them from test handsets.

In a test:

    with SmsGatewayStandin(key="k", secret="s") as gateway:
        app.config.update(gateway.settings())
        ... gateway.messages ...         # [{"to", "text", "request_id"}], in arrival order
        gateway.fail(count=1, status=503)
        gateway.code_for("13800001234")  # the latest six-digit code texted there, or None

As a process (benchmarks): `python -m standins.sms_gateway --port 9100 --key K --secret S`;
    GET /_standin/code?to=13800001234   -> {"code": "123456"} (the latest code texted there), 404
    GET /_standin/stats                 -> {"messages": n, "rejected": n}
"""
import argparse
import hashlib
import hmac
import json
import re
import time
import uuid
from urllib.parse import parse_qs, urlparse

from standins.server import HOST, Handler, Standin

CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class _SmsHandler(Handler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.body()
        if self.path != "/messages":
            self.reply(404, {"error": "not found"})
            return
        with self.standin._lock:
            self.standin.arrived += 1
        time.sleep(self.standin.delay)  # a slow gateway
        self.reply(*self.standin._answer(self.headers, body))

    def do_GET(self):  # noqa: N802
        standin = self.standin
        url = urlparse(self.path)
        if url.path == "/_standin/code":
            code = standin.code_for((parse_qs(url.query).get("to") or [""])[0])
            self.reply(*((200, {"code": code}) if code else (404, {"code": None})))
        elif url.path == "/_standin/stats":
            self.reply(200, {"messages": len(standin.messages),
                             "rejected": len(standin.rejected)})
        else:
            self.reply(404, {"error": "not found"})


class SmsGatewayStandin(Standin):
    name = "sms-standin"
    handler = _SmsHandler

    def __init__(self, key: str = "standin-key",
                 secret: str = "standin-secret",  # noqa: S107 (the stand-in's own, not a secret)
                 host: str = HOST, port: int = 0):
        super().__init__(host, port)
        self.key, self.secret = key, secret
        self.messages: list[dict] = []
        self.rejected: list[str] = []  # why requests were refused
        self.latest: dict[str, str] = {}  # phone → the latest code texted there
        self._failures: list[int] = []
        self.delay = 0.0  # seconds before each message is answered
        self.arrived = 0  # messages received, answered or not yet

    def settings(self) -> dict:
        """The app settings that point the http adapter here."""
        return {"SMS_ADAPTER": "http", "SMS_GATEWAY_URL": self.url, "SMS_GATEWAY_KEY": self.key,
                "SMS_GATEWAY_SECRET": self.secret}

    def fail(self, count: int = 1, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def code_for(self, phone: str) -> str | None:
        with self._lock:
            return self.latest.get(phone)

    def _answer(self, headers, body: bytes) -> tuple[int, dict]:
        if headers.get("X-Api-Key") != self.key:
            self.rejected.append("key")
            return 401, {"error": "unknown key"}
        expected = hmac.new(self.secret.encode(),
                            headers.get("X-Timestamp", "").encode() + b"\n" + body,
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get("X-Signature", "")):
            self.rejected.append("signature")
            return 401, {"error": "bad signature"}
        with self._lock:
            if self._failures:
                return self._failures.pop(0), {"error": "unavailable"}
            message = json.loads(body)
            self.messages.append(message)
            found = CODE.search(message.get("text") or "")
            if found:
                self.latest[message.get("to") or ""] = found.group(1)
        return 200, {"id": uuid.uuid4().hex}


def main() -> None:
    parser = argparse.ArgumentParser(description="SMS gateway stand-in on 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    gateway = SmsGatewayStandin(key=args.key, secret=args.secret, port=args.port)
    print(f"SMS gateway stand-in on {gateway.url}", flush=True)
    gateway.serve_forever()


if __name__ == "__main__":
    main()
