"""A partner's webhook receiver on 127.0.0.1: records every signed POST as it arrived (headers and
raw body, for the signature) and answers what the test queues, else 200.

    with WebhookReceiver() as receiver:
        make_partner(webhook_url=receiver.url + "/hooks", ...)
        receiver.answers = [(503, {}), (500, {})]   # the next answers, then 200
        receiver.answering.clear() ... receiver.answering.set()  # hang every answer meanwhile
        ... receiver.requests ...                     # method, path, query, headers, raw
"""
import json
import threading
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from standins.server import HOST, Handler, Standin


class _ReceiverHandler(Handler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        standin = self.standin
        raw = self.body()
        parts = urlsplit(self.path)
        request = {"method": self.command, "path": parts.path,
                   "query": dict(parse_qsl(parts.query)), "headers": dict(self.headers),
                   "raw": raw}
        with standin._lock:
            standin.requests.append(request)
        standin.answering.wait(standin.STALL_LIMIT)  # a partner that hangs (the sender times out)
        with standin._lock:
            answer = standin.answers.pop(0) if standin.answers else None
        self.reply(*(answer or standin.answer(request)))


class WebhookReceiver(Standin):
    name = "webhook-receiver"
    handler = _ReceiverHandler
    STALL_LIMIT = 30.0  # a hanging answer goes out after this long at the latest

    def __init__(self, answer: Callable[[dict], tuple[int, dict]] | None = None,
                 host: str = HOST, port: int = 0):
        super().__init__(host, port)
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        self.answer = answer or (lambda request: (200, {}))
        self.answering = threading.Event()  # cleared: every request hangs until it is set
        self.answering.set()

    def events(self) -> list[dict]:
        """The events received, in order."""
        with self._lock:
            return [json.loads(request["raw"]) for request in self.requests]
