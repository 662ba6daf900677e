"""The live event streams' hub: one look at the inbox per process, fanned out to the streams of
the citizens this process holds.

A stream does not read the database on its own: the hub polls once every SSE_POLL_SECONDS for
whatever any process stored for the citizens it holds (a narrow read on `created_at`, then the
new notifications by id) and hands each stream its citizen's. So a thousand open streams cost
one query a poll, not a thousand, and under gunicorn's gevent workers a stream is a greenlet
waiting on its queue, not a thread.

Nothing is lost on the way: a stream first reads from the database what it missed (resuming
after Last-Event-ID), and numbers are per citizen without gaps (notifications.relay), so a stream
that sees a number beyond the next reads the gap from the database before going on.
"""
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from flask import Flask, current_app
from pymongo.errors import PyMongoError

from models.base import utcnow
from models.notification import Notification

log = logging.getLogger(__name__)

# How long after its `created_at` a notification may become visible (the relay stamps a batch,
# then inserts it); the hub looks that far back behind the newest it has seen, by the relay's
# own clock, so neither a slow insert nor a clock apart from ours hides one.
# Later than that it still arrives: with the next notification of its citizen (a number
# skipped), or when the stream is resumed.
VISIBILITY_LAG = timedelta(seconds=10)
CATCH_UP_PAGE = 100
REVOCATION_CHECK_SECONDS = 1.0
_CLOSED = object()


class Stream:
    """One open event stream: its citizen, the last number it sent, its queue from the hub."""

    def __init__(self, hub: "Hub", user_id: str, cursor: int, behind: bool,
                 allowed: Callable[[], bool]):
        self.hub, self.user_id, self.cursor, self.allowed = hub, user_id, cursor, allowed
        self.behind = behind
        self._queue: queue.Queue = queue.Queue()
        self.closing = False

    def offer(self, rows: list[dict]) -> None:
        self._queue.put(rows)

    def close(self) -> None:
        """End the stream at its next step (its token was revoked)."""
        if not self.closing:
            self.closing = True
            self._queue.put(_CLOSED)

    def events(self, *, max_seconds: float, heartbeat_seconds: float,
               clock: Callable[[], float] = time.monotonic) -> Iterator[Notification | None]:
        """The citizen's notifications after the cursor, as they appear, for at most
        `max_seconds`; None as a heartbeat when nothing was sent for `heartbeat_seconds`."""
        self.hub.enter(self)
        try:
            start = last_sent = clock()
            # Resuming: what was missed. (What is stored from now on, the hub brings; what was
            # stored a moment ago too, as it looks back VISIBILITY_LAG.)
            for notification in self._catch_up() if self.behind else ():
                last_sent = clock()
                yield notification
            while True:
                now = clock()
                left = max_seconds - (now - start)
                if left <= 0:
                    return
                try:
                    item = self._queue.get(timeout=max(0.0, min(
                        left, heartbeat_seconds - (now - last_sent))))
                except queue.Empty:
                    if clock() - last_sent >= heartbeat_seconds:
                        last_sent = clock()
                        yield None
                    continue
                if item is _CLOSED:
                    return
                for notification in self._newer(item):
                    last_sent = clock()
                    yield notification
        finally:
            self.hub.leave(self)

    def _newer(self, rows: list[dict]) -> Iterator[Notification]:
        for row in rows:
            if row["seq"] > self.cursor + 1:  # a number skipped: the database has it
                yield from self._catch_up()
            if row["seq"] == self.cursor + 1:
                self.cursor = row["seq"]
                yield Notification._from_son(row)

    def _catch_up(self) -> Iterator[Notification]:
        collection = Notification._get_collection()
        while True:
            rows = list(collection.find({"recipient": self.user_id, "seq": {"$gt": self.cursor}})
                        .sort("seq", 1).limit(CATCH_UP_PAGE))
            for row in rows:
                self.cursor = row["seq"]
                yield Notification._from_son(row)
            if len(rows) < CATCH_UP_PAGE:
                return


