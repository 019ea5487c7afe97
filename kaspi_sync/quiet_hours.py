"""Quiet hours ("21:00-09:00") in a shop's time zone: when a message may not go out."""

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
NONE = ("", "off", "none", "-")


def parse(text: str | None) -> tuple[time, time] | None:
    """(start, end) of the window, or None for no quiet hours; ValueError on anything else."""
    if text is None or text.strip().lower() in NONE:
        return None
    match = SPAN.match(text)
    if not match:
        raise ValueError(f'quiet hours must look like "21:00-09:00", not {text!r}')
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"quiet hours {text!r}: no such time of day")
    start, end = time(h1, m1), time(h2, m2)
    return None if start == end else (start, end)


def validate(text: str | None):
    """A model field validator: the shop's value must parse."""
    try:
        parse(text)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def window_end(text: str | None, tz_name: str, now: datetime) -> datetime | None:
    """When the quiet window that `now` falls in ends, or None when `now` is not quiet."""
    span = parse(text)
    if span is None:
        return None
    start, end = span
    tz = ZoneInfo(tz_name)
    local = now.astimezone(tz)
    clock = local.time()
    quiet = (start <= clock < end) if start < end else (clock >= start or clock < end)
    if not quiet:
        return None
    end_today = datetime.combine(local.date(), end, tzinfo=tz)
    return end_today if end_today > local else datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
