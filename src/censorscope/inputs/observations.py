"""Observations for rule inference: a CSV of `domain,blocked` rows, and seed names."""

from __future__ import annotations

from pathlib import Path

from censorscope.errors import InputError

_TRUTH = {
    "1": True,
    "true": True,
    "blocked": True,
    "yes": True,
    "throttled": True,
    "0": False,
    "false": False,
    "accessible": False,
    "no": False,
}


MAX_NAME = 253  # characters of a domain name (RFC 1035)


def read_observations(file: str) -> dict[str, bool]:
    """Name -> blocked, from `domain,blocked` rows (a header line is allowed)."""
    try:
        lines = Path(file).read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise InputError(file, "-", "no such file", "give a CSV domain,blocked") from None
    except UnicodeDecodeError as exc:  # CP1251 registry exports, binary files
        raise InputError(
            file, f"byte {exc.start}", "not UTF-8 text", "save it as UTF-8 (iconv -f cp1251)"
        ) from None
    out: dict[str, bool] = {}
    for n, line in enumerate(lines, start=1):
        parts = [p.strip().lower() for p in line.split(",")]
        if not line.strip() or (n == 1 and parts[0] in ("domain", "name")):
            continue
        if len(parts) < 2 or parts[1] not in _TRUTH:
            raise InputError(
                file,
                f"line {n}",
                f"expected domain,blocked, got {line[:60]!r}",
                "blocked is 1/0, true/false, blocked/accessible",
            )
        name = parts[0].rstrip(".")
        if not 0 < len(name) <= MAX_NAME:
            # a name's candidate rules grow with its length: a 20 MB "name" hung inference
            raise InputError(
                file,
                f"line {n}",
                f"a name of {len(name):,} characters",
                f"domain names have 1 to {MAX_NAME}",
            )
        out[name] = _TRUTH[parts[1]]
    return out


def seed_names(arg: str) -> list[str]:
    """Names to start from: a file of one name a line, or a comma-separated list."""
    path = Path(arg)
    if path.is_file():
        return [ln.strip().lower() for ln in path.read_text().splitlines() if ln.strip()]
    return [s.strip().lower() for s in arg.split(",") if s.strip()]
