"""Taking access back at once: signing out, signing out everywhere, an account disabled, a
password changed or a stolen refresh token refuse the access tokens concerned from the next
request, not only when they expire.

Every process keeps the live revocations (those younger than an access token's lifetime: a
handful) in memory, refreshed every REVOCATION_REFRESH_SECONDS by a thread of its own, so a
request pays no database round trip; a revocation made in this process counts here at once.
"""
import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app

from models.revocation import Revocation

log = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict = {"subjects": {}, "sessions": set(), "db": None, "thread": None}


def now_ms() -> int:
    return int(time.time() * 1000)


def _expiry() -> datetime:
    # A revoked token dies by itself after its lifetime; the record need not outlive it.
    ttl = max(current_app.config["ACCESS_TOKEN_TTL"], current_app.config["PARTNER_TOKEN_TTL"])
    return datetime.now(UTC) + timedelta(seconds=int(ttl) + 60)


def revoke_subject(subject_id: str) -> None:
    """Refuse every access token of this user or partner issued until now."""
    at = now_ms()
    Revocation._get_collection().update_one(
        {"kind": "subject", "key": str(subject_id)},
        {"$max": {"not_before_ms": at}, "$set": {"expires_at": _expiry()}}, upsert=True)
    with _lock:
        subjects = _state["subjects"]
        subjects[str(subject_id)] = max(subjects.get(str(subject_id), 0), at)


def revoke_session(session_id: str) -> None:
    """Refuse every access token issued to one session (refresh-token family)."""
    Revocation._get_collection().update_one(
        {"kind": "session", "key": str(session_id)}, {"$set": {"expires_at": _expiry()}},
        upsert=True)
    with _lock:
        _state["sessions"].add(str(session_id))


def _load() -> None:
    subjects, sessions = {}, set()
    for row in Revocation._get_collection().find({}, {"kind": 1, "key": 1, "not_before_ms": 1}):
        if row["kind"] == "subject":
            subjects[row["key"]] = int(row.get("not_before_ms") or 0)
        else:
            sessions.add(row["key"])
    with _lock:
        _state.update(subjects=subjects, sessions=sessions, db=Revocation._get_db().name)


def _refresh_forever(app: Flask) -> None:
    while True:
        time.sleep(float(app.config["REVOCATION_REFRESH_SECONDS"]))
        try:
            with app.app_context():
                _load()
        except Exception:  # the database is away: keep what we know, try again
            log.info("could not refresh the revoked tokens; keeping what is known")


def _ensure_loaded() -> None:
    with _lock:
        ready = _state["db"] == Revocation._get_db().name
        started = _state["thread"] is not None and _state["thread"].is_alive()
    if not ready:
        _load()
    if not started:
        app = current_app._get_current_object()
        thread = threading.Thread(target=_refresh_forever, args=(app,), daemon=True,
                                  name="token-revocations")
        with _lock:
            if _state["thread"] is None or not _state["thread"].is_alive():
                _state["thread"] = thread
                thread.start()


def is_revoked(*, subject_id: str, session_id: str | None, issued_ms: int) -> bool:
    """Whether an access token with these claims was taken back."""
    _ensure_loaded()
    with _lock:
        if session_id and session_id in _state["sessions"]:
            return True
        return issued_ms <= _state["subjects"].get(subject_id, -1)


def forget() -> None:
    """Read the revocations afresh on the next check (tests start from an empty database)."""
    with _lock:
        _state.update(subjects={}, sessions=set(), db=None)
