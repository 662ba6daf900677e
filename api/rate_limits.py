"""Per-citizen limits on what costs the most to accept (applications, uploads): a moving window
in the database every process shares (common.rate_limits, one conditional write an attempt),
keyed on the signed-in citizen, refused with 429 in the one error shape and a Retry-After."""
import functools

from flask import current_app
from limits import parse_many

from api.auth import current_user
from api.schemas.errors import documented
from common import rate_limits
from services.errors import TooManyRequests

# scope → (error slug, English, Chinese)
REFUSALS = {
    "applications": ("too_many_applications",
                     "You have made many applications in a short time; try again in {s} s.",
                     "短时间内申请次数过多，请 {s} 秒后再试。"),
    "uploads": ("too_many_uploads",
                "You have uploaded many files in a short time; try again in {s} s.",
                "短时间内上传次数过多，请 {s} 秒后再试。"),
}


@functools.lru_cache(maxsize=16)
def windows(setting: str) -> tuple[tuple[int, int], ...]:
    """(limit, window seconds) of each limit a setting names: "20 per hour; 40 per day"."""
    return tuple((item.amount, item.get_expiry()) for item in parse_many(setting))


def per_citizen(blp, scope: str):
    """The limit of RATE_LIMIT_<SCOPE> (e.g. "10 per minute; 40 per day") for each signed-in
    citizen, and its 429 in the route's OpenAPI entry; every attempt counts, those the view then
    refuses too. Place it under @auth_required.

    All of a setting's limits are counted in one write (common.rate_limits.take_all): the
    Flask-Limiter extension it replaces wrote as much, and cost the API as much CPU again on
    every request (it checked every route for limits before the view)."""
    slug, en, zh = REFUSALS[scope]
    setting = f"RATE_LIMIT_{scope.upper()}"
    doc = documented(blp, 429, slug, en.format(s=42),
                     description=f"{slug}: over {setting}; the Retry-After header says in how "
                                 "many seconds trying again can succeed")

    def decorate(view):
        @functools.wraps(view)
        def limited(*args, **kwargs):
            wait = rate_limits.take_all(f"{scope}:user:{current_user().id}",
                                        list(windows(current_app.config[setting])))
            if wait:
                raise TooManyRequests(en, zh, error=slug, s=wait,
                                      headers={"Retry-After": str(wait)})
            return view(*args, **kwargs)
        return doc(limited)
    return decorate
