"""Parsing the times users write (command line, scenario files) into aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def parse_time(value: object) -> datetime:
    """Accept an aware datetime, an ISO string (`Z`, an offset, or none = UTC) or a date.

    Raises ValueError with a message that says what is accepted.
    """
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time(0))
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a time; write ISO 8601 like 2022-03-14T00:00:00+03:00 "
                "or 2022-03-13T21:00Z"
            ) from None
    else:
        raise ValueError(f"{value!r} is not a time; write ISO 8601 like 2022-03-13T21:00Z")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '1h', '2d', '1w' -> timedelta. Raises ValueError saying what is accepted."""
    t = text.strip().lower()
    num = t.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = t[len(num) :] or "s"
    try:
        value = float(num)
    except ValueError:
        value = -1
    if unit not in _UNITS or value <= 0:
        raise ValueError(f"{text!r} is not a duration; write e.g. 30m, 1h, 2d")
    return timedelta(seconds=value * _UNITS[unit])
