"""Where the catalogue stands: a revision counter every change bumps, cached per process."""
import threading
import time
import uuid
from datetime import UTC, datetime

import pymongo.errors
from flask import current_app, has_app_context

from models.catalogue import CatalogueState

# ---------------------------------------------------------------------------------------------
# The catalogue revision: one counter every write bumps, so each process knows when its
# in-memory search index is stale (no in-process state another process would not see).

# How many recent revision stamps the state keeps: an index or cache made at one of them may
# catch up; one made at a stamp the database does not know (restored, reloaded) starts over.
STAMPS_KEPT = 64


def bump_revision(*, reset: bool = False) -> int:
    """Record that the catalogue changed; returns the new revision.

    `reset`: matters were removed wholesale (not retired), so indexes must be rebuilt whole.
    """
    now = datetime.now(UTC)
    stamp = uuid.uuid4().hex
    update: dict = {"$inc": {"revision": 1}, "$set": {"updated_at": now, "stamp": stamp},
                    "$push": {"stamps": {"$each": [stamp], "$slice": -STAMPS_KEPT}}}
    if reset:
        update["$inc"]["reset"] = 1
        update["$set"]["reset_at"] = now
    # The one findAndModify left on purpose: the collection holds this one document, so the
    # embedded server's scan of it (models/indexed_writes.py) is a scan of one, and the
    # revision answered is exactly the one this write made.
    state = CatalogueState._get_collection().find_one_and_update(
        {"_id": "catalogue"}, update, upsert=True, return_document=pymongo.ReturnDocument.AFTER)
    _remember_state(state, force=True)  # this process sees its own change at once
    return int(state["revision"])


# Every request that compiles a bundle asks where the catalogue stands; each process reuses the
# answer for CATALOGUE_STATE_TTL seconds (another process's change shows within that time).
_state_lock = threading.Lock()
_state_cache: dict = {"key": None, "at": 0.0, "state": None}


def _state_ttl() -> float:
    return float(current_app.config.get("CATALOGUE_STATE_TTL", 0)) if has_app_context() else 0.0


def _remember_state(state: dict, *, force: bool = False) -> None:
    key = CatalogueState._get_db().name
    with _state_lock:
        cached = _state_cache["state"]
        # Threads may answer out of order: never go back to an older revision while fresh.
        older = (not force and cached is not None and _state_cache["key"] == key
                 and int(state.get("revision", 0)) < int(cached.get("revision", 0))
                 and time.monotonic() - _state_cache["at"] < _state_ttl())
        if not older:
            _state_cache.update(key=key, at=time.monotonic(), state=state)


def current_state() -> dict:
    """{"stamp", "stamps", "revision", "reset", "reset_at"}: where the catalogue stands."""
    ttl = _state_ttl()
    if ttl > 0:
        with _state_lock:
            if (_state_cache["state"] is not None
                    and _state_cache["key"] == CatalogueState._get_db().name
                    and time.monotonic() - _state_cache["at"] < ttl):
                return _state_cache["state"]
    state = CatalogueState._get_collection().find_one({"_id": "catalogue"}) or {}
    _remember_state(state)
    return state


def forget_state() -> None:
    """Read the catalogue's state afresh next time (after writing it behind the services)."""
    with _state_lock:
        _state_cache.update(key=None, at=0.0, state=None)


def current_revision() -> int:
    return int(current_state().get("revision", 0))
