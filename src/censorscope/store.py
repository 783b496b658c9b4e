"""The embedded measurement store (DuckDB).

`measurements` holds one row per measurement with the raw steps laid out as OONI's
web_connectivity test keys (`queries`, `tcp_connect`, `tls_handshakes`, `requests`) plus
`throughput`; control measurements are rows too (`role = 'control'`). `verdicts` holds
one row per (vantage, target, time) with the deciding rule and its evidence. Times are
stored as UTC TIMESTAMPs. No local
address is ever written: the probe does not record one.
"""

from __future__ import annotations

import csv
import json
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from censorscope.errors import StoreError
from censorscope.records import Measurement, Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    id VARCHAR PRIMARY KEY,
    run_id VARCHAR,
    role VARCHAR,
    test_name VARCHAR,
    measurement_start_time TIMESTAMP,
    input VARCHAR,
    vantage VARCHAR,
    probe_asn INTEGER,
    probe_cc VARCHAR,
    resolver_alive BOOLEAN,
    runtime DOUBLE,
    control_id VARCHAR,
    queries JSON,
    tcp_connect JSON,
    tls_handshakes JSON,
    requests JSON,
    throughput JSON
);
CREATE TABLE IF NOT EXISTS verdicts (
    measurement_id VARCHAR,
    run_id VARCHAR,
    target VARCHAR,
    vantage VARCHAR,
    asn INTEGER,
    country VARCHAR,
    time TIMESTAMP,
    verdict VARCHAR,
    method VARCHAR,
    rate_kbps DOUBLE,
    rule VARCHAR,
    evidence JSON
);
"""
_STEPS = ("queries", "tcp_connect", "tls_handshakes", "requests", "throughput")


def _utc(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None)


class Store:
    """Buffered writes; `flush()` (or leaving the context) commits what was added."""

    def __init__(self, path: str | Path, run_id: str | None = None) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.db = duckdb.connect(self.path)
            self.db.execute(SCHEMA)
        except (duckdb.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._m: list[tuple[Any, ...]] = []
        self._v: list[tuple[Any, ...]] = []
        self._control_ids: dict[int, str] = {}

    def add(self, m: Measurement, v: Verdict | None, control: Measurement | None = None) -> str:
        control_id = None
        if control is not None:
            control_id = self._control_ids.get(id(control))
            if control_id is None:
                control_id = self._add_measurement(control, "control", None)
                self._control_ids[id(control)] = control_id
        mid = self._add_measurement(m, "vantage", control_id)
        if v is not None:
            d = v.to_dict()
            self._v.append(
                (
                    mid,
                    self.run_id,
                    v.target,
                    v.vantage,
                    v.asn,
                    v.country,
                    _utc(v.time),
                    v.verdict,
                    v.method,
                    v.rate_kbps,
                    v.rule,
                    json.dumps(d["evidence"]),
                )
            )
        if len(self._m) >= 2000:
            self.flush()
        return mid

    def _add_measurement(self, m: Measurement, role: str, control_id: str | None) -> str:
        mid = uuid.uuid4().hex
        d = m.to_dict()
        self._m.append(
            (
                mid,
                self.run_id,
                role,
                "web_connectivity",
                _utc(m.time),
                m.input,
                m.vantage,
                m.probe_asn,
                m.probe_cc,
                m.resolver_alive,
                m.runtime,
                control_id,
                *(json.dumps(d[k]) for k in _STEPS),
            )
        )
        return mid

    def flush(self) -> None:
        # COPY from a CSV file is about 100x faster than executemany in DuckDB
        try:
            with tempfile.TemporaryDirectory(prefix="censorscope-store-") as tmp:
                for table, rows in (("measurements", self._m), ("verdicts", self._v)):
                    if not rows:
                        continue
                    path = Path(tmp) / f"{table}.csv"
                    with path.open("w", newline="", encoding="utf-8") as f:
                        csv.writer(f).writerows(rows)
                    self.db.execute(f"COPY {table} FROM '{path}' (FORMAT csv, HEADER false)")
        except (duckdb.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot write measurements: {exc}") from exc
        self._m.clear()
        self._v.clear()

    def verdicts(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM verdicts" + (" WHERE run_id = ?" if run_id else "")
        cur = self.db.execute(sql + " ORDER BY time, target, vantage", [run_id] if run_id else [])
        cols = [c[0] for c in cur.description]
        rows = [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        for r in rows:
            r["time"] = r["time"].replace(tzinfo=UTC)
        return rows

    def measurements(self, role: str | None = None) -> list[Measurement]:
        sql = "SELECT * FROM measurements" + (" WHERE role = ?" if role else "")
        cur = self.db.execute(sql, [role] if role else [])
        cols = [c[0] for c in cur.description]
        out = []
        for row in cur.fetchall():
            r = dict(zip(cols, row, strict=True))
            d = {k: json.loads(r[k]) for k in _STEPS}
            d.update(
                input=r["input"],
                vantage=r["vantage"],
                probe_asn=r["probe_asn"],
                probe_cc=r["probe_cc"],
                time=r["measurement_start_time"].replace(tzinfo=UTC).isoformat(),
                resolver_alive=r["resolver_alive"],
                runtime=r["runtime"],
            )
            out.append(Measurement.from_dict(d))
        return out

    def close(self) -> None:
        self.flush()
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
