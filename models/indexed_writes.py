"""Conditional writes that hand back a document without findAndModify.

The embedded server (SecantusDB 0.7.0b3, pinned; no newer release) runs every findAndModify
(`find_one_and_*`, mongoengine's `modify()`) as a find, then a write filtered by
`{_id: <found>, $and: [<query>]}`, and it cannot plan a filter with a top-level `$and`: that
write scans the whole collection under the collection's write lock. Each one cost more with
every document ever stored (300 ms at 4,000 small documents, where update_one by `_id` took
4-8 ms) and queued every other write behind it. `update_one` / `delete_one` with the same
filter are planned on an index, so the product writes with those and gets the document another
way: from what the request already read, from what it wrote, or read back by a unique key.
"""
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import bson
from mongoengine import Document
from pymongo.collection import Collection


def as_stored(collection: Collection, document: Mapping) -> dict:
    """A document the caller composed, as the server keeps it and a read would return it
    (times to the millisecond), for answers computed from what was read and written."""
    return bson.decode(bson.encode(document), codec_options=collection.codec_options)


def update_and_read(collection: Collection, query: Mapping, update: Mapping, *,
                    key: Mapping | None = None, projection: Mapping | None = None,
                    array_filters: list | None = None, upsert: bool = False) -> dict | None:
    """`find_one_and_update(..., return_document=AFTER)` in two indexed commands: the
    conditional write, then the document read back by `key` (a unique key it still has after
    the write; by default the query's `_id`), or by the `_id` an upsert gave it. None when the
    write matched nothing. A write landing between the two may show in the answer, as it would
    a moment later."""
    written = collection.update_one(query, update, upsert=upsert, array_filters=array_filters)
    if written.upserted_id is not None:
        key = {"_id": written.upserted_id}
    elif not written.matched_count:
        return None
    return collection.find_one(key if key is not None else {"_id": query["_id"]}, projection)


def take_one(collection: Collection, query: Mapping, update: Mapping | None = None, *,
             projection: Mapping | None = None, attempts: int = 20) -> dict | None:
    """`find_one_and_update(..., return_document=BEFORE)` (or `find_one_and_delete` without an
    update): the document matching `query` as it was, changed (or deleted) by a write
    conditional on it still matching. Another writer taking it first makes that write match
    nothing: look again, so exactly one caller gets each document. None when none matches."""
    for _ in range(attempts):
        found = collection.find_one(query, projection)
        if found is None:
            return None
        still = {**query, "_id": found["_id"]}
        if update is None:
            if collection.delete_one(still).deleted_count:
                return found
        elif collection.update_one(still, update).matched_count:
            return found
    return None


def as_stored_time(moment: datetime) -> datetime:
    """A time as the server keeps it and reads it back (to the millisecond): a request's own
    timestamp recognises its own write when a retry meets it."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def set_fields(document: Document, **changes) -> None:
    """`document.modify(**changes)` by update_one on its `_id`: the fields are written and set
    on the object the caller holds (other writers' changes since it was read are not)."""
    type(document).objects(pk=document.pk).update_one(
        **{f"set__{name}": value for name, value in changes.items()})
    set_as_stored(document, changes)


def set_as_stored(document: Document, changes: Mapping) -> None:
    """Set written fields on the object held, times to the millisecond as stored."""
    for name, value in changes.items():
        if isinstance(value, datetime):
            value = value.replace(microsecond=value.microsecond // 1000 * 1000)
        setattr(document, name, value)


def guarded(update: Mapping, condition: Mapping, *,
            array_filters: list[Mapping] | None = None) -> list[dict]:
    """The classic `update` as a one-stage pipeline that changes the document only where the
    aggregation expression `condition` holds on it as stored; elsewhere every field keeps its
    value and the write reports nothing modified. Send it matched by `_id` alone.

    Why: with any field beside `_id` in its filter (a version, a task's status) the embedded
    server weighs every index of the collection before it finds the one document; a newborn
    application's claim guarded so cost 7.7 ms of the server's CPU, the same write with its
    guard in the pipeline 5.8 (`scripts/index_cost.py --guard`).

    What it takes: `$set` (dotted paths into embedded documents, and `<array>.$[<name>].<field>`
    with an equality filter on one field of the element: each element takes the first filter
    it matches), `$unset` of top-level fields, `$inc`, and `$push` / `$addToSet` (one value or
    `$each`).
    Values are written as given (`$literal`), never read as expressions."""
    filters = {}
    for spec in array_filters or []:
        [(path, value)] = spec.items()
        name, key = path.split(".", 1)
        filters[name] = (key, value)
    changes: dict[str, Any] = {}
    for operator, fields in update.items():
        for path, value in fields.items():
            if operator == "$set":
                _place(changes, path.split("."), _Expression({"$literal": value}), filters)
            elif operator == "$unset" and "." not in path:
                changes[path] = _Expression("$$REMOVE")
            elif operator == "$inc" and "." not in path:
                changes[path] = _Expression({"$add": [{"$ifNull": [f"${path}", 0]}, value]})
            elif operator in ("$push", "$addToSet") and "." not in path:
                have = {"$ifNull": [f"${path}", []]}
                each = value["$each"] if isinstance(value, Mapping) and "$each" in value else [
                    value]
                added: Any = {"$literal": list(each)}
                if operator == "$addToSet":
                    added = {"$filter": {"input": added,
                                         "cond": {"$not": [{"$in": ["$$this", have]}]}}}
                changes[path] = _Expression({"$concatArrays": [have, added]})
            else:
                raise ValueError(f"guarded() cannot write {operator} {path}")
    return [{"$set": {name: {"$cond": [condition, _expression(change, f"${name}"), f"${name}"]}
                      for name, change in changes.items()}}]


class _Expression:
    """A field's new value, whole (a nested dict in the changes is a document written in
    parts)."""

    def __init__(self, expression):
        self.expression = expression


class _Elements:
    """Changes to an array's elements, by the filter ((field, value)) that picks them."""

    def __init__(self):
        self.by_filter: dict[tuple[str, Any], dict] = {}


def _place(changes: dict, path: list[str], value: _Expression, filters: Mapping) -> None:
    head, *rest = path
    if not rest:
        changes[head] = value
        return
    if rest[0].startswith("$[") and rest[0].endswith("]"):
        name = rest[0][2:-1]
        if name not in filters:
            raise ValueError(f"guarded(): no array filter named {name}")
        elements = changes.setdefault(head, _Elements())
        _place(elements.by_filter.setdefault(filters[name], {}), rest[1:], value, filters)
        return
    nested = changes.setdefault(head, {})
    if not isinstance(nested, dict):
        raise ValueError(f"guarded(): {head} is written whole and in parts")
    _place(nested, rest, value, filters)


def _expression(change, current: str):
    """The new value of the field at `current` (an expression path: "$form", "$$this.x")."""
    if isinstance(change, _Expression):
        return change.expression
    if isinstance(change, _Elements):
        branches = [{"case": {"$eq": [f"$$this.{key}", {"$literal": value}]},
                     "then": _expression(fields, "$$this")}
                    for (key, value), fields in change.by_filter.items()]
        return {"$map": {"input": {"$ifNull": [current, []]},
                         "in": {"$switch": {"branches": branches, "default": "$$this"}}}}
    return {"$mergeObjects": [{"$ifNull": [current, {}]},
                              {name: _expression(sub, f"{current}.{name}")
                               for name, sub in change.items()}]}
