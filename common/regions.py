"""The region (GB/T 2260 code) a thing belongs to: its own, else the configured default."""
from collections.abc import Mapping

from flask import current_app, has_app_context

FALLBACK_REGION = "330381"


def default_region() -> str:
    if has_app_context():
        return str(current_app.config.get("DEFAULT_REGION") or FALLBACK_REGION)
    return FALLBACK_REGION


def region_of(*things) -> str:
    """The first region named by the things given (an application, a task, a user, a token or a
    dict), in order; the configured DEFAULT_REGION when none names one.

    The one place the service loop reads a region, so that applications and tasks without a
    `region` field (made before regions existed) count where the default says."""
    for thing in things:
        if thing is None:
            continue
        value = thing.get("region") if isinstance(thing, Mapping) else getattr(thing, "region",
                                                                                None)
        if value:
            return str(value)
    return default_region()
