"""Stored snapshots of the catalogue's search index: written by a process that built one, loaded
by the next one that starts, so it need not read every matter (see search_index).

A snapshot is the index's own encoding of its columns (plain strings and numbers, never pickle:
nothing read from the database is executed), compressed, in parts under the database's document
limit, and a pointer saying which snapshot is current, at which catalogue stamp. A reader takes
it only when the catalogue still lists that stamp in its recent history; it then reads the
matters changed since on top.
"""
import logging
import uuid
import zlib
from datetime import UTC, datetime, timedelta

from bson.binary import Binary

from models.catalogue import CatalogueIndexPart, CatalogueIndexSnapshot

log = logging.getLogger(__name__)

PART_BYTES = 4 * 1024 * 1024
# Parts of a superseded snapshot stay this long: a process may be reading them right now.
KEEP_SUPERSEDED = timedelta(minutes=10)


def save(data: bytes, *, stamp: str, revision: int, reset: int,
         synced_from: datetime | None) -> str:
    """Store a snapshot and make it the current one; returns its id."""
    raw = zlib.compress(data, 1)
    snapshot = uuid.uuid4().hex
    now = datetime.now(UTC)
    parts = [raw[at:at + PART_BYTES] for at in range(0, len(raw), PART_BYTES)] or [b""]
    collection = CatalogueIndexPart._get_collection()
    for number, chunk in enumerate(parts):  # one at a time: each is megabytes
        collection.insert_one({"snapshot": snapshot, "part": number, "data": Binary(chunk),
                               "created_at": now})
    CatalogueIndexSnapshot._get_collection().replace_one(
        {"_id": "current"},
        {"snapshot": snapshot, "parts": len(parts), "stamp": stamp, "revision": revision,
         "reset": reset, "synced_from": synced_from, "size": len(raw), "created_at": now},
        upsert=True)
    collection.delete_many({"snapshot": {"$ne": snapshot},
                            "created_at": {"$lt": now - KEEP_SUPERSEDED}})
    log.info("catalogue index snapshot stored at revision %s (%d bytes)", revision, len(raw))
    return snapshot


def load(*, stamps, reset: int) -> tuple[dict, bytes] | None:
    """(pointer, data) of the current snapshot if it was made at one of `stamps` (the
    catalogue's recent history) after the same reset; None otherwise."""
    pointer = CatalogueIndexSnapshot._get_collection().find_one({"_id": "current"})
    if pointer is None or pointer.get("stamp") not in stamps or pointer.get("reset") != reset:
        return None
    parts = list(CatalogueIndexPart._get_collection().find(
        {"snapshot": pointer["snapshot"]}, {"part": 1, "data": 1}).sort("part", 1))
    if [p["part"] for p in parts] != list(range(pointer["parts"])):
        return None  # superseded and cleared meanwhile: build instead
    try:
        data = zlib.decompress(b"".join(bytes(p["data"]) for p in parts))
    except zlib.error:
        log.warning("the stored catalogue index snapshot cannot be read; building instead")
        return None
    return pointer, data
