"""Alerts: tell someone, once, when a target becomes blocked or unblocked or changes method.

`pending()` is pure: which changes have not been sent yet. `deliver()` sends them to
stdout ("-"), appends them to a JSON-lines file, or POSTs each to a webhook URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from censorscope.errors import AlertError

ALERT_KINDS = ("onset", "end", "method-change")


def key(alert: dict[str, Any]) -> str:
    return "|".join(str(alert.get(k, "")) for k in
                    ("level", "target", "where", "kind", "from", "to", "first_after"))  # fmt: skip


def pending(changes: Iterable[dict[str, Any]], sent: set[str]) -> list[dict[str, Any]]:
    """Changes worth an alert that were not sent before, oldest first."""
    fresh = [c for c in changes if c.get("kind") in ALERT_KINDS and key(c) not in sent]
    return sorted(fresh, key=lambda c: (str(c["first_after"]), key(c)))


def deliver(alerts: Sequence[dict[str, Any]], sink: str, stdout: TextIO) -> None:
    if not alerts:
        return
    lines = [json.dumps({"event": "censorscope.change", **a}) for a in alerts]
    if sink == "-":
        stdout.write("\n".join(lines) + "\n")
        stdout.flush()
    elif sink.startswith(("http://", "https://")):
        for line in lines:
            req = urllib.request.Request(sink, data=line.encode(), method="POST",
                                         headers={"Content-Type": "application/json"})  # fmt: skip
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    resp.read()
            except (urllib.error.URLError, OSError) as exc:
                raise AlertError(f"webhook {sink} did not take the alert: {exc}") from exc
    else:
        try:
            with Path(sink).open("a", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
        except OSError as exc:
            raise AlertError(f"{sink}: cannot append alerts: {exc}") from exc
