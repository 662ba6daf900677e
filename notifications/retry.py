"""When to try an outside channel again: exponential backoff with jitter, and Retry-After."""
import email.utils
import random
from datetime import UTC, datetime


def backoff(attempt: int, *, base: float, cap: float) -> float:
    """Seconds before try `attempt + 1`: doubling from `base`, at most `cap`, jittered between
    half and all of it so workers that failed together do not retry together."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(ceiling / 2, ceiling)  # nosec B311  # jitter, not a secret


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
