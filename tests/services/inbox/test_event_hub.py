"""The live streams' hub: one look at the inbox per process, each stream fed its own citizen's
notifications in order, nothing lost when the hub's look misses one, a revoked token's stream
ended."""
import threading

import pytest

from common import db_metrics
from models.notification import Notification
from notifications import relay
from services.inbox import event_hub
from tests.helpers import make_citizen
from tests.notifications.support import application_with, completed
from tests.processes import wait_until


def stored(citizen, count=1):
    items = [completed(citizen, matter=f"m{n}") for n in range(count)]
    application_with(citizen, items)
    relay.relay_pending()
    return [i["id"] for i in items]


class Reader:
    """A stream read to its end in a thread of its own, as a server reads one per request."""

    def __init__(self, hub, citizen, *, cursor=0, behind=False, allowed=lambda: True,
                 max_seconds=10.0):
        self.stream = hub.stream(user_id=str(citizen.id), cursor=cursor, behind=behind,
                                 allowed=allowed)
        self.got: list[str] = []
        self.ended = threading.Event()
        feed = self.stream.events(max_seconds=max_seconds, heartbeat_seconds=0.2)

        def read():
            with hub.app.app_context():
                for notification in feed:
                    if notification is not None:
                        self.got.append(notification.id)
            self.ended.set()

        threading.Thread(target=read, daemon=True).start()


@pytest.fixture
def hub(app, monkeypatch):
    monkeypatch.setitem(app.config, "SSE_POLL_SECONDS", 0.05)
    return event_hub.Hub(app)


def held(hub, count):
    wait_until(lambda: hub.held == count, timeout=10)


def test_one_poll_feeds_each_stream_its_own_citizens_notifications(hub):
    first, second = make_citizen(), make_citizen()
    readers = [Reader(hub, first), Reader(hub, first), Reader(hub, second)]
    held(hub, 3)

    mine, theirs = stored(first, 2), stored(second)

    wait_until(lambda: [len(r.got) for r in readers] == [2, 2, 1], timeout=10)
    assert readers[0].got == readers[1].got == mine
    assert readers[2].got == theirs


def test_a_poll_costs_the_same_database_commands_for_one_stream_or_forty(hub, app,
                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "SSE_POLL_SECONDS", 60.0)  # only the polls made here

    def commands_of_a_poll(citizens):
        for citizen in citizens:
            stored(citizen)
        db_metrics.reset()
        hub.poll()
        return db_metrics.count()

    one = [make_citizen()]
    readers = [Reader(hub, one[0])]
    wait_until(lambda: hub.polls == 1, timeout=10)
    alone = commands_of_a_poll(one)
    many = [make_citizen() for _ in range(39)]
    readers += [Reader(hub, citizen) for citizen in many]
    held(hub, 40)
    crowded = commands_of_a_poll(one + many)

    assert alone == crowded == 2  # the recent notifications, then the new ones by id
    wait_until(lambda: all(r.got for r in readers), timeout=10)


def test_a_notification_the_hub_missed_arrives_before_the_next_one(hub, app, monkeypatch):
    monkeypatch.setitem(app.config, "SSE_POLL_SECONDS", 60.0)  # only the polls made here
    citizen = make_citizen()
    reader = Reader(hub, citizen)
    wait_until(lambda: hub.polls == 1, timeout=10)  # its thread's first, with nothing new
    [missed] = stored(citizen)
    # Stored long after its relay stamped it: older than the hub looks back.
    Notification._get_collection().update_one(
        {"_id": missed}, {"$set": {"created_at": Notification.objects.get(id=missed).created_at
                                   - 3 * event_hub.VISIBILITY_LAG}})
    [following] = stored(citizen)

    hub.poll()

    wait_until(lambda: len(reader.got) == 2, timeout=10)
    assert reader.got == [missed, following]


def test_a_resumed_stream_first_reads_what_it_missed(hub):
    citizen = make_citizen()
    ids = stored(citizen, 3)

    reader = Reader(hub, citizen, cursor=1, behind=True)

    wait_until(lambda: len(reader.got) == 2, timeout=10)
    assert reader.got == ids[1:]


def test_the_stream_of_a_token_taken_back_ends(hub):
    citizen, revoked = make_citizen(), threading.Event()
    reader = Reader(hub, citizen, allowed=lambda: not revoked.is_set(), max_seconds=60.0)
    held(hub, 1)

    revoked.set()

    assert reader.ended.wait(10)
    wait_until(lambda: hub.held == 0, timeout=5)
