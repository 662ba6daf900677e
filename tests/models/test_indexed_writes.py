"""A guarded update in pipeline form writes what the classic update would where its condition
holds, and nothing at all where it does not."""
from datetime import UTC, datetime

import pytest

from models import indexed_writes
from models.connection import database

STORED = {"_id": 1, "version": 3, "status": "open", "open_key": "k", "events": ["a"],
          "follow_ups": ["rate"], "form": {"name": "Li", "address": {"city": "Hangzhou"}},
          "tasks": [{"id": "t1", "status": "pending"}, {"id": "t2", "status": "pending"}]}
AT = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
UPDATE = {
    "$set": {"tasks.$[a].status": "claimed", "tasks.$[a].claimed_by": "$officer",
             "tasks.$[b].note": None, "form.address.district": "Xihu", "status": "done",
             "updated_at": AT},
    "$unset": {"open_key": ""},
    "$inc": {"version": 1},
    "$push": {"events": "b", "outbox": {"$each": [{"id": "i1"}]}},
    "$addToSet": {"follow_ups": {"$each": ["rate", "figures"]}},
}
FILTERS = [{"a.id": "t1"}, {"b.id": "t2"}]


@pytest.fixture
def collection():
    collection = database()["guarded_writes"]
    collection.delete_many({})
    collection.insert_one(dict(STORED))
    return collection


def guarded(version: int) -> list[dict]:
    return indexed_writes.guarded(UPDATE, {"$eq": ["$version", version]}, array_filters=FILTERS)


def test_where_the_condition_holds_it_writes_what_the_classic_update_writes(collection):
    classic = database()["guarded_writes_classic"]
    classic.delete_many({})
    classic.insert_one(dict(STORED))
    classic.update_one({"_id": 1}, UPDATE, array_filters=FILTERS)

    written = collection.update_one({"_id": 1}, guarded(3))

    assert written.modified_count == 1
    assert collection.find_one({"_id": 1}) == classic.find_one({"_id": 1})
    # The values are written as given, never read as expressions ("$officer" is not a path).
    assert collection.find_one({"_id": 1})["tasks"][0]["claimed_by"] == "$officer"


def test_where_it_does_not_hold_nothing_changes_and_nothing_is_reported_modified(collection):
    written = collection.update_one({"_id": 1}, guarded(2))

    assert written.matched_count == 1 and written.modified_count == 0
    # Not even the fields it would have added: they stay absent, not null.
    assert collection.find_one({"_id": 1}) == STORED


def test_an_update_it_cannot_express_is_refused_before_it_is_sent():
    with pytest.raises(ValueError):
        indexed_writes.guarded({"$pull": {"events": "a"}}, {"$eq": ["$version", 3]})
    with pytest.raises(ValueError):
        indexed_writes.guarded({"$set": {"tasks.$[x].status": "done"}}, {"$eq": [1, 1]})
