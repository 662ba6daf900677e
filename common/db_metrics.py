"""Counting the database commands each request sends (pymongo command monitoring)."""
import threading

from pymongo import monitoring

_local = threading.local()


class CommandCounter(monitoring.CommandListener):
    """Counts commands started on the current thread; a request resets and reads it."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        # Handshakes and heartbeats are the driver's own, not the request's.
        if event.command_name not in {"hello", "ismaster", "isMaster", "ping", "endSessions"}:
            _local.count = getattr(_local, "count", 0) + 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def reset() -> None:
    _local.count = 0


def count() -> int:
    return getattr(_local, "count", 0)
