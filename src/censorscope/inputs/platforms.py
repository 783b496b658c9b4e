"""Platform definitions (data/platforms.toml, and a user's file that adds platforms or
replaces one by name) read into records.Platform, each checked: a bad file gets one
PlatformError naming the file, the key and the fix."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from censorscope.errors import PlatformError
from censorscope.records import ROLES, Platform, PlatformEndpoint

SHIPPED = "data/platforms.toml"
MAX_BYTES = 4 * 2**20
MAX_PLATFORMS = 1000
MAX_ENDPOINTS = 200  # of one platform
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?:{_LABEL}\.)*{_LABEL}"
_URL = re.compile(rf"https?://{_HOST}(?::[0-9]{{1,5}})?(?:/[^\s]*)?")
_TCP = re.compile(rf"tcp://(?:{_HOST}|\[[0-9A-Fa-f:.]+\]):[0-9]{{1,5}}")
_KEYS = {"title", "source", *ROLES}


def shipped() -> dict[str, Platform]:
    text = resources.files("censorscope").joinpath(SHIPPED).read_text("utf-8")
    return _parse(text, SHIPPED)


def load(path: str | Path | None = None) -> dict[str, Platform]:
    """The shipped platforms, with those of `path` added (a name that is shipped too is
    replaced whole)."""
    platforms = shipped()
    if path is None:
        return platforms
    file = str(path)
    p = Path(path)
    try:
        if not p.is_file():
            raise PlatformError(file, "-", "no such file, or not a regular file",
                                "give a .toml file of [platform.NAME] tables")  # fmt: skip
        if p.stat().st_size > MAX_BYTES:
            raise PlatformError(file, "-", f"over {MAX_BYTES // 2**20} MiB", "split it")
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlatformError(file, f"byte {exc.start}", "not UTF-8", "save it as UTF-8") from None
    except OSError as exc:
        raise PlatformError(file, "-", f"cannot read: {exc.strerror or exc}") from None
    return {**platforms, **_parse(text, file)}


def select(platforms: dict[str, Platform], names: str) -> list[Platform]:
    """NAME[,NAME...] as platforms, in the order given; an unknown name lists the known."""
    out = []
    for name in (n.strip().lower() for n in names.split(",")):
        if not name:
            continue
        if name not in platforms:
            raise PlatformError("--platform", name, "unknown platform",
                                "known: " + ", ".join(sorted(platforms)))  # fmt: skip
        out.append(platforms[name])
    if not out:
        raise PlatformError("--platform", repr(names), "no platform named",
                            "known: " + ", ".join(sorted(platforms)))  # fmt: skip
    return out


def _parse(text: str, file: str) -> dict[str, Platform]:
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise PlatformError(file, "TOML", "nested too deep", "flatten the tables") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlatformError(file, "TOML syntax", str(exc), "fix the TOML at that line") from None
    for key in data:
        if key != "platform":
            raise PlatformError(file, key, "unknown key", "write each as [platform.NAME]")
    tables = data.get("platform", {})
    if not isinstance(tables, dict):
        raise PlatformError(file, "platform", "must be a table", "write [platform.NAME]")
    if len(tables) > MAX_PLATFORMS:
        raise PlatformError(file, "platform", f"over {MAX_PLATFORMS} platforms", "split it")
    return {name: _platform(file, name, tbl) for name, tbl in tables.items()}


def _platform(file: str, name: str, tbl: Any) -> Platform:
    where = f"platform.{name}"
    if not _NAME.fullmatch(name):
        raise PlatformError(file, where, "a name of lower-case letters, digits, - and _",
                            "rename it, e.g. [platform.instagram]")  # fmt: skip
    if not isinstance(tbl, dict):
        raise PlatformError(file, where, "must be a table", f"write [{where}]")
    for key in tbl:
        if key not in _KEYS:
            raise PlatformError(file, f"{where}.{key}", "unknown key",
                                "allowed: " + ", ".join(sorted(_KEYS)))  # fmt: skip
    for key in ("title", "source"):
        if not isinstance(tbl.get(key, ""), str):
            raise PlatformError(file, f"{where}.{key}", "must be a string")
    endpoints = []
    for role in ROLES:
        urls = tbl.get(role, [])
        urls = [urls] if isinstance(urls, str) else urls
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise PlatformError(file, f"{where}.{role}", "must be a list of URLs",
                                'e.g. ["https://www.example.com/"]')  # fmt: skip
        for i, url in enumerate(urls):
            if not (_URL.fullmatch(url) or (_TCP.fullmatch(url) and _port_ok(url))):
                raise PlatformError(file, f"{where}.{role}[{i}]", f"not an endpoint: {url!r}",
                                    "give https://HOST/PATH, or tcp://ADDRESS:PORT for an "
                                    "app's server")  # fmt: skip
            endpoints.append(PlatformEndpoint(role, url))
    if not endpoints:
        raise PlatformError(file, where, "no endpoints",
                            "give at least one role: " + ", ".join(ROLES))  # fmt: skip
    if len(endpoints) > MAX_ENDPOINTS:
        raise PlatformError(file, where, f"over {MAX_ENDPOINTS} endpoints", "keep the main ones")
    title = tbl.get("title") or name
    return Platform(name, title, tuple(endpoints), tbl.get("source", ""))


def _port_ok(url: str) -> bool:
    return 0 < int(url.rsplit(":", 1)[1]) < 65536
