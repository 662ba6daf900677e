"""Per-citizen limits on what costs the most to accept (applications, uploads): flask-limiter
counting in the `limits` MongoDB storage that every process shares (common.rate_limits), keyed
on the signed-in subject, refused with 429 in the one error shape and a Retry-After."""
import atexit
import time

from flask import Flask, current_app
from flask_limiter import Limiter, RateLimitExceeded

from api.auth import current_user
from api.errors import error_response
from api.schemas.errors import documented
from common import i18n, rate_limits

# scope → (error slug, English, Chinese)
REFUSALS = {
    "applications": ("too_many_applications",
                     "You have made many applications in a short time; try again in {s} s.",
                     "短时间内申请次数过多，请 {s} 秒后再试。"),
    "uploads": ("too_many_uploads",
                "You have uploaded many files in a short time; try again in {s} s.",
                "短时间内上传次数过多，请 {s} 秒后再试。"),
}


def _subject() -> str:
    return f"user:{current_user().id}"


# One limiter for the process: its storage is the database of the app it was last given to,
# which is every app's in a process (they share MONGODB_URI).
limiter = Limiter(key_func=_subject, strategy="moving-window", headers_enabled=False)


def per_citizen(blp, scope: str):
    """The limit of RATE_LIMIT_<SCOPE> (e.g. "10 per minute; 40 per day") for each signed-in
    citizen, and its 429 in the route's OpenAPI entry; every attempt counts, refused ones too.
    Place it under @auth_required."""
    limit = limiter.limit(lambda: current_app.config[f"RATE_LIMIT_{scope.upper()}"],
                          scope=scope, key_func=_subject)
    slug, en, _ = REFUSALS[scope]
    doc = documented(blp, 429, slug, en.format(s=42),
                     description=f"{slug}: over RATE_LIMIT_{scope.upper()}; the Retry-After "
                                 "header says in how many seconds trying again can succeed")

    def decorate(view):
        return doc(limit(view))
    return decorate


def _refused(exc: RateLimitExceeded):
    # The breached window that frees up last decides when trying again can succeed.
    breached = [limit.reset_at for limit in limiter.current_limits if limit.breached]
    seconds = max(1, int(max(breached, default=time.time() + 60) - time.time()))
    slug, en, zh = REFUSALS.get(exc.limit.scope, ("too_many_requests", *REFUSALS["uploads"][1:]))
    return error_response(429, slug, i18n.text(en, zh, s=seconds),
                          headers={"Retry-After": str(seconds)})


def register(app: Flask) -> None:
    # A moving window: its entries are timestamps written by the limits library itself; a fixed
    # window's expiry compares against the server's $$NOW, which the embedded database gets wrong.
    app.config["RATELIMIT_STORAGE_URI"] = app.config["MONGODB_URI"]
    app.config["RATELIMIT_STORAGE_OPTIONS"] = rate_limits.storage_options(app.config)
    app.config["RATELIMIT_STRATEGY"] = "moving-window"
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _refused)


@atexit.register
def _close_storage() -> None:
    """The limits library's MongoDB storage closes its client in __del__, through a property
    that connects first when it never has: in a process that limited nothing (a CLI command, a
    worker) that runs at interpreter shutdown and prints a traceback. Close it here, while the
    interpreter still works, and leave __del__ nothing to do."""
    storage = getattr(limiter, "_storage", None)
    if storage is None or not hasattr(storage, "_storage"):
        return
    if storage._storage is not None:
        storage._storage.close()
    storage._storage = False  # falsy: __del__'s `if self.storage` skips closing again
