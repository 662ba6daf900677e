"""The relay: moves notification intents from outboxes (applications', and conversations' for the
service desk) into the inbox and queues their deliveries, idempotently, then takes them out of
the outbox; a batch of outboxes costs the same few database commands whether it holds one intent
or hundreds."""
import logging
import threading
from collections import OrderedDict
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from models.application import Application
from models.base import utcnow
from models.conversation import Conversation
from models.device import Device
from models.notification import (
    Channel,
    ChannelPause,
    Notification,
    NotificationSequence,
    NotificationType,
)
from models.partner import Partner
from models.preferences import NotificationPreferences
from models.user import STAFF_ROLES, User
from notifications import templates
from notifications.delivery_queue import DUPLICATE_KEY, PARTNERS_WITH_WEBHOOKS, queue_deliveries

log = logging.getLogger(__name__)

SEQ_RETRIES = 20
STAFF_ROLE_NAMES = {role.value for role in STAFF_ROLES}
# Intent details that reach the inbox's texts (templates) but are not kept with the notification
# nor sent to partners: a staff member's message to a citizen.
PRIVATE_DATA = frozenset({"message"})


class OutboxKey(NamedTuple):
    """An outbox held by a document other than an application (a bare id is an application's)."""

    collection: str
    id: Any



# The documents that hold outboxes; applications' are keyed by their bare id.
OUTBOX_HOLDERS = (Application, Conversation)


def _document_id(key):
    return key.id if isinstance(key, OutboxKey) else key


class _RecentNumbers:
    """The last inbox number this process gave each recent recipient. The counters in the
    database are raised only after a round's pushes, so the next round would otherwise start
    from a number already taken and retry; only a hint, the unique index has the last word."""

    SIZE = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._numbers: OrderedDict[str, int] = OrderedDict()

    def get(self, recipient: str) -> int:
        with self._lock:
            return self._numbers.get(recipient, 0)

    def given(self, recipient: str, seq: int) -> None:
        with self._lock:
            self._numbers[recipient] = max(seq, self._numbers.get(recipient, 0))
            self._numbers.move_to_end(recipient)
            while len(self._numbers) > self.SIZE:
                self._numbers.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._numbers.clear()


recent_numbers = _RecentNumbers()


@dataclass
class Batch:
    """One relay's work: the outboxes read, what was stored, and what a worker needs to deliver
    it at once (the deliveries queued under its lease, the recipients' accounts and wishes)."""

    # (outbox key, intents relayed); the key is an application's id, or an OutboxKey
    outboxes: list[tuple[Any, list[Mapping]]] = field(default_factory=list)
    relayed: set = field(default_factory=set)  # outbox keys whose intents are stored
    notifications: dict[str, dict] = field(default_factory=dict)  # stored by this relay, by id
    leased: list[dict] = field(default_factory=list)  # deliveries queued under the lease
    users: dict[str, dict] = field(default_factory=dict)  # recipients' role and locale
    preferences: dict[str, dict | None] = field(default_factory=dict)  # None: none saved
    numbered: dict[str, int] = field(default_factory=dict)  # the number given, by notification
    # Read with the accounts, for the round's pushes: the recipients' devices (most recently
    # seen first) and the push channel's pause (None: none), when `looked_up`.
    devices: dict[str, list[dict]] = field(default_factory=dict)
    push_pause: datetime | None = None
    looked_up: bool = False
    due_channels: set[str] = field(default_factory=set)  # of deliveries queued due, unleased

    @property
    def ids(self) -> set[str]:
        return {i["id"] for app_id, intents in self.outboxes if app_id in self.relayed
                for i in intents}

    @property
    def moved(self) -> int:
        return sum(len(intents) for app_id, intents in self.outboxes
                   if app_id in self.relayed)


def relay_pending(*, limit: int = 200) -> int:
    """Relay up to `limit` outboxes of each kind; returns how many intents were moved."""
    batch = relay_batch(limit=limit)
    take_out(batch)
    return batch.moved


