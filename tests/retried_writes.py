"""Writes sent twice, as a driver that lost the first answer retries them (retryWrites): the
embedded server does not recognise the retry, so a retried insert meets its own first attempt
as a duplicate key and a retried conditional update matches nothing."""
import contextlib

from bson import ObjectId
from pymongo.collection import Collection

WRITES = ("insert_one", "update_one", "update_many", "delete_one", "delete_many")


@contextlib.contextmanager
def sent_twice(monkeypatch, collection: str, *writes: str):
    """Every write of these kinds to `collection` is sent, then sent again with the same
    arguments (an insert with the `_id` the driver gave it the first time); the second answer
    is the one the code sees. Errors of the first attempt are the server's answer to a send
    whose answer was lost: swallowed, as the driver would."""
    originals = {name: getattr(Collection, name) for name in writes or WRITES}
    seen: list[str] = []

    def twice(name):
        original = originals[name]

        def write(self, first, *args, **kwargs):
            if self.name != collection:
                return original(self, first, *args, **kwargs)
            if name == "insert_one" and isinstance(first, dict):
                first.setdefault("_id", ObjectId())  # the driver names it before sending
            seen.append(name)
            with contextlib.suppress(Exception):
                original(self, dict(first) if isinstance(first, dict) else first, *args, **kwargs)
            return original(self, first, *args, **kwargs)
        return write

    for name in originals:
        monkeypatch.setattr(Collection, name, twice(name))
    try:
        yield seen
    finally:
        for name, original in originals.items():
            monkeypatch.setattr(Collection, name, original)
