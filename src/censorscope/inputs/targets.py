"""Reading what to measure: URLs on the command line, plain lists, Citizen Lab CSVs."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import urlsplit

from censorscope.errors import TargetListError
from censorscope.records import Target


def parse_url(text: str, file: str = "command line", where: str = "argument") -> Target:
    url = text.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetListError(
            file, where, f"{text!r} is not an http(s) URL", "write it like https://www.example.com/"
        )
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise TargetListError(file, where, f"{text!r} has a bad port", "use 1-65535") from None
    return Target(url)


def load_targets(arg: str) -> list[Target]:
    """A URL, or a file: a Citizen Lab CSV (url,category_code,...) or one URL per line."""
    if "://" in arg:
        return [parse_url(arg)]
    path = Path(arg)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TargetListError(arg, "-", "no such file", "give a URL or a list file") from None
    except UnicodeDecodeError as exc:
        raise TargetListError(arg, f"byte {exc.start}", "not UTF-8", "save it as UTF-8") from None
    first = text.split("\n", 1)[0]
    if first.lower().startswith("url,"):
        out = []
        rows = csv.DictReader(io.StringIO(text))
        try:
            for i, row in enumerate(rows, start=2):
                url = (row.get("url") or "").strip()
                if not url:
                    raise TargetListError(arg, f"line {i}", "empty url", "fill or delete the row")
                t = parse_url(url, arg, f"line {i}")
                out.append(Target(t.url, (row.get("category_code") or "").strip()))
        except csv.Error as exc:  # a field over 128 KB, a stray quote
            raise TargetListError(
                arg, f"line {rows.line_num}", f"not CSV: {exc}", "write url,category_code rows"
            ) from None
        return out
    return [
        parse_url(line, arg, f"line {i}")
        for i, line in enumerate(text.split("\n"), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
