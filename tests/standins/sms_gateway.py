"""An SMS gateway stand-in on 127.0.0.1: checks the request signature, records the messages.

    with SmsGatewayStandin(key="k", secret="s") as gateway:
        app.config.update(SMS_ADAPTER="http", SMS_GATEWAY_URL=gateway.url, ...)
        ... gateway.messages ...         # [{"to", "text", "request_id"}], in arrival order
        gateway.fail(count=1, status=503)
"""
import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SmsGatewayStandin:
    def __init__(self, key: str = "standin-key", secret: str = "standin-secret",
                 host: str = "127.0.0.1", port: int = 0):
        self.key, self.secret = key, secret
        self.messages: list[dict] = []
        self.rejected: list[str] = []  # why requests were refused
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def settings(self) -> dict:
        """The app settings that point the http adapter here."""
        return {"SMS_ADAPTER": "http", "SMS_GATEWAY_URL": self.url, "SMS_GATEWAY_KEY": self.key,
                "SMS_GATEWAY_SECRET": self.secret}

    def fail(self, count: int = 1, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([status] * count)

    def __enter__(self) -> "SmsGatewayStandin":
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="sms-standin").start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

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
            self.messages.append(json.loads(body))
        return 200, {"id": uuid.uuid4().hex}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/messages":
                    status, answer = 404, {"error": "not found"}
                else:
                    status, answer = standin._answer(self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler
