"""Generated OONI web_connectivity measurements, made from the real ones in tests/data/ooni
(v0.4 and LTE; accessible, DNS-bogon, blockpage, down, redirect and probe-error cases):
each copy gets another input name, answer addresses, network, country and time.

`slow` makes that share of the LTE copies a handshake OONI's metric calls throttled (the
trace of Twitter's 2021 throttling), so that the peers of their network and hour decide;
`repeat` makes that share of documents a copy of an earlier one (the same measurement
found twice: one stays). Used by bench/bench_ooni_import.py, bench/bench_spark.py and
tests/engine (identical results of the two engines).
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ooni"
TEMPLATES = (
    "report1",
    "report2",
    "web_connectivity_ir_fp",
    "web_connectivity_b64_hdr",
    "web_connectivity_no_body",
    "web_connectivity_odd_hdr",
    "web_connectivity_null2",
    "bug_352",
    "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3",
    "lte-8844",
)
SLOW_FROM = "lte-8844"  # the template a slow handshake is made of


def templates() -> list[tuple[str, list[str], str]]:
    """(JSON text, its answer addresses, its input host) per real measurement."""
    out = []
    for name in TEMPLATES:
        doc = json.loads(gzip.decompress((DATA / f"{name}.json.gz").read_bytes()))
        host = doc["input"].split("/")[2]
        answers = [
            a.get("ipv4")
            for q in doc["test_keys"].get("queries") or []
            for a in q.get("answers") or []
            if a.get("ipv4")
        ]
        out.append((json.dumps(doc), sorted(set(answers)), host))
    return out


def slowed(doc: dict[str, Any]) -> dict[str, Any]:
    """The measurement with its handshake read at under 20 kbit/s for seconds."""
    tk = doc["test_keys"]
    h = tk["tls_handshakes"][0]
    h.update(t0=0.0, t=10.16, failure="generic_timeout_error")
    tk["network_events"] = [
        {"address": h["address"], "operation": "read", "num_bytes": n, "t": t}
        for n, t in ((517, 5.78), (507, 5.78), (848, 9.47))
    ]
    for r in tk.get("requests") or []:
        r["failure"] = "generic_timeout_error"
    return doc


def documents(
    n: int, seed: int = 1, slow: float = 0.0, repeat: float = 0.0, networks: int = 60,
    days: int = 30,
) -> Iterator[bytes]:  # fmt: skip
    """n measurement lines (JSON, no newline), from `networks` ASNs over `days` days."""
    rng = random.Random(seed)
    tpls = templates()
    asns = [rng.randrange(1000, 60000) for _ in range(networks)]
    ccs = ["RU", "IR", "CN", "TR", "KZ", "BY", "IN", "ID", "EG", "PK"]
    earlier: list[bytes] = []
    for i in range(n):
        if earlier and rng.random() < repeat:
            yield rng.choice(earlier)
            continue
        k = i % len(tpls)
        text, answers, host = tpls[k]
        name = f"site{rng.randrange(50_000)}.example{rng.randrange(40)}.org"
        text = text.replace(host, name)
        for a in answers:
            text = text.replace(f'"{a}', f'"{rng.randrange(1, 223)}.{rng.randrange(256)}.'
                                f'{rng.randrange(256)}.{rng.randrange(1, 255)}')  # fmt: skip
        doc = orjson.loads(text)
        if TEMPLATES[k] == SLOW_FROM and rng.random() < slow:
            doc = slowed(copy.deepcopy(doc))
        doc["probe_asn"] = f"AS{rng.choice(asns)}"
        doc["probe_cc"] = rng.choice(ccs)
        day, sec = rng.randrange(days), rng.randrange(86400)
        doc["measurement_start_time"] = (
            f"2024-03-{day + 1:02d} {sec // 3600:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}"
        )
        doc["measurement_uid"] = f"bench{i}"
        line = orjson.dumps(doc)
        if repeat and len(earlier) < 1000:
            earlier.append(line)
        yield line


def generate(path: Path, n: int, seed: int = 1, slow: float = 0.0, repeat: float = 0.0) -> int:
    """n measurements as one .jsonl.gz file; its size."""
    with gzip.open(path, "wb", compresslevel=1) as f:
        for line in documents(n, seed, slow, repeat):
            f.write(line + b"\n")
    return path.stat().st_size


def generate_tree(root: Path, n: int, files: int, seed: int = 1, **kw: Any) -> int:
    """n measurements in `files` .jsonl.gz files under root/DAY/NN/ (as OONI's raw
    layout nests them); their total size. `kw`: as documents() takes them."""
    per = -(-n // files)
    lines = documents(n, seed, **kw)
    size = 0
    for k in range(files):
        path = root / f"2024030{1 + k % 3}" / f"{k:04d}" / f"web-{k:04d}.jsonl.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wb", compresslevel=1) as f:
            for _ in range(per):
                line = next(lines, None)
                if line is None:
                    break
                f.write(line + b"\n")
        size += path.stat().st_size
    return size
