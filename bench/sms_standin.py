"""The SMS gateway stand-in as a process for `make bench`: it also tells the load generator the
codes it received, as a load test against a real gateway would read them from test handsets.

    python -m bench.sms_standin --port 9100 --key K --secret S
    GET /_standin/code?to=13800001234   -> {"code": "123456"} (the latest code texted there), 404
    GET /_standin/stats                 -> {"messages": n, "rejected": n}
"""
import argparse
import contextlib
import json
import re
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from tests.standins.sms_gateway import SmsGatewayStandin

CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class BenchSmsGateway(SmsGatewayStandin):
    """The identity area's stand-in, plus a read side for the codes; nothing else changes."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.latest: dict[str, str] = {}

    def _answer(self, headers, body: bytes) -> tuple[int, dict]:
        status, answer = super()._answer(headers, body)
        if status == 200:
            message = json.loads(body)
            found = CODE.search(message.get("text") or "")
            if found:
                with self._lock:
                    self.latest[message.get("to") or ""] = found.group(1)
        return status, answer

    def _handler(self):
        standin = self
        base = super()._handler()

        class Handler(base):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                url = urlparse(self.path)
                if url.path == "/_standin/code":
                    phone = (parse_qs(url.query).get("to") or [""])[0]
                    with standin._lock:
                        code = standin.latest.get(phone)
                    status, answer = (200, {"code": code}) if code else (404, {"code": None})
                elif url.path == "/_standin/stats":
                    status, answer = 200, {"messages": len(standin.messages),
                                           "rejected": len(standin.rejected)}
                else:
                    status, answer = 404, {"error": "not found"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        assert issubclass(Handler, BaseHTTPRequestHandler)
        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    gateway = BenchSmsGateway(key=args.key, secret=args.secret, port=args.port)
    print(f"SMS gateway stand-in on {gateway.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        gateway._server.serve_forever()


if __name__ == "__main__":
    main()
