"""Per-citizen limits on what costs the most to accept (applications, uploads): flask-limiter
counting in the `limits` MongoDB storage that every process shares (common.rate_limits), keyed
on the signed-in subject, refused with 429 in the one error shape and a Retry-After."""
import atexit
import time

from flask import Flask, current_app, has_app_context
from flask_limiter import Limiter, RateLimitExceeded
from limits.strategies import STRATEGIES

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


STORAGE = "onething_rate_limit_storage"
_storages: list = []  # every app's, closed at exit


class AppLimiter(Limiter):
    """One limiter whose routes every app shares (the decorators run at import), counting in
    the storage of the app serving the request: Flask-Limiter keeps one storage per limiter,
    the last app's, so two apps in one process (tests) counted in one database."""

    @property
    def _storage(self):
        own = current_app.extensions.get(STORAGE) if has_app_context() else None
        return own[0] if own else self.__dict__.get("_last_storage")

    @_storage.setter
    def _storage(self, value) -> None:
        self.__dict__["_last_storage"] = value

    @property
    def _limiter(self):
        own = current_app.extensions.get(STORAGE) if has_app_context() else None
        return own[1] if own else self.__dict__.get("_last_limiter")

    @_limiter.setter
    def _limiter(self, value) -> None:
        self.__dict__["_last_limiter"] = value

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        # Its strategy was built on `self._storage` read inside whatever app context was
        # current then (another app's): build it again on this app's storage.
        storage = self.__dict__["_last_storage"]
        app.extensions[STORAGE] = (storage, STRATEGIES[self._strategy](storage))
        _storages.append(storage)


limiter = AppLimiter(key_func=_subject, strategy="moving-window", headers_enabled=False)


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
    for storage in _storages:
        if not hasattr(storage, "_storage"):
            continue
        if storage._storage is not None:
            storage._storage.close()
        storage._storage = False  # falsy: __del__'s `if self.storage` skips closing again
