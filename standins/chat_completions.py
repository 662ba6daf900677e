"""An OpenAI-compatible chat completions stand-in on 127.0.0.1, recording what it receives.

    with ChatStandin(reply=lambda text: text.replace("您好", "你好呀")) as llm:
        ... llm.url + "/v1" is the base URL; llm.requests are the bodies received ...
    ChatStandin(status=500)        answers every request with that error
    ChatStandin(delay=2.0)         answers late (for timeouts)
"""
import json
import time
from collections.abc import Callable

from standins.server import HOST, Handler, Standin


class _ChatHandler(Handler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        standin = self.standin
        body = json.loads(self.body())
        standin.requests.append(body)
        standin.headers.append(dict(self.headers))
        if standin.delay:
            time.sleep(standin.delay)
        if self.path != "/v1/chat/completions" or standin.status != 200:
            self.reply(standin.status if standin.status != 200 else 404,
                       {"error": {"message": "no"}})
            return
        said = body["messages"][-1]["content"]
        self.reply(200, {"id": "chatcmpl-1", "object": "chat.completion",
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant",
                                                  "content": standin.reply(said)}}]})


class ChatStandin(Standin):
    name = "chat-standin"
    handler = _ChatHandler

    def __init__(self, reply: Callable[[str], str] = lambda text: text, status: int = 200,
                 delay: float = 0.0, host: str = HOST, port: int = 0):
        super().__init__(host, port)
        self.reply, self.status, self.delay = reply, status, delay
        self.requests: list[dict] = []
        self.headers: list[dict] = []
