"""A worker round reads what it needs by keys its indexes lead with, so its cost does not grow
with every device, preference, counter and conversation ever stored: the embedded server reads a
`$unionWith`'s whole collection whatever its `$match`, and joins on an index only where one
leads with the `$lookup`'s foreign field."""
from models.connection import database
from models.conversation import Conversation
from models.device import Device
from models.notification import Notification
from notifications import relay
from tests.helpers import capture_commands, make_citizen
from tests.notifications.support import application_with, completed, device, fast_worker

# Read whole by design: a handful of partners, one pause per channel.
BOUNDED = {"partners", "notification_channel_pauses"}


def leading_fields(collection: str) -> set[str]:
    return {next(iter(spec["key"])) for spec in database()[collection].list_indexes()}


def joins(pipeline: list) -> list[dict]:
    """Every $lookup and $unionWith of a pipeline, nested ones included."""
    found = []
    for stage in pipeline:
        for name in ("$lookup", "$unionWith"):
            if name in stage:
                found.append({"stage": name, **stage[name]})
                found += joins(stage[name].get("pipeline") or [])
    return found


def test_a_round_joins_each_collection_on_an_index_and_reads_none_whole(app, fcm, monkeypatch):
    citizens = [make_citizen() for _ in range(3)]
    for n, citizen in enumerate(citizens):
        device(citizen, f"token-{n}")
        application_with(citizen, [completed(citizen)])
    Conversation(owner=str(citizens[0].id)).save()  # a conversation with nothing to send
    aggregates = capture_commands(monkeypatch, lambda name, command: [command.get("pipeline")]
                                  if name == "aggregate" else [])

    assert fast_worker(app).run_once() == 6  # three notifications relayed and pushed

    stages = [join for pipeline in aggregates for join in joins(pipeline)]
    assert stages  # the round's reads were seen
    for join in stages:
        collection = join.get("from") or join.get("coll")
        if collection in BOUNDED:
            continue
        assert join["stage"] == "$lookup", f"{collection} read whole by a $unionWith"
        assert join.get("foreignField") in leading_fields(collection), \
            f"{collection} joined on {join.get('foreignField')}, which no index leads with"
    assert Notification.objects.count() == 3 and relay.recent_numbers.get(str(citizens[2].id))
    assert Device.objects.count() == 3
