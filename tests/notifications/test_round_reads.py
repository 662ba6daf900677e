"""A worker round reads what it needs by keys its indexes lead with, so its cost does not grow
with every device, preference, counter and conversation ever stored: the embedded server reads a
`$unionWith`'s whole collection whatever its `$match`, and joins on an index only where one
leads with the `$lookup`'s foreign field."""
from datetime import timedelta

from models.base import utcnow
from models.connection import database
from models.conversation import Conversation
from models.device import Device
from models.notification import Channel, ChannelPause, Notification, NotificationSequence
from models.preferences import NotificationPreferences
from notifications import relay
from tests.helpers import capture_commands, make_citizen, make_officer, make_partner
from tests.notifications.support import (
    application_with,
    completed,
    device,
    fast_worker,
    intent,
)

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


def test_a_round_reads_the_outboxes_and_their_recipients_in_one_command(app, fcm, monkeypatch):
    """The outboxes and what relaying and pushing to their recipients needs (accounts, devices,
    preferences, counters) come in one aggregate; the recipients are worked out by the
    database from the intents found."""
    first, second = make_citizen(), make_citizen()
    device(first, "first-phone")
    device(second, "second-phone")
    NotificationPreferences(user=str(second.id), sms=False).save()
    application_with(first, [completed(first)])
    application_with(second, [completed(second), completed(second, matter="citizen_card")])
    commands = capture_commands(monkeypatch, lambda name, command: [
        (name, command.get("pipeline") or command.get("find"))]
        if name in ("aggregate", "find") else [])

    assert fast_worker(app).run_once() == 6  # three notifications relayed and pushed

    [relay_read] = [pipeline for name, pipeline in commands
                    if name == "aggregate" and "$documents" in pipeline[0]]
    recipients_read = {"devices", "notification_preferences", "notification_sequences", "users"}
    assert {"applications", "conversations", *recipients_read} <= {
        join.get("from") for join in joins(relay_read)}
    # Nor read again by the pushes: the one read held them.
    assert [collection for name, collection in commands
            if name == "find" and collection in recipients_read] == []
    assert sorted(m["token"] for m in fcm.messages) == [
        "first-phone", "second-phone", "second-phone"]
    assert sorted(Notification.objects(recipient=str(second.id)).scalar("seq")) == [1, 2]


def test_the_round_read_holds_what_reading_the_recipients_alone_holds(app):
    """What the one read gives a relay is what `_look_up` reads for the recipients of the
    intents relayed: those of a conversation's outbox too, not those of intents being taken
    out, nothing for an intent without a recipient."""
    citizen, taken_out, officer = make_citizen(), make_citizen(), make_officer("health")
    device(citizen, "phone")
    device(taken_out, "other-phone")
    NotificationPreferences(user=str(citizen.id), push=False).save()
    NotificationSequence(id=str(citizen.id), seq=4).save()
    make_partner(webhook_url="http://127.0.0.1:9/hook", events=["*"])
    ChannelPause(id=Channel.PUSH.value, until=utcnow() + timedelta(minutes=5)).save()
    leaving = completed(taken_out)
    application_with(citizen, [completed(citizen), leaving, intent("task_completed", "")])
    Conversation(owner=str(citizen.id), outbox_pending=True,
                 outbox=[completed(officer, application=None)]).save()

    row = next(database().aggregate(relay._round_read(10, {leaving["id"]})))
    recipients = {str(citizen.id), str(officer.id)}
    assert set(row["names"]) == recipients

    merged, alone = relay.Batch(), relay.Batch()
    known = relay._look_up(recipients, merged, row)
    assert known == relay._look_up(recipients, alone)
    assert known["sequences"] == {str(citizen.id): 4} and known["partners"]
    assert set(known["preferences"]) == {str(citizen.id)}
    assert (merged.users, merged.devices, merged.push_pause) == (
        alone.users, alone.devices, alone.push_pause)
    assert set(merged.users) == recipients and set(merged.devices) == {str(citizen.id)}
    assert merged.push_pause is not None
