"""The real app driven in the bench's own process, against a throwaway database whose address
is set before this is called (the configuration reads it at import)."""
from common import db_metrics


def production_like_app():
    """The app in its test configuration with production's caches, and a per-citizen limit no
    bench citizen reaches."""
    from api import create_app  # noqa: PLC0415  # after the database's address is set
    from config import Config  # noqa: PLC0415

    app = create_app("test")
    app.config.update(CATALOGUE_STATE_TTL=Config.CATALOGUE_STATE_TTL,
                      ETA_CACHE_SECONDS=Config.ETA_CACHE_SECONDS,
                      RATE_LIMIT_APPLICATIONS="1000000 per hour")
    return app


def count_commands() -> dict:
    """From now on, every command the app sends adds one to the answer's "sent"."""
    counted = {"sent": 0}
    started = db_metrics.CommandCounter.started

    def counting(self, event):
        counted["sent"] += 1
        started(self, event)

    db_metrics.CommandCounter.started = counting
    return counted
