"""Connecting mongoengine to the database and creating every index at start."""
import importlib
import pkgutil

import mongoengine as me
from mongoengine.base import _document_registry


def connect(uri: str, db: str, timeout_ms: int = 3000, listeners: list | None = None) -> None:
    me.disconnect()
    me.connect(host=uri, db=db, tz_aware=True, uuidRepresentation="standard",
               serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, connect=False,
               event_listeners=listeners or [])


def database():
    return me.get_db()


def load_all_models() -> None:
    """Import every module of models/ so each document is registered."""
    import models

    for module in pkgutil.iter_modules(models.__path__):
        importlib.import_module(f"models.{module.name}")


def ensure_indexes() -> None:
    """Create the indexes every concrete document declares (idempotent)."""
    load_all_models()
    for document in list(_document_registry.values()):
        if issubclass(document, me.Document) and not document._meta.get("abstract"):
            document.ensure_indexes()
