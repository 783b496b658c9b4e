"""Measurement files of other tools (OONI's raw measurements, Censored Planet's results),
read as a stream of JSON documents.

A path is a `.json` file (one measurement, a list of them, or JSON lines under that
name), a `.jsonl` or `.jsonl.gz` file, or a directory walked recursively (OONI's raw
layout `raw/YYYYMMDD/HH/CC/TESTNAME/*.jsonl.gz`). Lines are read one at a time, so
memory stays flat whatever the file size. What cannot be read is yielded as a Problem
naming the file, the line and the reason; reading goes on with the next line or file.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
from isal import isal_zlib

MAX_LINE = 5 * 1024 * 1024  # OONI's largest web_connectivity lines are about 1 MB
MAX_JSON = 256 * 1024 * 1024  # a .json document (not lines) read whole up to this
SUFFIXES = (".json", ".jsonl", ".jsonl.gz", ".json.gz")


@dataclass(frozen=True, slots=True)
class Document:
    source: str  # FILE:LINE, FILE[i] for the i-th of a JSON list, FILE for a lone object
    doc: Any = None
    raw: bytes = b""  # a line not yet decoded (decoded where it is judged: `decoded()`)

    def decoded(self) -> Any:
        """The document; orjson.JSONDecodeError for a line that is not JSON."""
        return orjson.loads(self.raw) if self.raw else self.doc


@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    why: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.source}: {self.why}" + (f" ({self.fix})" if self.fix else "")


def files(paths: list[str]) -> Iterator[Path | Problem]:
    """The measurement files under the paths given, in order; the rest as problems."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    f = Path(root) / name
                    if name.endswith(SUFFIXES):
                        yield f
                    else:
                        yield Problem(str(f), "not a .json, .jsonl or .jsonl.gz file: left out")
        elif path.exists():
            yield path
        else:
            yield Problem(p, "no such file or directory")


def documents(path: Path) -> Iterator[Document | Problem]:
    """Every JSON document of one file, or the problem met at its place. Lines are
    yielded undecoded (`Document.decoded()`), so that another process can decode them."""
    return expand(batched(path))


def batched(path: Path) -> Iterator[Lines | Document | Problem]:
    """documents(), with a JSONL file's lines in batches (Lines) to be split later."""
    name = str(path)
    try:
        with path.open("rb") as raw:
            yield from _read(name, raw)
    except OSError as exc:
        yield Problem(name, f"cannot read: {exc.strerror or exc}")


def batched_bytes(name: str, data: bytes) -> Iterator[Lines | Document | Problem]:
    """batched() of a file's bytes read elsewhere (by Spark from any file system it
    knows), named `name`."""
    try:
        yield from _read(name, io.BytesIO(data))
    except OSError as exc:
        yield Problem(name, f"cannot read: {exc.strerror or exc}")


def _read(name: str, raw: IO[bytes]) -> Iterator[Lines | Document | Problem]:
    gz = raw.read(2) == b"\x1f\x8b"
    raw.seek(0)
    if name.endswith((".json", ".json.gz")):
        stream: IO[bytes] = gzip.GzipFile(fileobj=raw) if gz else raw  # type: ignore[assignment]
        yield from _json_file(name, stream)
    else:
        yield from batches(name, _blocks(raw, gz))


BLOCK = 1 << 20  # bytes read, and at most 4x this decompressed, at a time


def _blocks(raw: IO[bytes], gz: bool) -> Iterator[bytes]:
    """The file's bytes in blocks, gunzipped (every member) if it is gzip. EOFError when
    the gzip stream breaks off, zlib.error when it is corrupt. A block never exceeds
    4 MiB, whatever the ratio. ISA-L inflates twice as fast as zlib: the importer's
    reading process feeds two judging ones, and inflating was most of its work."""
    if not gz:
        while chunk := raw.read(BLOCK):
            yield chunk
        return
    d = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)
    try:
        while chunk := raw.read(BLOCK):
            data = chunk
            while data:
                yield d.decompress(data, 4 * BLOCK)
                data = d.unconsumed_tail
                if d.eof and d.unused_data:  # another gzip member follows
                    data = d.unused_data
                    d = isal_zlib.decompressobj(16 + isal_zlib.MAX_WBITS)
    except isal_zlib.error as exc:  # type: ignore[misc]  # (its stub calls the class an instance)
        raise zlib.error(str(exc)) from exc
    if not d.eof:
        raise EOFError("compressed file ended before the end-of-stream marker was reached")


def salvage_gzip(path: Path, into: Path) -> int | None:
    """None when `path` is a whole gzip file (or no gzip file). Else its lines up to where
    the stream breaks off, whole lines only, written to `into`, and how many there were:
    a download cut short keeps what it has."""
    with path.open("rb") as raw:
        if raw.read(2) != b"\x1f\x8b":
            return None
        raw.seek(0)
        try:
            for _ in _blocks(raw, gz=True):
                pass
            return None
        except (EOFError, zlib.error):
            pass
        raw.seek(0)
        lines = 0
        pending = b""
        with into.open("wb") as out:
            try:
                for block in _blocks(raw, gz=True):
                    data = pending + block
                    cut = data.rfind(b"\n") + 1
                    out.write(data[:cut])
                    lines += data.count(b"\n", 0, cut)
                    pending = data[cut:]
            except (EOFError, zlib.error):
                pass
        return lines


