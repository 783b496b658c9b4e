"""Alerts: tell someone, once, when a target becomes blocked or unblocked or changes method.

`pending()` is pure: which changes are worth an alert. `dispatch()` puts them in the
store's outbox, one row per alert and sink, and delivers what is due: to stdout ("-"),
appended to a JSON-lines file, or POSTed to a webhook URL. An alert is marked sent to a
sink only once that sink took it (a 2xx from a webhook); a failed one is retried with
backoff, in later rounds and later runs, and a failing sink never stops the others or
the run: its failures are said, not raised.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from censorscope.errors import AlertError
from censorscope.store import Store

ALERT_KINDS = ("onset", "end", "method-change")
WEBHOOK_TIMEOUT = 10.0  # seconds for one POST: a hanging webhook costs a round this, once
RETRY_FIRST = timedelta(seconds=5)  # then doubling after each failure ...
RETRY_MOST = timedelta(hours=1)  # ... up to this


def key(alert: dict[str, Any]) -> str:
    return "|".join(str(alert.get(k, "")) for k in
                    ("level", "target", "where", "kind", "from", "to", "first_after"))  # fmt: skip


def pending(changes: Iterable[dict[str, Any]], sent: set[str]) -> list[dict[str, Any]]:
    """Changes worth an alert that were not sent before, oldest first."""
    fresh = [c for c in changes if c.get("kind") in ALERT_KINDS and key(c) not in sent]
    return sorted(fresh, key=lambda c: (str(c["first_after"]), key(c)))


def retry_after(attempts: int) -> timedelta:
    """The wait before the next try of an alert that failed `attempts` times."""
    return min(RETRY_MOST, RETRY_FIRST * 2 ** min(attempts - 1, 20))


@dataclass
class Dispatched:
    sent: int = 0
    waiting: int = 0
    failures: list[str] = field(default_factory=list)  # one line per sink that failed


def dispatch(
    store: Store, alerts: list[dict[str, Any]], sinks: list[str], stdout: TextIO, now: datetime
) -> Dispatched:
    """Queue `alerts` for every sink (an alert already queued for a sink is not queued
    again), then deliver what is due, in order; a sink that fails is tried again after
    retry_after(), the alerts after its failed one wait with it (order is kept)."""
    rows = [(key(a), json.dumps({"event": "censorscope.change", **a}), str(a["first_after"]))
            for a in alerts]  # fmt: skip
    out = Dispatched()
    for sink in sinks:
        store.enqueue_alerts(sink, rows, now)
        due = store.unsent_alerts(sink)
        for i, (k, alert, attempts, next_try) in enumerate(due):
            if next_try.replace(tzinfo=UTC) > now:
                out.waiting += len(due) - i  # the first in line waits: so do the rest
                break
            try:
                _deliver(alert, sink, stdout)
            except AlertError as exc:
                store.alert_failed(sink, k, str(exc), now + retry_after(attempts + 1))
                out.waiting += len(due) - i
                out.failures.append(f"{exc} ({len(due) - i} alert(s) wait for a retry)")
                break
            store.alert_sent(sink, k, now)
            out.sent += 1
    return out


def _deliver(alert: str, sink: str, stdout: TextIO) -> None:
    if sink == "-":
        stdout.write(alert + "\n")
        stdout.flush()
    elif sink.startswith(("http://", "https://")):
        _post(sink, alert)
    else:
        try:
            with Path(sink).open("a", encoding="utf-8") as f:
                f.write(alert + "\n")
        except OSError as exc:
            raise AlertError(f"{sink}: cannot append alerts: {exc}") from exc


class _PostRedirects(urllib.request.HTTPRedirectHandler):
    """A 307 or 308 is followed with the same POST and body, as those codes mean; urllib
    would turn a 301, 302 or 303 into a GET without the alert, so those are refused."""

    def redirect_request(  # type: ignore[override]
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        if code in (307, 308) and urlsplit(newurl).scheme in ("http", "https"):
            return urllib.request.Request(
                newurl, data=req.data, method="POST", headers=dict(req.header_items())
            )
        return None  # urllib raises HTTPError with the code


_OPENER = urllib.request.build_opener(_PostRedirects())


def _post(url: str, alert: str) -> None:
    req = urllib.request.Request(url, data=alert.encode(), method="POST",
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        with _OPENER.open(req, timeout=WEBHOOK_TIMEOUT) as resp:
            resp.read(65536)
            status = resp.status
    except urllib.error.HTTPError as exc:
        where = exc.headers.get("Location") if exc.headers else None
        fix = f" (a redirect to {where}: give that URL as the sink)" if where else ""
        raise AlertError(f"webhook {url} answered {exc.code}{fix}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise AlertError(f"webhook {url} did not take the alert: {exc}") from exc
    if not 200 <= status < 300:
        raise AlertError(f"webhook {url} answered {status}, not 2xx")
