"""An OpenAI-compatible chat completions stand-in on 127.0.0.1, recording what it receives.

    with ChatStandin(reply=lambda text: text.replace("您好", "你好呀")) as llm:
        ... llm.url + "/v1" is the base URL; llm.requests are the bodies received ...
    ChatStandin(status=500)        answers every request with that error
    ChatStandin(delay=2.0)         answers late (for timeouts)
"""
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChatStandin:
    def __init__(self, reply: Callable[[str], str] = lambda text: text, status: int = 200,
                 delay: float = 0.0):
        self.reply, self.status, self.delay = reply, status, delay
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                standin.requests.append(body)
                standin.headers.append(dict(self.headers))
                if standin.delay:
                    time.sleep(standin.delay)
                if self.path != "/v1/chat/completions" or standin.status != 200:
                    self._send(standin.status if standin.status != 200 else 404,
                               {"error": {"message": "no"}})
                    return
                said = body["messages"][-1]["content"]
                self._send(200, {"id": "chatcmpl-1", "object": "chat.completion",
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant",
                                                          "content": standin.reply(said)}}]})

            def _send(self, status, payload):
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "ChatStandin":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