def _split(name: str, blocks: Iterator[bytes]) -> Iterator[Document | Problem]:
    """Lines of the blocks as Documents (FILE:LINE), a line over MAX_LINE as a Problem."""
    return expand(batches(name, blocks))


@dataclass(frozen=True, slots=True)
class Lines:
    """Whole lines of a file, numbered from `first`, not split yet: the importer's reading
    process cuts the file at a block's last newline and hands the rest (splitting, and
    the line's Document) to the process that judges them, with one copy of the bytes."""

    name: str
    first: int
    data: bytes  # the lines joined by "\n", without the last one's

    def documents(self) -> Iterator[Document | Problem]:
        for n, line in enumerate(self.data.split(b"\n"), self.first):
            if len(line) > MAX_LINE:
                yield _too_long(self.name, n, len(line))
            elif line and not line.isspace():
                yield Document(f"{self.name}:{n}", raw=line)

    def count(self) -> int:
        return self.data.count(b"\n") + 1


Item = Lines | Document | Problem  # what a file is read into


def expand(items: Iterable[Item]) -> Iterator[Document | Problem]:
    """Items with each batch of lines split into its documents."""
    for item in items:
        if isinstance(item, Lines):
            yield from item.documents()
        else:
            yield item


def batches(name: str, blocks: Iterator[bytes]) -> Iterator[Lines | Document | Problem]:
    """The blocks' lines in batches (Lines) of whole lines; a line over MAX_LINE that
    spans blocks is never held whole: skipped, and said as a Problem."""
    n = 0  # lines before `pending`
    pending = b""
    skipped = -1  # >= 0: bytes of an overlong line skipped so far
    try:
        for block in _pieces(blocks):
            if skipped >= 0:
                end = block.find(b"\n")
                if end < 0:
                    skipped += len(block)
                    continue
                n += 1
                yield _too_long(name, n, skipped + end)
                skipped = -1
                block = block[end + 1 :]
            cut = block.rfind(b"\n")
            if cut < 0:
                pending += block
            else:
                lines = Lines(name, n + 1, pending + block[:cut])
                n += lines.count()
                yield lines
                pending = block[cut + 1 :]
            if len(pending) > MAX_LINE:
                skipped, pending = len(pending), b""
    except (EOFError, zlib.error) as exc:
        yield Problem(
            f"{name}:{n + 1}",
            f"the gzip stream breaks off ({exc}); {n} line(s) before it were read",
            "download the file again",
        )
        return
    if skipped >= 0:
        yield _too_long(name, n + 1, skipped)
    elif pending.strip():
        yield Document(f"{name}:{n + 1}", raw=pending)


PIECE = 256 * 1024  # bytes of lines in a batch at most (lines of two bytes: 87,000)


def _pieces(blocks: Iterator[bytes]) -> Iterator[bytes]:
    for block in blocks:
        for at in range(0, len(block), PIECE):
            yield block[at : at + PIECE]


def _too_long(name: str, n: int, size: int) -> Problem:
    return Problem(
        f"{name}:{n}",
        f"a line of {size / 1e6:.1f} MB, over the {MAX_LINE // 2**20} MiB limit",
        "a measurement this large is not OONI's; the line is left out",
    )


def _json_file(name: str, stream: IO[bytes]) -> Iterator[Lines | Document | Problem]:
    head = stream.read(MAX_JSON + 1)
    if len(head) > MAX_JSON:
        stream.seek(0)  # too big to be one document: read it as lines
        yield from batches(name, _reads(stream))
        return
    try:
        doc = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        if "after document" in str(exc) or "trailing" in str(exc).lower():
            stream.seek(0)  # several documents, one per line, in a .json file
            yield from batches(name, _reads(stream))
            return
        line = head[: _pos(exc)].count(b"\n") + 1
        yield Problem(f"{name}:{line}", f"not JSON: {_msg(exc)}", "give OONI's raw JSON or JSONL")
        return
    if isinstance(doc, list):
        for i, item in enumerate(doc, 1):
            yield Document(f"{name}[{i}]", item)
    else:
        yield Document(name, doc)


def _reads(stream: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := stream.read(BLOCK):
            yield chunk
    except gzip.BadGzipFile as exc:
        raise EOFError(str(exc)) from exc


def _pos(exc: orjson.JSONDecodeError) -> int:
    return int(getattr(exc, "pos", 0) or 0)


def not_json(source: str, exc: orjson.JSONDecodeError) -> Problem:
    return Problem(source, f"not JSON: {_msg(exc)}")


def _msg(exc: orjson.JSONDecodeError) -> str:
    return str(exc).split(":")[0][:80]
