"""Traffic series files: CSV `time,entity,value` or IODA signal JSON."""

from __future__ import annotations

from pathlib import Path

from censorscope.analysis.traffic import Series, parse_series
from censorscope.errors import InputError


def read_series(path: str | Path) -> list[Series]:
    """Read a traffic file; bad rows are errors that name the file and the line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(file, "-", "no such file", "give a CSV or IODA JSON file") from None
    except UnicodeDecodeError as exc:
        raise InputError(file, f"byte {exc.start}", "not UTF-8", "save it as UTF-8") from None
    return parse_series(file, text)
