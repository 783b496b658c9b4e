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
from urllib.parse import urlsplit

import duckdb
import numpy as np

from censorscope.analysis.timeline import SeriesData
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
CREATE TABLE IF NOT EXISTS alerts (
    key VARCHAR PRIMARY KEY,
    sent TIMESTAMP
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

    def series(self, level: str = "vantage", target: str | None = None) -> SeriesData:
        """Verdict series for change detection, encoded in SQL so that millions of rows
        arrive as a few integer arrays. `level`: "vantage" (one series per target and
        vantage; states keep the method) or "country" (per target and country, per hour,
        the most common verdict of its vantages)."""
        self.flush()
        cond = "verdict != 'inconclusive'"
        if target:
            cond += " AND target = '" + target.replace("'", "''") + "'"
        if level == "vantage":
            source = f"""SELECT target, vantage AS loc, time,
                CASE WHEN verdict = 'blocked' AND method IS NOT NULL
                     THEN 'blocked:' || method ELSE verdict END AS label
                FROM verdicts WHERE {cond}"""
        else:
            # the commonest verdict of the hour; a tie goes to the milder one, so that an
            # even split is never read as blocking
            source = f"""SELECT target, loc, time,
                arg_max(verdict, n * 10 + CASE verdict WHEN 'accessible' THEN 5
                    WHEN 'geo-restricted' THEN 4 WHEN 'down' THEN 3 WHEN 'throttled' THEN 2
                    ELSE 1 END) AS label
                FROM (SELECT target, country AS loc, date_trunc('hour', time) AS time,
                      verdict, count(*) AS n FROM verdicts WHERE {cond} GROUP BY ALL)
                GROUP BY ALL"""
        # Strings are turned into small integers by hash joins against the (few) series
        # and labels; positions within a series are computed in numpy. Window functions
        # over millions of strings were 10x slower.
        try:
            self.db.execute(
                f"CREATE OR REPLACE TEMP VIEW _src AS {source}",
            )
            self.db.execute("""CREATE OR REPLACE TEMP TABLE _keys AS
                SELECT target, loc, (row_number() OVER (ORDER BY target, loc) - 1)::INT AS sid
                FROM (SELECT DISTINCT target, loc FROM _src)""")
            self.db.execute("""CREATE OR REPLACE TEMP TABLE _vocab AS
                SELECT label, (row_number() OVER (ORDER BY label) - 1)::SMALLINT AS code
                FROM (SELECT DISTINCT label FROM _src)""")
            vocab = [
                r[0] for r in self.db.execute("SELECT label FROM _vocab ORDER BY code").fetchall()
            ]
            names = [
                (f"{t} @ {a}", t, a)
                for t, a in self.db.execute("SELECT target, loc FROM _keys ORDER BY sid").fetchall()
            ]
            cols = self.db.execute("""SELECT k.sid, epoch(s.time)::BIGINT AS t, v.code
                FROM _src s JOIN _keys k USING (target, loc) JOIN _vocab v USING (label)
                ORDER BY k.sid, s.time""").fetchnumpy()
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: cannot read verdict series: {exc}") from exc
        sid = np.asarray(cols["sid"], dtype=np.int64)
        counts = np.bincount(sid, minlength=len(names))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        pos = np.arange(len(sid)) - starts[sid]
        width = int(counts.max()) if len(counts) else 0
        codes = np.full((len(names), width), -1, dtype=np.int16)
        times = np.zeros((len(names), width), dtype=np.int64)
        codes[sid, pos] = np.asarray(cols["code"], dtype=np.int16)
        times[sid, pos] = np.asarray(cols["t"], dtype=np.int64)
        return SeriesData(names, codes, times, vocab)

    def import_ooni_observations(self, files: list[str]) -> int:
        """OONI's flattened observations (obs_web CSV, one row per measurement and endpoint)
        as verdicts: a measurement is blocked when at least half its endpoints failed, by
        the commonest failure class. Target: the input URL, or the test name (telegram).
        Vantage: the AS. Returns how many measurements were added."""
        for f in files:
            if not Path(f).is_file():
                raise StoreError(f"{f}: no such file (give OONI observation CSVs)")
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        sql = f"""
            INSERT INTO verdicts
            SELECT measurement_uid, '{self.run_id}',
                coalesce(nullif(any_value(input), ''), any_value(test_name)),
                'AS' || any_value(probe_asn), any_value(probe_asn), any_value(probe_cc),
                min(strptime(left(measurement_start_time, 19), '%Y-%m-%d %H:%M:%S')),
                CASE WHEN avg((failure_class != 'ok')::INT) >= 0.5 THEN 'blocked'
                     ELSE 'accessible' END,
                CASE WHEN avg((failure_class != 'ok')::INT) >= 0.5 THEN
                    CASE mode(failure_class) FILTER (WHERE failure_class != 'ok')
                        WHEN 'dns' THEN 'dns' WHEN 'tcp' THEN 'tcp_ip' WHEN 'tls' THEN 'tls'
                        ELSE 'http-failure' END END,
                NULL, 'ooni.observations',
                json_object('rule', 'ooni.observations',
                    'failed_share', round(avg((failure_class != 'ok')::INT), 3),
                    'endpoints', count(*), 'as_org', any_value(probe_as_org_name))
            FROM read_csv([{listing}], header = true, all_varchar = true)
            WHERE failure_class IS NOT NULL
            GROUP BY measurement_uid"""
        try:
            before = self.db.execute("SELECT count(*) FROM verdicts").fetchone()[0]  # type: ignore[index]
            self.db.execute(sql)
            after = self.db.execute("SELECT count(*) FROM verdicts").fetchone()[0]  # type: ignore[index]
        except duckdb.Error as exc:
            raise StoreError(f"{files[0]}...: not OONI observation CSVs? {exc}") from exc
        return int(after - before)

    def observations(self, vantage: str | None = None) -> dict[str, bool]:
        """Hostname -> blocked (blocked or throttled) from each name's latest verdict;
        inconclusive verdicts say nothing."""
        self.flush()
        rows = self.db.execute(
            """SELECT target, arg_max(verdict, time) FROM verdicts
               WHERE verdict != 'inconclusive' AND ($v IS NULL OR vantage = $v)
               GROUP BY target""",
            {"v": vantage},
        ).fetchall()
        out: dict[str, bool] = {}
        for target, verdict in rows:
            host = (urlsplit(target).hostname or target).lower()
            out[host] = out.get(host, False) or verdict in ("blocked", "throttled")
        return out

    def sent_alerts(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT key FROM alerts").fetchall()}

    def mark_sent(self, keys: list[str]) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        for k in keys:
            self.db.execute("INSERT OR IGNORE INTO alerts VALUES (?, ?)", [k, now])

    def vantages_by_country(self) -> dict[tuple[str, str], list[str]]:
        """(target, country) -> the vantages that measured that target there."""
        self.flush()
        rows = self.db.execute(
            "SELECT target, country, list(DISTINCT vantage ORDER BY vantage) FROM verdicts "
            "GROUP BY ALL"
        ).fetchall()
        return {(t, c): list(v) for t, c, v in rows}

    def close(self) -> None:
        self.flush()
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