class Hub:
    """The streams this process holds, and the one thread (a greenlet under gevent) that polls
    the inbox for them."""

    def __init__(self, app: Flask):
        self.app = app
        self._lock = threading.Lock()
        self._streams: dict[str, set[Stream]] = defaultdict(set)
        self._sent: dict[str, int] = {}  # per citizen, the highest number handed out
        self._someone = threading.Event()
        self._wake = threading.Event()  # a first stream after a quiet while: look now
        self._since: datetime | None = None
        self._thread: threading.Thread | None = None
        self._checked = 0.0
        self.polls = 0

    def stream(self, *, user_id: str, cursor: int, behind: bool,
               allowed: Callable[[], bool]) -> Stream:
        """A stream of this citizen after `cursor`, held from its first step to its last; if it
        is `behind` (resumed), it first reads what it missed itself."""
        return Stream(self, user_id, cursor, behind, allowed)

    def enter(self, stream: Stream) -> None:
        with self._lock:
            if not self._streams:
                self._wake.set()
            self._streams[stream.user_id].add(stream)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="event-hub",
                                                daemon=True)
                self._thread.start()
        self._someone.set()

    def leave(self, stream: Stream) -> None:
        with self._lock:
            held = self._streams.get(stream.user_id)
            if held is not None:
                held.discard(stream)
                if not held:
                    del self._streams[stream.user_id]
                    self._sent.pop(stream.user_id, None)

    @property
    def held(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._streams.values())

    def _run(self) -> None:
        with self.app.app_context():
            while True:
                self._someone.wait()
                self._wake.clear()
                try:
                    self.poll()
                except PyMongoError as exc:  # the streams wait; the next poll catches up
                    log.warning("event hub: database unavailable (%s)", type(exc).__name__)
                except Exception:  # a bug must not end every stream's feed
                    log.exception("event hub poll failed")
                self._wake.wait(float(self.app.config["SSE_POLL_SECONDS"]))

    def poll(self) -> None:
        """One look at the inbox for every citizen held; streams of a revoked token end."""
        self.polls += 1
        with self._lock:
            held = {user: set(streams) for user, streams in self._streams.items()}
            sent = dict(self._sent)
            if not held:
                self._someone.clear()
        if not held:
            self._since = None
            return
        now = time.monotonic()
        if now - self._checked >= REVOCATION_CHECK_SECONDS:
            self._checked = now
            for streams in held.values():
                for stream in streams:
                    if not stream.allowed():
                        stream.close()
        since = self._since or utcnow() - VISIBILITY_LAG
        collection = Notification._get_collection()
        # Every recent notification, the citizens held picked out here: a list of a thousand
        # citizens in the filter would cost the database more than the few rows it saves.
        recent = list(collection.find({"created_at": {"$gte": since}},
                                      {"recipient": 1, "seq": 1, "created_at": 1}))
        if recent:  # the window follows the newest of anyone's, so it never grows
            newest = max(row["created_at"] for row in recent)
            self._since = max(since, newest - VISIBILITY_LAG)
        else:
            self._since = since
        seen = [row for row in recent if row["recipient"] in held]
        new_ids = [row["_id"] for row in seen if row["seq"] > sent.get(row["recipient"], 0)]
        if not new_ids:
            return
        by_user: dict[str, list[dict]] = defaultdict(list)
        for row in collection.find({"_id": {"$in": new_ids}}).sort("seq", 1):
            by_user[row["recipient"]].append(row)
        with self._lock:
            for user, rows in by_user.items():
                if user in self._streams:
                    self._sent[user] = max(self._sent.get(user, 0), rows[-1]["seq"])
        for user, rows in by_user.items():
            for stream in held.get(user, ()):
                stream.offer(rows)
        log.debug("event hub: %d new notifications for %d streams in %.0f ms", len(new_ids),
                 sum(len(held[u]) for u in by_user), (time.monotonic() - now) * 1000)


def hub() -> Hub:
    """This process's hub for the current app (one per app: tests make several)."""
    app = current_app._get_current_object()
    found = app.extensions.get("event_hub")
    if found is None:
        found = app.extensions.setdefault("event_hub", Hub(app))
    return found
