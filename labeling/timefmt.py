"""003's times: ISO-8601 instants out; ISO-8601 or Java's Date.toString ("Sat Jun 30 15:04:20 GMT+08:00 2018") in."""

import re
from datetime import UTC, date, datetime, timedelta, timezone

from django.utils.dateparse import parse_date, parse_datetime

# Java's Date.toString(): "EEE MMM dd HH:mm:ss zzz yyyy"; zzz is GMT+08:00, GMT, UTC or Z here.
_JAVA_DATE = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<month>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) "
    r"(?P<time>\d{2}:\d{2}:\d{2}) (?P<zone>\S+) (?P<year>\d{4})$"
)
_ZONE = re.compile(r"^(?:GMT|UTC)(?:(?P<sign>[+-])(?P<hours>\d{1,2}):?(?P<minutes>\d{2})?)?$")
_MONTHS = {name: index for index, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), start=1)}


def parse_time(value: str) -> datetime:
    """An aware datetime, or ValueError naming the forms that are understood."""
    parsed = _parse(value)
    try:
        # Year 1 at +14:00 or year 9999 at -05:00 has no UTC instant: it could be neither stored nor shown.
        parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"time {value!r} is out of range") from None
    return parsed


def _parse(value: str) -> datetime:
    text = (value or "").strip()
    match = _JAVA_DATE.match(text)
    if match:
        return _from_java(match)
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    iso = _trim_nanoseconds(iso)
    parsed = parse_datetime(iso)
    if parsed is not None:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    day = parse_date(text)
    if day is not None:
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    raise ValueError(
        f"cannot read time {value!r}: use ISO-8601 (2018-06-30T07:04:20Z) or Sat Jun 30 15:04:20 GMT+08:00 2018"
    )


def _from_java(match) -> datetime:
    zone = _ZONE.match(match["zone"]) if match["zone"] != "Z" else _ZONE.match("UTC")
    month = _MONTHS.get(match["month"])
    if zone is None or month is None:
        raise ValueError(f"unknown time zone or month in {match.string!r}; use GMT+hh:mm")
    offset = timedelta(hours=int(zone["hours"] or 0), minutes=int(zone["minutes"] or 0))
    if zone["sign"] == "-":
        offset = -offset
    hour, minute, second = (int(part) for part in match["time"].split(":"))
    return datetime(int(match["year"]), month, int(match["day"]), hour, minute, second, tzinfo=timezone(offset))


def _trim_nanoseconds(text: str) -> str:
    # Java's Instant.toString() may carry nine fractional digits; Python reads six.
    return re.sub(r"(\.\d{6})\d+", r"\1", text)


def format_time(value: datetime | date | None) -> str | None:
    """Like Java's Instant.toString(): UTC, a Z, fractions only when there are some."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"