def relay_batch(*, limit: int, lease: tuple[str, datetime] | None = None,
                relayed: Container[str] = frozenset(),
                leased_channels: Container[str] | None = None) -> Batch:
    """Store the intents of up to `limit` pending outboxes and queue their deliveries (under
    `lease`, (owner, until), if given: the caller delivers them now). The outboxes keep their
    intents until `take_out(batch)`, so a relay that dies before then loses nothing: the next
    one stores nothing twice and finds the deliveries queued. Intents whose ids are in `relayed`
    (this process relayed them; their taking out is under way) are left alone. With
    `leased_channels`, only those channels' deliveries are queued under the lease; the others
    are queued due, for whoever claims them."""
    # One command for both kinds of outbox, each found on its flag's index by a `$lookup`
    # (MongoDB 5.1; the embedded server reads a `$unionWith`'s whole collection).
    row = next(Application._get_db().aggregate([{"$documents": [{"pending": True}]}, *[
        {"$lookup": {"from": holder._get_collection().name, "localField": "pending",
                     "foreignField": "outbox_pending", "as": holder.__name__,
                     "pipeline": [{"$limit": limit}, {"$project": {"outbox": 1}}]}}
        for holder in OUTBOX_HOLDERS]]))
    found = [(document["_id"], document) for document in row[Application.__name__]] + [
        (OutboxKey(Conversation._get_collection().name, document["_id"]), document)
        for document in row[Conversation.__name__]]
    outboxes = []
    for key, app in found:
        outbox = app.get("outbox") or []
        intents = [i for i in outbox if isinstance(i, Mapping) and i.get("id")]
        fresh = [i for i in intents if i["id"] not in relayed]
        if not fresh and len(intents) == len(outbox) and intents:
            continue
        if len(intents) < len(outbox):
            # Nothing can be done with an intent without an id but keep it from blocking the rest.
            log.error("outbox %s: %d entries without an id dropped", key,
                      len(outbox) - len(intents))
        outboxes.append((key, fresh))
    if not outboxes:
        return Batch()
    batch = store_many(outboxes, lease=lease,
                       leased_channels=leased_channels)
    batch.outboxes = outboxes
    return batch


def take_out(*batches: Batch) -> None:
    """Take the relayed intents out of their outboxes and lower the flags where nothing is left;
    several batches (a worker's rounds) cost the commands of one. The workflow appends an intent
    and raises the flag in one update, so an intent that arrived meanwhile stays, flag up."""
    _count(*batches)
    done: dict[Any, list] = {}
    for batch in batches:
        for key, intents in batch.outboxes:
            if key in batch.relayed:
                done.setdefault(key, []).extend(i["id"] for i in intents)
    for conversations in {isinstance(key, OutboxKey) for key in done}:
        (Conversation if conversations else Application)._get_collection().bulk_write(
            [_pull(_document_id(key), ids) for key, ids in done.items()
             if isinstance(key, OutboxKey) == conversations], ordered=False)


def _pull(app_id, ids: list) -> UpdateOne:
    """Take these intents (and entries without an id) out of the outbox, and lower the flag if
    nothing is left, in one update. Matched by its `_id` alone: beside another field the server
    weighs every index of the collection before it finds the document."""
    keep = {"$and": [{"$ne": [{"$ifNull": ["$$this.id", None]}, None]},
                     {"$not": [{"$in": ["$$this.id", ids]}]}]}
    return UpdateOne({"_id": app_id}, [
        {"$set": {"outbox": {"$filter": {"input": {"$ifNull": ["$outbox", []]},
                                         "cond": keep}}}},
        {"$set": {"outbox_pending": {"$gt": [{"$size": "$outbox"}, 0]}}},
    ])


def store(intent: Mapping, *, application_id: str | None = None) -> Notification | None:
    """Store one intent as a notification (once, whatever the replays) and queue its deliveries."""
    _count(store_many([(application_id, [intent])]))
    found = Notification._get_collection().find_one({"_id": str(intent.get("id"))})
    return Notification._from_son(found) if found else None


