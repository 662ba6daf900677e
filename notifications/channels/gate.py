"""The citizen's wishes before a send: the channel turned off, or quiet hours."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.notification import DeliveryStatus
from models.preferences import NotificationPreferences
from notifications.leases import HOLD, Outcome


def quiet_until(preferences: NotificationPreferences | None, now: datetime,
                default_timezone: str) -> datetime | None:
    """The end of the citizen's quiet hours if `now` falls within them, else None."""
    hours = preferences.quiet_hours if preferences else None
    if not hours or hours.start == hours.end:
        return None
    zone = ZoneInfo(preferences.timezone or default_timezone)
    local = now.astimezone(zone)
    start, end, moment = time.fromisoformat(hours.start), time.fromisoformat(hours.end), \
        local.time().replace(tzinfo=None)
    inside = start <= moment < end if start < end else (moment >= start or moment < end)
    if not inside:
        return None
    morning = datetime.combine(local.date(), end, tzinfo=zone)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(UTC)


def gate(preferences: NotificationPreferences | None, enabled: bool, now: datetime,
         default_timezone: str) -> Outcome | None:
    """Off, or quiet hours: the outcome that stops this send now; None to go ahead."""
    if not enabled:
        return Outcome(DeliveryStatus.SKIPPED.value, error="turned off by the citizen")
    until = quiet_until(preferences, now, default_timezone)
    if until is not None:
        return Outcome(HOLD, until=until, quiet=True)
    return None
