"""The events registry (`data/events.toml`): dated, sourced events with causes.

Loading validates like scenarios do: a bad file fails with the file, the key and the fix.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from censorscope.errors import InputError
from censorscope.records import Event
from censorscope.timeparse import parse_time

REGISTRY = Path(__file__).resolve().parents[1] / "data" / "events.toml"
_KEYS = {
    "id",
    "time",
    "kind",
    "subject",
    "country",
    "detail",
    "source",
    "domains",
    "caused_by",
    "rule",
}


def load_events(path: str | Path = REGISTRY) -> list[Event]:
    file = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(file, "-", "no such file", "give an events TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "TOML syntax", str(exc), "fix the TOML at that line") from None
    events: list[Event] = []
    for i, tbl in enumerate(data.get("event", [])):
        where = f"event[{i}]"
        for key in tbl:
            if key not in _KEYS:
                raise InputError(
                    file, f"{where}.{key}", "unknown key", "allowed: " + ", ".join(sorted(_KEYS))
                )
        for key in ("id", "time", "kind", "subject"):
            if key not in tbl:
                raise InputError(file, f"{where}.{key}", "missing", "every event needs it")
        try:
            when = parse_time(tbl["time"])
        except ValueError as exc:
            raise InputError(file, f"{where}.time", str(exc)) from None
        events.append(
            Event(
                id=str(tbl["id"]),
                time=when,
                kind=str(tbl["kind"]),
                subject=str(tbl["subject"]),
                country=str(tbl.get("country", "")),
                detail=str(tbl.get("detail", "")),
                source=str(tbl.get("source", "")),
                domains=tuple(tbl.get("domains", ())),
                caused_by=tuple(tbl.get("caused_by", ())),
                rule=str(tbl.get("rule", "")),
            )
        )
    ids = [e.id for e in events]
    for i, e in enumerate(events):
        if ids.count(e.id) > 1:
            raise InputError(file, f"event[{i}].id", f"{e.id!r} is used twice", "make it unique")
        for cause in e.caused_by:
            if cause not in ids:
                raise InputError(
                    file,
                    f"event[{i}].caused_by",
                    f"no event {cause!r}",
                    "name the id of another event",
                )
    return sorted(events, key=lambda e: e.time)