def store_many(outboxes: list[tuple[Any, list[Mapping]]],
               lease: tuple[str, datetime] | None = None,
               leased_channels: Container[str] | None = None) -> Batch:
    """Store the intents of several outboxes ((key, intents) pairs: an application's id or an
    OutboxKey) as notifications and queue their deliveries. The batch names the keys whose
    intents are now stored (or dropped for good: unknown type, no recipient); an outbox one of
    whose intents cannot be worded stays for a later round, without holding up the others."""
    now = utcnow()
    every = [intent for _, intents in outboxes for intent in intents]
    recipients = {str(i.get("recipient") or "") for i in every} - {""}
    batch = Batch()
    known = _look_up(recipients, batch)
    staff = {r for r, user in batch.users.items() if user.get("role") in STAFF_ROLE_NAMES}
    templates.names.prefetch(every)

    documents: list[dict] = []
    seen: set[str] = set()
    for app_id, intents in outboxes:
        try:
            prepared = [_document(intent, app_id, staff, now) for intent in intents]
        except Exception:  # one bad intent must not hold up every other application
            log.exception("outbox %s not relayed", app_id)
            continue
        batch.relayed.add(app_id)
        for document in prepared:
            if document is not None and document["_id"] not in seen:
                seen.add(document["_id"])
                documents.append(document)
    batch.numbered = _insert_numbered(documents, known["sequences"])
    batch.notifications = {d["_id"]: d for d in documents if d["_id"] in batch.numbered}
    # The workflow's alerts to departments live in the staff's inbox only.
    citizens = [d for d in documents if d["recipient"] not in staff]
    batch.preferences = {d["recipient"]: known["preferences"].get(d["recipient"])
                         for d in citizens}
    batch.leased = queue_deliveries(citizens, batch.preferences, now, lease=lease,
                                     fresh=set(batch.notifications),
                                     leased_channels=leased_channels,
                                     partners=known["partners"], due=batch.due_channels)
    return batch


def _look_up(recipients: set[str], batch: Batch) -> dict:
    """In one command, what relaying and pushing to these recipients reads: their accounts
    (into the batch), inbox counters, preferences and devices, the partners' subscriptions and
    the push channel's pause. Six reads were six round trips a round on a database every request
    also waits for.

    Each is a `$lookup` on the key its index leads with: the embedded server reads a
    `$unionWith`'s whole collection whatever its `$match`, so every round read every device,
    preference and counter ever stored.

    Kept apart from relay_batch's read on purpose: joined to it, with the recipients worked out
    in the pipeline ($reduce, $convert), the one aggregate cost the embedded server more CPU
    than the two (4.9 against 3.7 ms a round; an idle round 3.6 against 1.6): a command's own
    cost there is about 0.2 ms, less than the `$set` stages and the copies of the outboxes that
    each later `$lookup` makes."""
    known: dict = {"sequences": {}, "preferences": {}, "partners": []}
    batch.looked_up = True
    if not recipients:
        return known
    names = sorted(recipients)

    def joined(document, field: str, local: str = "names", **options) -> dict:
        return {"$lookup": {"from": document._get_collection().name, "localField": local,
                            "foreignField": field, "as": document.__name__, **options}}

    row = next(User._get_db().aggregate([
        # No `_id` is null: [None] matches no account (an empty array matches like null).
        {"$documents": [{"ids": [ObjectId(r) for r in names if ObjectId.is_valid(r)] or [None],
                         "names": names, "push": Channel.PUSH.value}]},
        joined(User, "_id", "ids", pipeline=[{"$project": {"role": 1, "locale": 1}}]),
        joined(NotificationSequence, "_id"),
        joined(NotificationPreferences, "user"),
        joined(Device, "user"),
        # A handful of partners, read whole; the pause by its id (the channel's name).
        {"$lookup": {"from": Partner._get_collection().name, "as": Partner.__name__, "pipeline": [
            {"$match": PARTNERS_WITH_WEBHOOKS}, {"$project": {"events": 1}}]}},
        joined(ChannelPause, "_id", "push"),
    ]))
    batch.users.update({str(user["_id"]): user for user in row[User.__name__]})
    known["sequences"] = {s["_id"]: s["seq"] for s in row[NotificationSequence.__name__]}
    known["preferences"] = {p["user"]: p for p in row[NotificationPreferences.__name__]}
    for device in sorted(row[Device.__name__], reverse=True, key=lambda d: d["last_seen_at"]
                         .timestamp() if d.get("last_seen_at") else 0.0):
        batch.devices.setdefault(device["user"], []).append(device)
    known["partners"] = sorted((str(p["_id"]), list(p.get("events") or []))
                               for p in row[Partner.__name__])
    batch.push_pause = next((p.get("until") for p in row[ChannelPause.__name__]), None)
    return known


