"""Times as a merchant reads them: in the shop's time zone, with the zone named."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def zone_label(tz_name: str) -> str:
    """"Asia/Almaty" -> "Almaty": what an operator calls it."""
    return tz_name.rsplit("/", 1)[-1].replace("_", " ")


def local(moment: datetime | None, tz_name: str | None = None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(tz_name or settings.SELLER_TIMEZONE))


def when(moment: datetime | None, tz_name: str | None = None, with_date: bool = True) -> str:
    """"09:00 30.11 Almaty"; "" for no time. The date is left out for today's times only when asked."""
    if moment is None:
        return ""
    tz_name = tz_name or settings.SELLER_TIMEZONE
    moment = local(moment, tz_name)
    if not with_date and moment.date() == local(timezone.now(), tz_name).date():
        return f"{moment:%H:%M} {zone_label(tz_name)}"
    return f"{moment:%H:%M %d.%m.%Y} {zone_label(tz_name)}"


class AdminTimeZoneMiddleware:
    """The admin and the dashboard show times in SELLER_TIMEZONE (the merchants' zone), not
    UTC; per-shop columns use the shop's own zone and name it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/admin/"):
            timezone.activate(ZoneInfo(settings.SELLER_TIMEZONE))
            try:
                return self.get_response(request)
            finally:
                timezone.deactivate()
        return self.get_response(request)
