"""Rate limits counted in the database through the `limits` library's MongoDB storage (the one
flask-limiter uses), so every process and worker counts into the same windows."""
import threading
import time

from flask import current_app
from limits import RateLimitItemPerSecond
from limits.storage import MongoDBStorage
from limits.strategies import MovingWindowRateLimiter

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
