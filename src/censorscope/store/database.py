"""The embedded measurement store (DuckDB).

`measurements` holds one row per measurement with the raw steps laid out as OONI's
web_connectivity test keys (`queries`, `tcp_connect`, `tls_handshakes`, `requests`) plus
`throughput`; control measurements are rows too (`role = 'control'`). Another tool's
measurements (OONI, Censored Planet) carry `tool`, `source` (FILE:LINE), `uid` (OONI's
measurement_uid), `theirs` (the tool's own judgement) and, for app tests, `app` (what
their keys say). `verdicts` holds one row per (vantage, target, time) with the deciding
rule and its evidence. Times are
stored as UTC TIMESTAMPs. No local
address is ever written: the probe does not record one.

A measurement's id is its identity, hashed (`identity()`): where it comes from (the
scenario, the list, the other tool), its role, target, vantage and time; an imported one's
is the tool's own id. A row whose id is stored already is not added again, so re-running a
campaign or an import adds nothing twice and no reader counts a measurement twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from censorscope.analysis.timeline import VerdictRows
from censorscope.errors import StoreError
from censorscope.records import Imported, Measurement, ObservedMeasurement, Verdict
from censorscope.store import ooni
from censorscope.store.spool import Spool
from censorscope.store.sql import literal

_STEPS = ("queries", "tcp_connect", "tls_handshakes", "requests", "throughput")
BULK_CHECKPOINT = "192MB"  # of log between checkpoints while importing
BULK_MEMORY = "192MB"  # DuckDB's share of memory while importing (the rest spills to disk)
LOCK_WAIT = 60.0  # seconds a store waits for another process to let go of the file
WAITING = ".writer-waiting"  # beside the store while a writer waits (readers let go)
STORED_BODY = 1024  # characters of a body kept, as the probe keeps (records.HttpRequest)
# the columns rows are written to, in the order of the row tuples, with their Arrow types
_COLUMNS: dict[str, list[tuple[str, pa.DataType]]] = {
    "measurements": [
        ("id", pa.string()),
        ("run_id", pa.string()),
        ("role", pa.string()),
        ("test_name", pa.string()),
        ("measurement_start_time", pa.timestamp("us")),
        ("input", pa.string()),
        ("vantage", pa.string()),
        ("probe_asn", pa.int32()),
        ("probe_cc", pa.string()),
        ("resolver_alive", pa.bool_()),
        ("runtime", pa.float64()),
        ("control_id", pa.string()),
        *((step, pa.string()) for step in _STEPS),
        ("tool", pa.string()),
        ("source", pa.string()),
        ("uid", pa.string()),
        ("theirs", pa.string()),
        ("app", pa.string()),
        ("not_bogon", pa.string()),
    ],
    "verdicts": [
        ("measurement_id", pa.string()),
        ("run_id", pa.string()),
        ("target", pa.string()),
        ("vantage", pa.string()),
        ("asn", pa.int32()),
        ("country", pa.string()),
        ("time", pa.timestamp("us")),
        ("verdict", pa.string()),
        ("method", pa.string()),
        ("rate_kbps", pa.float64()),
        ("rule", pa.string()),
        ("evidence", pa.string()),
    ],
}
COLUMNS = _COLUMNS  # the lake's files have them too (store/lake.py)
# JSON documents (a measurement's steps, another tool's keys, a verdict's evidence):
# zstd keeps them in a quarter of the space DuckDB's default choice takes, and an import
# writes them in about half the time (its own choice tries every method on every block)
_DOCUMENTS = frozenset({*_STEPS, "theirs", "app", "evidence"})
_SQL_TYPES = {
    "string": "VARCHAR",
    "timestamp[us]": "TIMESTAMP",
    "int32": "INTEGER",
    "bool": "BOOLEAN",
    "double": "DOUBLE",
}


def _schema() -> str:
    """The tables from _COLUMNS, the one place their columns are declared. A column added
    since a store was made is added to it (JSON was VARCHAR's name for older stores)."""
    out = []
    for table, columns in _COLUMNS.items():
        decl = [
            f"{name} {_SQL_TYPES[str(t)]}"
            + (" USING COMPRESSION zstd" if name in _DOCUMENTS else "")
            for name, t in columns
        ]
        body = ",\n    ".join(decl)
        out.append(f"CREATE TABLE IF NOT EXISTS {table} (\n    {body}\n);")
        out += [f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {d};" for d in decl]
    # alerts sent before the outbox (to every sink at once); kept so they are not re-sent
    out.append("CREATE TABLE IF NOT EXISTS alerts (key VARCHAR PRIMARY KEY, sent TIMESTAMP);")
    # one row per alert and sink: sent once, after a 2xx; else retried from next_try
    out.append(
        "CREATE TABLE IF NOT EXISTS outbox (sink VARCHAR, key VARCHAR, alert VARCHAR,"
        " ord VARCHAR, attempts INTEGER, next_try TIMESTAMP, sent TIMESTAMP,"
        " error VARCHAR, PRIMARY KEY (sink, key));"
    )
    # the rounds of a campaign stored whole (`lab campaign --resume` skips them)
    out.append(
        "CREATE TABLE IF NOT EXISTS rounds (origin VARCHAR, time TIMESTAMP, verdicts INTEGER,"
        " done TIMESTAMP, PRIMARY KEY (origin, time));"
    )
    return "\n".join(out)


SCHEMA = _schema()
# the columns a Measurement is read back from, beside its steps
_HEAD = (
    "id",
    "test_name",
    "measurement_start_time",
    "input",
    "vantage",
    "probe_asn",
    "probe_cc",
    "resolver_alive",
    "runtime",
    "not_bogon",
)


def row_measurement(r: dict[str, Any]) -> Measurement:
    d = {k: json.loads(r[k]) if r[k] else [] for k in _STEPS}
    d.update(
        input=r["input"],
        vantage=r["vantage"],
        probe_asn=r["probe_asn"],
        probe_cc=r["probe_cc"],
        time=r["measurement_start_time"].replace(tzinfo=UTC).isoformat(),
        resolver_alive=r["resolver_alive"],
        runtime=r["runtime"],
        test_name=r["test_name"] or "web_connectivity",
        not_bogon=json.loads(r["not_bogon"]) if r.get("not_bogon") else (),
    )
    return Measurement.from_dict(d)


def identity(*parts: object) -> str:
    """A measurement's id from what identifies it: 32 hex digits, as unique as a random
    id for different parts, and the same for the same parts in every run."""
    key = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def own_identity(origin: str, role: str, m: Measurement) -> str:
    """The id of one of our measurements: `origin` names the scenario or list (and
    whatever else makes a run differ, e.g. the lab's noise); `m.time` is the round's
    time, virtual or real."""
    return identity("ours", origin, role, m.test_name, m.input, m.vantage, _utc(m.time))


def imported_identity(i: Imported, role: str, m: Measurement) -> str:
    """Another tool's measurement is identified by that tool's own id (OONI's
    measurement_uid, or report_id and input; Censored Planet's vantage point, service,
    domain and time), whatever file or path it was read from."""
    return identity(i.tool, role, i.uid, m.test_name, m.input)


def arrow_table(name: str, rows: list[tuple[Any, ...]]) -> pa.Table:
    """Rows of "measurements" or "verdicts" as an Arrow table of the store's columns."""
    names, types = zip(*_COLUMNS[name], strict=True)
    columns = zip(zip(*rows, strict=True), types, strict=True)
    return pa.table([pa.array(c, t) for c, t in columns], names=list(names))


def imported_rows(
    i: Imported, v: Verdict, run_id: str
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """The measurement rows (the control's first) and the verdict row of another tool's
    measurement: plain tuples, so that worker processes can make them."""
    for m in (i.measurement, i.control):
        for r in m.requests if m is not None else ():
            r.body = r.body[:STORED_BODY]  # judged on more; the store keeps the first KiB
    rows = []
    control_id = None
    if i.control is not None:
        # the control's row says where it came from; the tool's judgement is the vantage's
        cid = imported_identity(i, "control", i.control)
        rows.append(measurement_row(i.control, cid, "control", None, i, run_id, theirs=False))
        control_id = cid
    mid = imported_identity(i, "vantage", i.measurement)
    rows.append(measurement_row(i.measurement, mid, "vantage", control_id, i, run_id))
    return rows, verdict_row(v, rows[-1][0], run_id)


def measurement_row(
    m: Measurement,
    mid: str,
    role: str,
    control_id: str | None,
    i: Imported | None,
    run_id: str,
    theirs: bool = True,
) -> tuple[Any, ...]:
    return (
        mid,
        run_id,
        role,
        m.test_name,
        _utc(m.time),
        m.input,
        m.vantage,
        m.probe_asn,
        m.probe_cc,
        m.resolver_alive,
        m.runtime,
        control_id,
        *(orjson.dumps(getattr(m, k)).decode() for k in _STEPS),
        i.tool if i else None,
        i.source if i else None,
        i.uid if i else None,
        _dumps(i.theirs) if i and theirs else None,
        _dumps(i.app) if i and theirs and i.app is not None else None,
        orjson.dumps(m.not_bogon).decode() if m.not_bogon else None,
    )


def _dumps(value: Any) -> str:
    """Another tool's keys as JSON, as they came (an integer past 64 bits too)."""
    try:
        return orjson.dumps(value, default=str).decode()
    except TypeError:
        return json.dumps(value, default=str)


def verdict_row(v: Verdict, mid: str, run_id: str) -> tuple[Any, ...]:
    return (
        mid,
        run_id,
        v.target,
        v.vantage,
        v.asn,
        v.country,
        _utc(v.time),
        v.verdict,
        v.method,
        v.rate_kbps,
        v.rule,
        orjson.dumps({"rule": v.rule, **v.evidence}, default=str).decode(),
    )


def _insert(
    db: duckdb.DuckDBPyConnection, name: str, rows: pa.Table | pa.RecordBatchReader
) -> None:
    cols = ", ".join(rows.schema.names)
    db.execute(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM rows")


def new_run_id() -> str:
    """A run's id: what each import, round or campaign writes is marked with it."""
    return uuid.uuid4().hex[:12]


# per table: the column that identifies a row, and its time (rows with one id have one
# time, and the time column lets DuckDB skip the row groups of other times)
IDENTITY = {
    "measurements": ("id", "measurement_start_time"),
    "verdicts": ("measurement_id", "time"),
}


def _insert_new(db: duckdb.DuckDBPyConnection, name: str, rows: pa.Table) -> int:
    """Rows whose id is not stored yet (nor earlier in `rows`); how many went in."""
    key, t = IDENTITY[name]
    cols = ", ".join(rows.schema.names)
    lo, hi = db.execute(f"SELECT min({t}), max({t}) FROM rows").fetchone() or (None, None)
    got = db.execute(
        f"""INSERT INTO {name} ({cols}) SELECT {cols} FROM rows r
        WHERE NOT EXISTS (SELECT 1 FROM {name} x
                          WHERE x.{t} BETWEEN $lo AND $hi AND x.{key} = r.{key})
        QUALIFY row_number() OVER (PARTITION BY r.{key}) = 1""",
        {"lo": lo, "hi": hi},
    ).fetchone()
    return int(got[0]) if got else 0


def _utc(t: datetime) -> datetime:
    if t.tzinfo is UTC:
        return t.replace(tzinfo=None)
    return t.astimezone(UTC).replace(tzinfo=None)


class Store:
    """Buffered writes; `flush()` (or leaving the context) commits what was added.
    `origin` is the part of our measurements' identity that names where they come from
    (own_identity); `repeated` counts the measurements not added because they were
    stored already."""

    def __init__(
        self,
        path: str | Path,
        run_id: str | None = None,
        origin: str = "",
        read_only: bool = False,
        wait: float = LOCK_WAIT,
        connection: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        """`connection`: read through one opened elsewhere (a cursor of a shared reader),
        which this store neither opens nor closes."""
        self.path = str(path)
        self.read_only, self.wait = read_only or connection is not None, wait
        self._db: duckdb.DuckDBPyConnection | None = connection
        self._schema_done = self.read_only
        if self.path != ":memory:" and not read_only:
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc
        self.db  # noqa: B018 - opened now, so that a bad path is said at once
        self.run_id = run_id or new_run_id()
        self.origin = origin
        self.repeated = 0
        self._m: list[tuple[Any, ...]] = []
        self._v: list[tuple[Any, ...]] = []
        self._controls: set[str] = set()  # added since the last flush (shared by vantages)
        self._spool: Spool | None = None

    # One store, many processes: DuckDB lets one process at a time open a file for
    # writing. Writers let go of it between rounds (`release`) and every opener waits
    # its turn (up to `wait` seconds) instead of failing on the lock, so a dashboard,
    # `timeline` or `report` reads while a campaign or `measure --every` writes.
    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> duckdb.DuckDBPyConnection:
        deadline, pause = time.monotonic() + self.wait, 0.01
        marker = Path(self.path + WAITING)
        try:
            while True:
                try:
                    db = duckdb.connect(self.path, read_only=self.read_only)
                    break
                except duckdb.IOException as exc:
                    locked = "lock" in str(exc).lower()
                    if not locked or time.monotonic() >= deadline:
                        why = " (another process kept it longer than the wait)" if locked else ""
                        raise StoreError(f"{self.path}: cannot open the store: {exc}{why}") from exc
                    if not self.read_only:  # a writer waits: long-lived readers let go
                        with contextlib.suppress(OSError):
                            marker.touch()
                    time.sleep(pause)
                    pause = min(pause * 2, 0.2)
                except (duckdb.Error, OSError) as exc:
                    raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc
        finally:
            if not self.read_only:
                with contextlib.suppress(OSError):
                    marker.unlink(missing_ok=True)
        try:
            db.execute("SET enable_progress_bar = false")  # ours only, on our terminal
            if not self._schema_done:
                db.execute(SCHEMA)
                self._schema_done = True
        except duckdb.Error as exc:
            db.close()
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from exc
        return db

    def release(self) -> None:
        """Write what waits and let go of the file until this store is used again: other
        processes may open it meanwhile (a writer calls it between rounds)."""
        self.flush()
        if self._db is not None and self.path != ":memory:":
            self._db.close()
            self._db = None

    def add(self, m: Measurement, v: Verdict | None, control: Measurement | None = None) -> str:
        control_id = None
        if control is not None:
            control_id = own_identity(self.origin, "control", control)
            if control_id not in self._controls:
                self._add_measurement(control, control_id, "control", None)
                self._controls.add(control_id)
        mid = self._add_measurement(
            m, own_identity(self.origin, "vantage", m), "vantage", control_id
        )
        if v is not None:
            self._v.append(self._verdict_row(v, mid))
        if len(self._m) >= 2000:
            self.flush()
        return mid

    def _verdict_row(self, v: Verdict, mid: str) -> tuple[Any, ...]:
        return verdict_row(v, mid, self.run_id)

    def _add_measurement(self, m: Measurement, mid: str, role: str, control_id: str | None) -> str:
        self._m.append(measurement_row(m, mid, role, control_id, None, self.run_id))
        return mid

    def flush(self) -> None:
        if not self._m and not self._v:
            return
        # handed to DuckDB as Arrow columns: 5x faster than COPY from CSV, and no text
        # is parsed again (JSON is kept as VARCHAR: DuckDB's JSON type re-validates it)
        tables = [(name, arrow_table(name, rows)) for name, rows in
                  (("measurements", self._m), ("verdicts", self._v)) if rows]  # fmt: skip
        self.add_tables(tables)
        self._m.clear()
        self._v.clear()
        self._controls.clear()

    @contextlib.contextmanager
    def bulk(self) -> Iterator[Spool]:
        """Many rows to come (an import): they wait in a spool on disk (store/spool.py)
        and are written at the end, also when the import is interrupted (what was judged
        is kept). DuckDB checkpoints rarely meanwhile: its checkpoint every 16 MB of log
        rewrote more of a table of long strings each time (at 200,000 imported
        measurements an insert cost 10x what it did at the start)."""
        self.release()  # judging takes long: others may open the store meanwhile
        spool = self._spool = Spool(self.path)
        try:
            yield spool
        finally:
            self._spool = None
            try:
                self.flush()
                self.db.execute(f"SET checkpoint_threshold='{BULK_CHECKPOINT}'")
                self.db.execute(f"SET memory_limit='{BULK_MEMORY}'")
                self._append_all(spool.streams())
                self._drop_repeated()
                self.db.execute("RESET checkpoint_threshold")
                self.db.execute("RESET memory_limit")
                self.db.execute("CHECKPOINT")
            except (duckdb.Error, OSError) as exc:
                raise StoreError(f"{self.path}: cannot write measurements: {exc}") from exc
            finally:
                spool.close()

    def _append_all(self, streams: list[tuple[str, Path]]) -> None:
        """Every spooled file into its table, by a few appenders (cursors) at once, each
        taking its share of the files: DuckDB appends to one table from several
        transactions without conflict."""
        failed: list[BaseException] = []
        # per table, two shares of its files, each one INSERT reading them in turn (an
        # INSERT per file, of a worker's 1,000 rows, made DuckDB hold far more memory)
        shares: list[tuple[str, list[Path]]] = []
        for name in sorted({n for n, _ in streams}):
            files = [p for n, p in streams if n == name]
            shares += [(name, files[k::2]) for k in range(min(2, len(files)))]

        def batches(files: list[Path]) -> Iterator[pa.RecordBatch]:
            for path in files:
                with pa.OSFile(str(path), "rb") as source:
                    yield from pa.ipc.open_stream(source)

        def append(name: str, files: list[Path]) -> None:
            try:
                with pa.OSFile(str(files[0]), "rb") as first:
                    schema = pa.ipc.open_stream(first).schema
                rows = pa.RecordBatchReader.from_batches(schema, batches(files))
                with self.db.cursor() as cursor:
                    _insert(cursor, name, rows)
            except BaseException as exc:  # noqa: BLE001 (raised in the caller's thread)
                failed.append(exc)

        threads = [threading.Thread(target=append, args=s) for s in shares]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failed:
            raise failed[0]

    def _drop_repeated(self) -> None:
        """After a bulk append: of the rows with one id (a measurement imported before,
        or twice in one import), the stored one stays; of those of this import, the one
        read from the first file and line by name (the spool's rows come in no order,
        and another engine must keep the same: engine/spark_import.py)."""
        for name, (key, t) in IDENTITY.items():
            then = "source, rowid" if name == "measurements" else "rowid"
            lo, hi = self.db.execute(
                f"SELECT min({t}), max({t}) FROM {name} WHERE run_id = ?", [self.run_id]
            ).fetchone() or (None, None)
            if lo is None:
                continue
            row = self.db.execute(
                f"""DELETE FROM {name} WHERE rowid IN (
                    SELECT rowid FROM {name} WHERE {t} BETWEEN $lo AND $hi AND {key} IN
                        (SELECT {key} FROM {name} WHERE run_id = $run)
                    QUALIFY row_number() OVER
                        (PARTITION BY {key} ORDER BY run_id = $run, {then}) > 1)""",
                {"lo": lo, "hi": hi, "run": self.run_id},
            ).fetchone()
            if name == "verdicts" and row:
                self.repeated += int(row[0])

    def add_tables(self, tables: list[tuple[str, pa.Table]]) -> None:
        """Rows already in Arrow tables (arrow_table(), made in a worker process, say).
        Rows whose id is stored already are left out; the tables go in together."""
        try:
            if self._spool is not None:
                for name, table in tables:
                    self._spool.add(name, table)
                return
            self.db.execute("BEGIN")
            for name, table in tables:
                added = _insert_new(self.db, name, table)
                if name == "verdicts":
                    self.repeated += len(table) - added
            self.db.execute("COMMIT")
        except (duckdb.Error, OSError) as exc:
            with contextlib.suppress(duckdb.Error):
                self.db.execute("ROLLBACK")
            raise StoreError(f"{self.path}: cannot write measurements: {exc}") from exc

    def round_done(self, at: datetime, verdicts: int) -> None:
        """A campaign's round at `at` is stored whole (after flush())."""
        self.db.execute(
            "INSERT OR REPLACE INTO rounds VALUES (?, ?, ?, ?)",
            [self.origin, _utc(at), verdicts, _utc(datetime.now(UTC))],
        )

    def rounds_done(self) -> set[datetime]:
        """The times of this origin's rounds stored whole, in UTC."""
        rows = self.db.execute("SELECT time FROM rounds WHERE origin = ?", [self.origin])
        return {t.replace(tzinfo=UTC) for (t,) in rows.fetchall()}

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
        return [row_measurement(dict(zip(cols, row, strict=True))) for row in cur.fetchall()]

    def with_controls(
        self, batch: int = 1000
    ) -> Iterator[tuple[str, Measurement, Measurement | None, dict[str, Any] | None]]:
        """Every vantage measurement with its control and its latest verdict row, streamed
        in batches: (id, measurement, control, verdict row or None)."""
        self.flush()
        cols = ", ".join((*_HEAD, *_STEPS))
        c_cols = ", ".join(f"c.{x.strip()} AS c_{x.strip()}" for x in cols.split(","))
        m_cols = ", ".join(f"m.{x.strip()}" for x in cols.split(","))
        cur = self.db.execute(
            f"""SELECT {m_cols}, {c_cols}, v.target, v.vantage AS v_vantage, v.asn, v.country,
                   v.time, v.verdict, v.method, v.rate_kbps, v.rule, v.evidence
            FROM measurements m
            LEFT JOIN measurements c ON c.id = m.control_id
            LEFT JOIN (SELECT * FROM verdicts QUALIFY row_number() OVER
                       (PARTITION BY measurement_id ORDER BY time DESC) = 1) v
              ON v.measurement_id = m.id
            WHERE m.role = 'vantage' ORDER BY m.measurement_start_time, m.id"""
        )
        names = [c[0] for c in cur.description]
        while rows := cur.fetchmany(batch):
            for row in rows:
                r = dict(zip(names, row, strict=True))
                control = None
                if r["c_id"] is not None:
                    theirs = {k[2:]: v for k, v in r.items() if k.startswith("c_")}
                    control = row_measurement(theirs)
                verdict = None
                if r["verdict"] is not None:
                    verdict = {
                        k: r[k]
                        for k in (
                            "target",
                            "asn",
                            "country",
                            "time",
                            "verdict",
                            "method",
                            "rate_kbps",
                            "rule",
                            "evidence",
                        )
                    }
                    verdict["vantage"] = r["v_vantage"]
                yield r["id"], row_measurement(r), control, verdict

    def compared(self) -> list[dict[str, Any]]:
        """Other tools' measurements with their own judgement beside our verdict."""
        self.flush()
        cur = self.db.execute(
            """SELECT m.tool, m.source, m.uid, m.test_name, m.theirs, v.target, v.vantage,
                      v.asn, v.country, v.time, v.verdict, v.method, v.rule, v.evidence
               FROM measurements m JOIN verdicts v ON v.measurement_id = m.id
               WHERE m.role = 'vantage' AND m.tool IS NOT NULL
               ORDER BY m.tool, v.time, m.source"""
        )
        cols = [c[0] for c in cur.description]
        out = []
        for row in cur.fetchall():
            r = dict(zip(cols, row, strict=True))
            r["theirs"] = json.loads(r["theirs"]) if r["theirs"] else {}
            r["evidence"] = json.loads(r["evidence"]) if r["evidence"] else {}
            r["time"] = r["time"].replace(tzinfo=UTC)
            out.append(r)
        return out

    def verdict_rows(
        self, per: str = "vantage", target: str | None = None, skip: Sequence[str] = ()
    ) -> VerdictRows:
        """The stored verdicts as arrays, so that millions of rows arrive as a few integer
        arrays: each row's series, time and (verdict, method) kind. `per`: "vantage" (a
        series per target and vantage) or "country" (per target and country, counted per
        hour and verdict: `counts`). Verdicts in `skip` are left out. What the rows mean
        is for analysis.timeline to say."""
        self.flush()
        cond = "true"
        if skip:
            cond = "verdict NOT IN (" + ", ".join(literal(s) for s in skip) + ")"
        if target:
            cond += " AND target = " + literal(target)
        if per == "vantage":
            source = f"""SELECT target, vantage AS loc, time, verdict,
                coalesce(method, '') AS method FROM verdicts WHERE {cond}"""
        elif per == "country":
            source = f"""SELECT target, country AS loc, date_trunc('hour', time) AS time,
                verdict, '' AS method, count(*) AS n
                FROM verdicts WHERE {cond} GROUP BY ALL"""
        else:
            raise ValueError(f"per must be vantage or country, not {per!r}")
        # Strings are turned into small integers by hash joins against the (few) series
        # and kinds; positions within a series are computed in numpy. Window functions
        # over millions of strings were 10x slower.
        try:
            # a view: each of the three scans below reads the verdicts table itself, which
            # is faster than materialising ten million rows once
            self.db.execute(f"CREATE OR REPLACE TEMP VIEW _src AS {source}")
            self.db.execute("""CREATE OR REPLACE TEMP TABLE _keys AS
                SELECT target, loc, (row_number() OVER (ORDER BY target, loc) - 1)::INT AS sid
                FROM (SELECT DISTINCT target, loc FROM _src)""")
            self.db.execute("""CREATE OR REPLACE TEMP TABLE _kinds AS
                SELECT verdict, method,
                    (row_number() OVER (ORDER BY verdict, method) - 1)::SMALLINT AS code
                FROM (SELECT DISTINCT verdict, method FROM _src)""")
            kinds = [
                (v, m or None)
                for v, m in self.db.execute(
                    "SELECT verdict, method FROM _kinds ORDER BY code"
                ).fetchall()
            ]
            names = [
                (f"{t} @ {a}", t, a)
                for t, a in self.db.execute("SELECT target, loc FROM _keys ORDER BY sid").fetchall()
            ]
            n = ", s.n" if per == "country" else ""
            cols = self.db.execute(f"""SELECT k.sid, epoch(s.time)::BIGINT AS t, c.code{n}
                FROM _src s JOIN _keys k USING (target, loc) JOIN _kinds c USING (verdict, method)
                ORDER BY k.sid, s.time""").fetchnumpy()
        except duckdb.Error as exc:
            raise StoreError(f"{self.path}: cannot read verdict series: {exc}") from exc
        return VerdictRows(
            names=names,
            sid=np.asarray(cols["sid"], dtype=np.int64),
            t=np.asarray(cols["t"], dtype=np.int64),
            code=np.asarray(cols["code"], dtype=np.int16),
            kinds=kinds,
            counts=np.asarray(cols["n"], dtype=np.int64) if per == "country" else None,
        )

    def add_verdict(self, v: Verdict, measurement_id: str) -> None:
        """A verdict on a measurement kept elsewhere (another tool's, by its id)."""
        self._v.append(self._verdict_row(v, measurement_id))

    def observed(self, files: list[str]) -> tuple[list[ObservedMeasurement], list[str]]:
        """OONI observation files (obs_web, and obs_web_ctrl for the control), summed up
        per measurement (store.ooni): data for the verdict table, not verdicts. Also the
        problems met: files left out, measurements without a readable time or ASN."""
        tables = ooni.sort_files(self.db, files)
        observed, unreadable = ooni.read_observed(self.db, tables)
        problems = list(tables.problems)
        if unreadable:
            problems.append(
                f"{', '.join(tables.web)}: {unreadable} measurement(s) left out: no readable"
                " measurement_start_time or probe_asn"
            )
        return observed, problems

    def latest_verdicts(
        self, vantage: str | None = None, skip: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """(target, verdict) of each target's latest verdict not in `skip`, of one vantage
        or of all."""
        self.flush()
        return self.db.execute(
            """SELECT target, arg_max(verdict, time) FROM verdicts
               WHERE ($v IS NULL OR vantage = $v) AND NOT list_contains($skip, verdict)
               GROUP BY target ORDER BY target""",
            {"v": vantage, "skip": list(skip)},
        ).fetchall()

    def targets(self) -> set[str]:
        """Every target with a stored verdict."""
        self.flush()
        return {t for (t,) in self.db.execute("SELECT DISTINCT target FROM verdicts").fetchall()}

    def verdicts_on(self, hostnames: Sequence[str], skip: Sequence[str] = ()) -> list[Verdict]:
        """The stored verdicts (without evidence) of every target on these names, by time:
        a platform's endpoints and its other pages."""
        self.flush()
        rows = self.db.execute(
            r"""SELECT target, vantage, asn, country, time, verdict, method, rate_kbps, rule
               FROM verdicts
               WHERE lower(regexp_extract(target, '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)', 1))
                     IN (SELECT unnest($hosts)) AND NOT list_contains($skip, verdict)
               ORDER BY time, target, vantage""",
            {"hosts": [h.lower() for h in hostnames], "skip": list(skip)},
        ).fetchall()
        return [
            Verdict(t, van, asn or 0, cc or "ZZ", time.replace(tzinfo=UTC), v, m, rate, rule or "")
            for t, van, asn, cc, time, v, m, rate, rule in rows
        ]

    def sent_alerts(self) -> set[str]:
        """Keys of alerts sent before the outbox existed (to every sink)."""
        return {r[0] for r in self.db.execute("SELECT key FROM alerts").fetchall()}

    def enqueue_alerts(self, sink: str, alerts: list[tuple[str, str, str]], now: datetime) -> None:
        """(key, alert as JSON, order) into the sink's outbox; one already there stays."""
        if not alerts:
            return
        self.db.executemany(
            "INSERT OR IGNORE INTO outbox VALUES (?, ?, ?, ?, 0, ?, NULL, NULL)",
            [(sink, k, a, o, _utc(now)) for k, a, o in alerts],
        )

    def unsent_alerts(self, sink: str) -> list[tuple[str, str, int, datetime]]:
        """(key, alert JSON, attempts so far, next try in UTC) not yet sent to `sink`,
        in order."""
        return self.db.execute(
            "SELECT key, alert, attempts, next_try FROM outbox WHERE sink = ? AND sent IS NULL"
            " ORDER BY ord, key",
            [sink],
        ).fetchall()

    def alert_sent(self, sink: str, key: str, now: datetime) -> None:
        self.db.execute(
            "UPDATE outbox SET sent = ?, attempts = attempts + 1, error = NULL"
            " WHERE sink = ? AND key = ?",
            [_utc(now), sink, key],
        )

    def alert_failed(self, sink: str, key: str, error: str, next_try: datetime) -> None:
        self.db.execute(
            "UPDATE outbox SET attempts = attempts + 1, error = ?, next_try = ?"
            " WHERE sink = ? AND key = ?",
            [error, _utc(next_try), sink, key],
        )

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
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