def _document(intent: Mapping, application_id, staff: set[str], now: datetime) -> dict | None:
    try:
        kind = NotificationType(intent.get("type"))
    except ValueError:
        log.warning("intent %s has an unknown type %r; dropped", intent.get("id"),
                    intent.get("type"))
        return None
    recipient = str(intent.get("recipient") or "")
    if not recipient:
        log.warning("intent %s has no recipient; dropped", intent.get("id"))
        return None
    rendered = templates.render(intent, audience="staff" if recipient in staff else "citizen")
    return {
        "_id": str(intent["id"]), "recipient": recipient, "type": kind.value,
        "application": _str(intent.get("application") or (
            None if isinstance(application_id, OutboxKey) else application_id)),
        "bundle": _str(intent.get("bundle")), "task": _str(intent.get("task")),
        "matter": _str(intent.get("matter")), "department": _str(intent.get("department")),
        "data": _clean_data(intent.get("data")), "at": _moment(intent.get("at")) or now,
        "created_at": now, "read_at": None, **rendered,
    }


def _insert_numbered(documents: list[dict], counted: Mapping[str, int]) -> dict[str, int]:
    """Insert each notification with its recipient's next number, except those already stored;
    returns {id: number} of those inserted now (`_count` records the highest numbers).

    The unique (recipient, seq) index makes the numbers follow the order in which notifications
    become visible, whichever process relays them: a stream that has shown n has shown all < n.
    The insert is ordered, so a conflict stops it there and nothing after it is stored out of
    turn; the conflict is either an intent already stored (a replay, or another relay was first)
    or a number taken (another relay numbered the same recipient, or the counter is behind).
    """
    if not documents:
        return {}
    collection = Notification._get_collection()
    recipients = sorted({d["recipient"] for d in documents})
    last = {r: max(counted.get(r, 0), recent_numbers.get(r)) for r in recipients}
    inserted: dict[str, int] = {}
    pending, attempts = documents, 0
    while pending:
        attempts += 1
        if attempts > SEQ_RETRIES:
            raise RuntimeError(f"could not number {len(pending)} notifications")
        following = dict(last)
        for document in pending:
            following[document["recipient"]] = document["seq"] = \
                following.get(document["recipient"], 0) + 1
        try:
            collection.insert_many(pending, ordered=True)
            done, pending = pending, []
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors") or []
            if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            position = min(e["index"] for e in errors)
            done, pending = pending[:position], pending[position:]
        for document in done:
            last[document["recipient"]] = inserted[document["_id"]] = document["seq"]
            recent_numbers.given(document["recipient"], document["seq"])
        if not pending:
            break
        known = {row["_id"] for row in collection.find(
            {"_id": {"$in": [d["_id"] for d in pending]}}, {"_id": 1})}
        blocked = pending[0]["_id"] not in known
        pending = [d for d in pending if d["_id"] not in known]
        if blocked and pending:
            last.update(_latest_numbers({d["recipient"] for d in pending}, last))
    return inserted


def _count(*batches: Batch) -> None:
    """Raise the recipients' counters to the numbers just given. Done after the notifications are
    stored (and, in a worker, after their pushes went out): a counter that stayed behind, its
    relay having died, costs the next relay one retry, never a wrong number."""
    highest: dict[str, int] = {}
    for batch in batches:
        for notification_id, seq in batch.numbered.items():
            recipient = batch.notifications[notification_id]["recipient"]
            highest[recipient] = max(seq, highest.get(recipient, 0))
        batch.numbered = {}
    if not highest:
        return
    try:
        NotificationSequence._get_collection().bulk_write(
            [UpdateOne({"_id": r}, {"$max": {"seq": seq}}, upsert=True)
             for r, seq in highest.items()], ordered=False)
    except BulkWriteError:  # two relays created one counter at once: it is only a hint
        log.info("notification counters raced; the next relay corrects them")


def _latest_numbers(recipients: set[str], known: dict[str, int]) -> dict[str, int]:
    """The highest number each recipient's inbox really holds (the counters may be behind)."""
    found = {row["_id"]: row["seq"] for row in Notification._get_collection().aggregate([
        {"$match": {"recipient": {"$in": sorted(recipients)}}},
        {"$group": {"_id": "$recipient", "seq": {"$max": "$seq"}}}])}
    return {r: max(known.get(r, 0), found.get(r) or 0) for r in recipients}


def _clean_data(data) -> dict:
    """The intent's details as given (the workflow keeps personal data out of them), minus
    anything a database key cannot hold."""
    if not isinstance(data, Mapping):
        return {}
    return {str(k): v for k, v in data.items() if not str(k).startswith("$") and "." not in str(k)
            and str(k) not in PRIVATE_DATA}


def _str(value) -> str | None:
    return None if value is None else str(value)


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None
