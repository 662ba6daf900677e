"""Rate limits counted in the database through the `limits` library's MongoDB storage (the one
flask-limiter uses), so every process and worker counts into the same windows."""
import threading
import time
from datetime import UTC, datetime, timedelta

from flask import current_app
from limits import RateLimitItemPerSecond
from limits.storage import MongoDBStorage
from limits.strategies import MovingWindowRateLimiter
from pymongo.errors import DuplicateKeyError

from common import db_metrics

# A moving window: its entries are timestamps written by us, so it needs nothing of the server's
# clock ($$NOW), which the embedded database does not compare correctly.
_lock = threading.Lock()
_limiters: dict[tuple[str, str], MovingWindowRateLimiter] = {}


def storage_options(config) -> dict:
    """How the limits' own client reaches the database: the app's database and timeouts, and its
    commands counted like every other (X-DB-Commands)."""
    timeout = int(config["MONGODB_TIMEOUT_MS"])
    options = {"database_name": config["MONGODB_DB"], "serverSelectionTimeoutMS": timeout,
               "connectTimeoutMS": timeout}
    if not config.get("DATABASE_RETRIES"):
        # The embedded server deduplicates no retried write: a retry would count twice (and
        # wait for the server twice), as models.connection.client_options says.
        options.update(retryWrites=False, retryReads=False)
    if config["DB_COMMAND_COUNTING"]:
        options["event_listeners"] = [db_metrics.CommandCounter()]
    return options


def _limiter() -> MovingWindowRateLimiter:
    config = current_app.config
    key = (config["MONGODB_URI"], config["MONGODB_DB"])
    with _lock:
        if key not in _limiters:
            storage = MongoDBStorage(config["MONGODB_URI"], **storage_options(config))
            _limiters[key] = MovingWindowRateLimiter(storage)
        return _limiters[key]


def take(key: str, *, limit: int, window: int) -> int:
    """Count one hit against at most `limit` in any `window` seconds; 0 if allowed, else the
    seconds until the oldest counted hit leaves the window."""
    item = RateLimitItemPerSecond(int(limit), int(window))
    limiter = _limiter()
    if limiter.hit(item, key):
        return 0
    reset_at = limiter.get_window_stats(item, key).reset_time
    return max(1, int(reset_at - time.time()) + 1)


def take_all(key: str, windows: list[tuple[int, int]]) -> int:
    """Count one hit against several limits of one key at once, (limit, window seconds) each:
    one conditional write for all of them, where `take` spends one per limit. 0 if every limit
    allows it (the hit is then counted in all), else the seconds until all would.

    The same moving window as `take` (the limits library's document: the newest hits first,
    as many as the largest limit keeps), so a hit is allowed when, for each limit, its
    limit-th newest hit has left that limit's window."""
    windows_collection = _limiter().storage.windows
    now = time.time()
    oldest_allowed: dict[str, float] = {}
    for limit, window in windows:
        path = f"entries.{int(limit) - 1}"
        oldest_allowed[path] = max(oldest_allowed.get(path, 0.0), now - int(window))
    keep = max(int(limit) for limit, _ in windows)
    longest = max(int(window) for _, window in windows)
    try:
        windows_collection.update_one(
            {"_id": key, **{path: {"$not": {"$gte": since}}
                            for path, since in oldest_allowed.items()}},
            {"$push": {"entries": {"$each": [now], "$position": 0, "$slice": keep}},
             "$set": {"expireAt": datetime.now(UTC) + timedelta(seconds=longest)}},
            upsert=True)
        return 0
    except DuplicateKeyError:  # a limit is spent: the upsert met the existing window
        entries = (windows_collection.find_one({"_id": key}) or {}).get("entries") or []
    waits = [entries[int(limit) - 1] + int(window) - now for limit, window in windows
             if len(entries) >= int(limit) and entries[int(limit) - 1] >= now - int(window)]
    return max(1, int(max(waits, default=0)) + 1)
