"""OONI's flattened observations (the obs_web and obs_web_ctrl tables, as CSV or
CSV.GZ), summed up per measurement in DuckDB. The summaries are data: the verdict table
(`analysis.verdict.decide_observed`) judges them.

obs_web has one row per measurement and endpoint (`ip`, `port`) with the failure of each
step (`dns_failure`, `tcp_failure`, `tls_failure`, `http_failure`); exports made for
analyses may add OONI's `failure_class` (ok, dns, tcp, tls, ...), which is used when
present. obs_web_ctrl has the control's rows for the same `measurement_uid`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import duckdb

from censorscope.errors import InputError
from censorscope.records import ObservedMeasurement
from censorscope.store.sql import literal

_STEPS = ("dns", "tcp", "tls", "http")
_NEEDED = ("measurement_uid", "measurement_start_time", "probe_asn", "probe_cc")


def _reader(files: list[str]) -> str:
    listing = ", ".join(literal(f) for f in files)
    return f"read_csv([{listing}], header = true, all_varchar = true, union_by_name = true)"


def _columns(db: duckdb.DuckDBPyConnection, file: str) -> set[str]:
    try:
        rows = db.execute(f"DESCRIBE SELECT * FROM {_reader([file])}").fetchall()
    except duckdb.Error as exc:
        raise InputError(
            file,
            "-",
            "not readable as CSV: " + str(exc).splitlines()[0],
            "check that it is a whole CSV or CSV.GZ export (a download cut short ends early)",
        ) from None
    return {r[0] for r in rows}


def _failed(cols: set[str]) -> str:
    """SQL: did some step of this row fail (a failure string, or a success of false)?"""
    terms = [f"coalesce({s}_failure, '') != ''" for s in _STEPS if f"{s}_failure" in cols]
    terms += [
        f"lower(coalesce({s}_success, '')) IN ('0', '0.0', 'false')"
        for s in _STEPS
        if f"{s}_success" in cols
    ]
    return "(" + (" OR ".join(terms) or "false") + ")"


def _failure_class(cols: set[str]) -> str:
    """SQL: the step that failed first, or 'ok'; OONI's own failure_class if exported."""
    if "failure_class" in cols:
        return "coalesce(nullif(failure_class, ''), 'ok')"
    cases = " ".join(
        f"WHEN coalesce({s}_failure, '') != '' THEN '{s}'" for s in _STEPS if f"{s}_failure" in cols
    )
    return f"CASE {cases} ELSE 'ok' END" if cases else "'ok'"


@dataclass(frozen=True, slots=True)
class Tables:
    """Observation files sorted by table, with the columns every file of a table has."""

    web: list[str]
    web_columns: set[str]
    ctrl: list[str] = field(default_factory=list)
    ctrl_columns: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)  # files left out, and why


def sort_files(db: duckdb.DuckDBPyConnection, files: list[str]) -> Tables:
    """obs_web and obs_web_ctrl files, told apart by their columns. A file that is neither,
    or cannot be read, is left out with a problem that names it; only when no obs_web
    file is left is that an error."""
    web: dict[str, set[str]] = {}
    ctrl: dict[str, set[str]] = {}
    problems: list[InputError] = []
    for f in files:
        try:
            cols = _kind_of(db, f)
        except InputError as exc:
            problems.append(exc)
            continue
        if all(c in cols for c in _NEEDED):
            web[f] = cols
        else:
            ctrl[f] = cols
    if not web:
        if problems:
            raise problems[0]
        raise InputError(files[0], "-", "only control observations", "add the obs_web files")
    return Tables(
        list(web),
        set.intersection(*web.values()),
        list(ctrl),
        set.intersection(*ctrl.values()) if ctrl else set(),
        [str(p) for p in problems],
    )


def _kind_of(db: duckdb.DuckDBPyConnection, file: str) -> set[str]:
    """The columns of an observation file; InputError if it is none."""
    if not Path(file).is_file():
        raise InputError(file, "-", "no such file", "give OONI observation CSVs (obs_web)")
    cols = _columns(db, file)
    is_web = all(c in cols for c in _NEEDED)
    is_ctrl = "measurement_uid" in cols and any(f"{s}_success" in cols for s in _STEPS)
    if not (is_web or is_ctrl):
        missing = [c for c in _NEEDED if c not in cols]
        raise InputError(
            file,
            "header",
            f"not an OONI obs_web or obs_web_ctrl table (no {missing})",
            "export the obs_web table (and obs_web_ctrl for the control)",
        )
    return cols


def read_observed(
    db: duckdb.DuckDBPyConnection, tables: Tables
) -> tuple[list[ObservedMeasurement], int]:
    """One summary per measurement of the obs_web files, with its control's from the
    obs_web_ctrl files; and how many measurements had no readable time or ASN (left out,
    counted)."""
    web, ctrl, wcols = tables.web, tables.ctrl, tables.web_columns
    input_expr = "nullif(any_value(input), '')" if "input" in wcols else "NULL"
    test_expr = "any_value(test_name)" if "test_name" in wcols else "'unknown'"
    org_expr = "any_value(probe_as_org_name)" if "probe_as_org_name" in wcols else "''"
    control_join, control_cols = "", "0, 0"
    if ctrl:
        control_join = f"""LEFT JOIN (
            SELECT measurement_uid, count(*) AS c_n, sum({_failed(tables.ctrl_columns)}::INT) AS c_f
            FROM {_reader(ctrl)} GROUP BY measurement_uid) USING (measurement_uid)"""
        control_cols = "coalesce(c_n, 0), coalesce(c_f, 0)"
    sql = f"""
        SELECT measurement_uid, target, asn, cc, t, n, f, cls, org, {control_cols}
        FROM (
            SELECT measurement_uid,
                coalesce({input_expr}, {test_expr}) AS target,
                try_cast(try_cast(any_value(probe_asn) AS DOUBLE) AS INTEGER) AS asn,
                any_value(probe_cc) AS cc,
                min(try_cast(left(measurement_start_time, 19) AS TIMESTAMP)) AS t,
                count(*) AS n,
                sum((cls != 'ok')::INT) AS f,
                mode(cls) FILTER (WHERE cls != 'ok') AS cls,
                coalesce({org_expr}, '') AS org
            FROM (SELECT *, {_failure_class(wcols)} AS cls FROM {_reader(web)})
            GROUP BY measurement_uid
        ) {control_join}
        ORDER BY t, measurement_uid"""
    try:
        rows = db.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise InputError(
            ", ".join(web),
            "-",
            "cannot read OONI observations: " + str(exc).splitlines()[0],
            "check that each is a whole CSV or CSV.GZ export of the obs_web table",
        ) from None
    readable = [r for r in rows if r[4] is not None and r[2] is not None]
    return [
        ObservedMeasurement(
            measurement_id=uid,
            target=target,
            asn=int(asn),
            country=cc or "ZZ",
            time=t.replace(tzinfo=UTC),
            endpoints=int(n),
            failed=int(f),
            failure_class=cls,
            as_org=org,
            control_endpoints=int(cn),
            control_failed=int(cf),
        )
        for uid, target, asn, cc, t, n, f, cls, org, cn, cf in readable
    ], len(rows) - len(readable)
