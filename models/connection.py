"""Connecting mongoengine to the database and creating every index at start."""
import importlib
import logging
import pkgutil

import mongoengine as me
import pymongo
from mongoengine.base import _document_registry
from pymongo.errors import OperationFailure

import models

log = logging.getLogger(__name__)


# With `durable`, a write is acknowledged once a majority of the replica set has it (it survives
# a failover), waiting at most this long for them.
MAJORITY_TIMEOUT_MS = 10_000
# buildInfo's field naming the embedded server's own version (SecantusDB).
EMBEDDED_SERVER_MARK = "secantusVersion"


def client_options(*, durable: bool = False, retries: bool = True) -> dict:
    """Write concern and retries: majority and retryable writes for production's replica set.

    The embedded server does not deduplicate a retried write (a retried insert meets its own
    first attempt, a retried conditional update matches nothing), keeps a record of every
    retryable write that each later one scans (up to 10,000: about 1.6 ms of its CPU per write
    at 5,000), and every retry waited for the server again: a 503 during an outage took about
    twice the timeout. So the driver does not retry there (`retries`, from
    `retries_deduplicated`); a replica set deduplicates, and retries.
    """
    options = {"w": "majority", "wTimeoutMS": MAJORITY_TIMEOUT_MS} if durable else {}
    retry = durable and retries
    return {**options, "retryWrites": retry, "retryReads": retry}


def retries_deduplicated(uri: str, timeout_ms: int) -> bool:
    """Whether the server at `uri` deduplicates retried writes: every MongoDB server does, the
    embedded one (which names its own version in buildInfo) does not."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms,
                                 connectTimeoutMS=timeout_ms, retryReads=False)
    try:
        return EMBEDDED_SERVER_MARK not in client.admin.command("buildInfo")
    finally:
        client.close()


def connect(uri: str, db: str, timeout_ms: int = 3000, listeners: list | None = None, *,
            durable: bool = False, retries: bool = True) -> None:
    me.disconnect()
    # journal=True: a write is acknowledged once it is in the server's journal, so an answered
    # 201 survives the database being killed right after.
    me.connect(host=uri, db=db, tz_aware=True, uuidRepresentation="standard", journal=True,
               serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, connect=False,
               event_listeners=listeners or [],
               **client_options(durable=durable, retries=retries))


def database():
    return me.get_db()


def load_all_models() -> None:
    """Import every module of models/ so each document is registered."""

    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"models.{module.name}")


# An index of the same name exists with other keys or options: the code changed its definition.
INDEX_CONFLICTS = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict
INDEX_NOT_FOUND = 27


def ensure_indexes() -> None:
    """Create the indexes every concrete document declares (idempotent).

    The code is the truth: an index whose definition changed since it was built is rebuilt, so a
    database made by an older version starts instead of refusing.
    """
    load_all_models()
    for document in list(_document_registry.values()):
        if issubclass(document, me.Document) and not document._meta.get("abstract"):
            _drop_retired_indexes(document)  # first: a retired one may hold a new one's keys
            try:
                document.ensure_indexes()
            except OperationFailure as exc:
                if exc.code not in INDEX_CONFLICTS:
                    raise
                _rebuild_changed_indexes(document)


def _drop_retired_indexes(document) -> None:
    """Drop the indexes a document retired (`meta["retired_indexes"]`): each costs every write
    its keys, and a database made by an older version still has them."""
    retired = document._meta.get("retired_indexes") or []
    if not retired:
        return
    collection = document._get_collection()
    for name in set(retired) & set(collection.index_information()):
        log.warning("dropping index %s.%s: no query uses it any more", collection.name, name)
        try:
            collection.drop_index(name)
        except OperationFailure as exc:
            if exc.code != INDEX_NOT_FOUND:  # another process dropped it first
                raise


def _rebuild_changed_indexes(document) -> None:
    collection = document._get_collection()
    for spec in document._meta["index_specs"]:
        keys = spec["fields"]
        # Exactly as mongoengine's ensure_indexes asks, `background` first: the embedded server
        # compares the options, in order, so an index rebuilt otherwise conflicts with every
        # later ensure_indexes, in any process.
        options = {"background": document._meta.get("index_background", False),
                   **{k: v for k, v in spec.items() if k not in ("fields", "cls")}}
        try:
            collection.create_index(keys, **options)
        except OperationFailure as exc:
            if exc.code not in INDEX_CONFLICTS:
                raise
            name = options.get("name") or "_".join(f"{field}_{order}" for field, order in keys)
            log.warning("rebuilding index %s.%s: its definition changed",
                        collection.name, name)
            collection.drop_index(name)
            collection.create_index(keys, **options)
