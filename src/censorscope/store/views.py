"""What the dashboard reads from a store: the latest verdicts at a time, a target's
verdicts over time, one measurement with its control and verdict. Queries only; what
the rows mean is for analysis/ to say."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from censorscope.records import Measurement
from censorscope.store.database import Store, row_measurement
from censorscope.store.sql import literal

ROW = ("target", "vantage", "country", "asn", "time", "verdict", "method", "rate_kbps", "rule",
       "measurement_id")  # fmt: skip
# the columns of ROW, times as ISO 8601 in UTC (to the second) written by DuckDB: a
# Python datetime made and formatted per row cost more than the query
_SELECT = ", ".join(
    "strftime(time, '%Y-%m-%dT%H:%M:%S+00:00') AS time" if c == "time" else c for c in ROW
)


# verdicts at the same time in one series (or one timeline) in a stable order
_TIE = "coalesce(measurement_id, '')"
# a target's host name, for the domain filter: one pattern for the SQL and for host_of
_HOST_PATTERN = r"^[a-z+.-]+://([^/:?#]+)"
_HOST_SQL = literal(_HOST_PATTERN)
_HOST = re.compile(_HOST_PATTERN)


def _rows(cur: Any) -> list[dict[str, Any]]:
    names = [c[0] for c in cur.description]
    out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    for r in out:
        if isinstance(r.get("time"), datetime):
            r["time"] = r["time"].replace(tzinfo=UTC).isoformat()
    return out


def overview(
    store: Store,
    at: datetime | None = None,
    country: str = "",
    asn: int | None = None,
    domain: str = "",
    limit: int = 5000,
) -> list[dict[str, Any]]:
    """Each (target, vantage)'s latest verdict at or before `at` (default: now), narrowed
    to a country, an AS number, a domain (its subdomains too)."""
    cond, args = ["true"], dict[str, Any]()
    if at is not None:
        cond.append("time <= $at")
        args["at"] = at.astimezone(UTC).replace(tzinfo=None)
    if country:
        cond.append("country = $cc")
        args["cc"] = country.upper()
    if asn is not None:
        cond.append("asn = $asn")
        args["asn"] = asn
    if domain:
        d = domain.lower().strip(".")
        cond.append(
            f"(lower(regexp_extract(target, {_HOST_SQL}, 1)) = $d"
            f" OR lower(regexp_extract(target, {_HOST_SQL}, 1)) LIKE $sub ESCAPE '\\')"
        )
        args["d"], args["sub"] = d, "%." + d.replace("%", r"\%").replace("_", r"\_")
    cur = store.db.execute(
        f"""SELECT {_SELECT} FROM verdicts WHERE {" AND ".join(cond)}
            QUALIFY row_number() OVER (PARTITION BY target, vantage
                                       ORDER BY verdicts.time DESC, {_TIE} DESC) = 1
            ORDER BY target, country, vantage LIMIT {int(limit)}""",
        args,
    )
    return _rows(cur)


def every_verdict(store: Store, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """(microseconds since 1970, row) of every verdict, by target, vantage and time; at
    most `limit`."""
    cur = store.db.execute(
        f"SELECT epoch_us(time) AS us, {_SELECT} FROM verdicts"
        f" ORDER BY target, vantage, us, {_TIE} LIMIT {int(limit)}"
    )
    names = [c[0] for c in cur.description][1:]
    return [(r[0], dict(zip(names, r[1:], strict=True))) for r in cur.fetchall()]


def host_of(target: str) -> str:
    """The host name `overview`'s domain filter compares, as its SQL extracts it."""
    m = _HOST.match(target)
    return m.group(1).lower() if m else ""


def target_verdicts(store: Store, target: str, limit: int = 50_000) -> list[dict[str, Any]]:
    """Every verdict of one target, by time."""
    cur = store.db.execute(
        f"SELECT {_SELECT} FROM verdicts WHERE target = ?"
        f" ORDER BY verdicts.time, vantage, {_TIE}"
        f" LIMIT {int(limit)}",
        [target],
    )
    return _rows(cur)


def measurement(store: Store, mid: str) -> dict[str, Any] | None:
    """One stored measurement: {"measurement", "control", "verdict"} (JSON-ready), or
    None when there is none of that id."""
    cur = store.db.execute("SELECT * FROM measurements WHERE id = ?", [mid])
    found = _records(cur)
    if not found:
        return None
    row, m = found[0]
    control: Measurement | None = None
    if row.get("control_id"):
        c = _records(store.db.execute("SELECT * FROM measurements WHERE id = ?",
                                      [row["control_id"]]))  # fmt: skip
        control = c[0][1] if c else None
    latest = "SELECT * FROM verdicts WHERE measurement_id = ? ORDER BY time DESC LIMIT 1"
    verdicts = _rows(store.db.execute(latest, [mid]))
    verdict = verdicts[0] if verdicts else None
    if verdict and verdict.get("evidence"):
        verdict["evidence"] = json.loads(verdict["evidence"])
    return {
        "id": mid,
        "role": row.get("role"),
        "measurement": m.to_dict(),
        "control": control.to_dict() if control else None,
        "verdict": verdict,
        "theirs": json.loads(row["theirs"]) if row.get("theirs") else None,
    }


def _records(cur: Any) -> list[tuple[dict[str, Any], Measurement]]:
    names = [c[0] for c in cur.description]
    out = []
    for r in cur.fetchall():
        d = dict(zip(names, r, strict=True))
        out.append((d, row_measurement(d)))
    return out
