"""What every stand-in shares: an HTTP server on 127.0.0.1, on a free port unless one is given,
serving in a thread of its own, started and stopped from Python or as a `with` block."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # firebase-admin sends a batch's messages at once, one connection each (up to 500): the
    # socketserver default backlog of 5 would refuse some of them on a busy machine.
    request_queue_size = 512

    def handle_error(self, request, client_address):
        # Senders killed mid-request (the crash tests do it on purpose) are not our error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    """Quiet; reads the body, answers JSON."""

    @property
    def standin(self) -> "Standin":
        return self.server.standin

    def log_message(self, *args):
        pass

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, payload, headers: dict | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


class Standin:
    """A subclass names its request handler (a `Handler` subclass) in `handler`."""

    handler: type[Handler] = Handler
    name = "standin"

    def __init__(self, host: str = HOST, port: int = 0):
        self._lock = threading.Lock()
        self._server = _Server((host, port), self.handler)
        self._server.standin = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=self.name)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def serve_forever(self) -> None:
        """As a process of its own (`python -m standins.<name>`): serve until interrupted."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
