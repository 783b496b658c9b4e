"""Judging another tool's measurements a chunk at a time: the work both engines share
(the embedded importer's worker processes, Spark's Python workers).

A chunk of documents becomes the store's rows (measurements and verdicts, as tuples),
the `--json` lines, each web measurement's (ASN, hour) and handshake class (for counting
peers), the measurements that must wait for those counts (a slow handshake trace), and
the problems met. The second pass (`judge_deferred`) judges the waiting ones once every
peer has been counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from censorscope.analysis.peers import HandshakePeers, handshake_class
from censorscope.analysis.verdict import decide_imported
from censorscope.inputs import documents
from censorscope.records import Imported, Verdict
from censorscope.store.database import imported_rows
from censorscope.wire import censoredplanet as cp_format
from censorscope.wire.ooni import FormatProblem, parse


@dataclass(slots=True)
class Judged:
    """What a chunk of documents gave. `places[k]`: the document (its index in the
    chunk) that verdict k, line k or deferred k came from, so that an engine that does
    not keep the chunk's order (Spark) can restore it."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # rows[k] belongs to verdicts[owners[k]]
    verdicts: list[tuple[Any, ...]] = field(default_factory=list)
    judged: int = 0
    apps: int = 0
    is_app: list[bool] = field(default_factory=list)  # per verdict
    lines: list[str] = field(default_factory=list)
    places: list[int] = field(default_factory=list)
    keys: list[tuple[tuple[int, int], str | None]] = field(default_factory=list)
    deferred: list[Imported] = field(default_factory=list)
    deferred_places: list[int] = field(default_factory=list)
    problems: list[documents.Problem] = field(default_factory=list)
    problem_places: list[int] = field(default_factory=list)


def judge(
    docs: Iterable[documents.Document | documents.Problem], tool: str, run_id: str, lines: bool
) -> Judged:
    """Decode, parse and judge each document (by the verdict table); a slow handshake
    trace waits for the second pass."""
    out = Judged()
    for place, item in enumerate(docs):
        if isinstance(item, documents.Problem):
            out.problems.append(item)
            out.problem_places.append(place)
            continue
        try:
            doc = item.decoded()
        except orjson.JSONDecodeError as exc:
            out.problems.append(documents.not_json(item.source, exc))
            out.problem_places.append(place)
            continue
        try:
            found = (
                [parse(doc, item.source)] if tool == "ooni" else cp_format.parse(doc, item.source)
            )
        except FormatProblem as p:
            out.problems.append(documents.Problem(item.source, p.why, p.fix))
            out.problem_places.append(place)
            continue
        for i in found:
            web = i.app is None and i.scan is None
            cls = handshake_class(i.measurement) if web else None
            out.keys.append((HandshakePeers.key(i.measurement), cls))
            if cls == "slow":
                out.deferred.append(i)
                out.deferred_places.append(place)
                continue
            _add(out, i, decide_imported(i), run_id, lines, place)
    return out


def judge_deferred(
    waiting: Iterable[tuple[Imported, int]], peers: HandshakePeers, run_id: str, lines: bool
) -> Judged:
    """The second pass: each waiting measurement judged with its peers' handshakes."""
    out = Judged()
    for i, place in waiting:
        _add(out, i, decide_imported(i, peers.judge(i.measurement)), run_id, lines, place)
    return out


def _add(out: Judged, i: Imported, v: Verdict, run_id: str, lines: bool, place: int) -> None:
    m_rows, v_row = imported_rows(i, v, run_id)
    out.rows.extend(m_rows)
    out.owners.extend([len(out.verdicts)] * len(m_rows))
    out.verdicts.append(v_row)
    out.judged += 1
    out.apps += i.app is not None
    out.is_app.append(i.app is not None)
    out.places.append(place)
    if lines:
        out.lines.append(json.dumps(line(i, v), ensure_ascii=False))


def line(i: Imported, v: Verdict) -> dict[str, Any]:
    """The --json line: the verdict's fields, where it came from, and the tool's own."""
    return {
        **v.to_dict(),
        "test_name": i.measurement.test_name,
        "source": i.source,
        "measurement_uid": i.uid,
        i.tool: i.theirs,  # "ooni" or "censoredplanet": the tool's own judgement
    }
