"""Measurement files read as lines, whatever the block boundaries, the compression and the
faults: fuzzed against a plain reading of the same bytes."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.inputs import documents
from censorscope.inputs.documents import Document, Problem, _blocks, _split

line = st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x"))


def _expected(data: bytes, limit: int) -> list[tuple[str, int | bytes]]:
    out: list[tuple[str, int | bytes]] = []
    for n, text in enumerate(data.split(b"\n"), 1):
        if len(text) > limit:
            out.append(("long", n))
        elif text.strip():
            out.append(("doc", text))
    return out


def _got(items: list[Document | Problem]) -> list[tuple[str, int | bytes]]:
    return [
        ("long", int(i.source.rsplit(":", 1)[1])) if isinstance(i, Problem) else ("doc", i.raw)
        for i in items
    ]


@pytest.mark.fuzz
@given(lines=st.lists(line, max_size=30), cuts=st.lists(st.integers(1, 50), max_size=20))
def test_lines_survive_any_block_boundaries(lines: list[bytes], cuts: list[int]) -> None:
    data = b"\n".join(lines)
    blocks, at = [], 0
    for c in cuts:
        blocks.append(data[at : at + c])
        at += c
    blocks.append(data[at:])
    old = documents.MAX_LINE, documents.PIECE
    # lines over 25 bytes are "too long" here, and batches hold 7 bytes of lines at most
    documents.MAX_LINE, documents.PIECE = 25, 7
    try:
        got = _got(list(_split("f", iter(blocks))))
    finally:
        documents.MAX_LINE, documents.PIECE = old
    assert got == _expected(data, 25)


def test_gzip_members_and_a_cut_stream(tmp_path: Path) -> None:
    two = gzip.compress(b'{"a": 1}\n') + gzip.compress(b'{"a": 2}\n')
    p = tmp_path / "m.jsonl.gz"
    p.write_bytes(two)
    assert [d.decoded() for d in documents.documents(p)] == [{"a": 1}, {"a": 2}]
    whole = gzip.compress(b"".join(b'{"n": %d}\n' % i for i in range(5000)))
    p.write_bytes(whole[: len(whole) // 2])
    items = list(documents.documents(p))
    assert isinstance(items[-1], Problem) and "breaks off" in items[-1].why
    assert all(isinstance(i, Document) for i in items[:-1]) and len(items) > 100


def test_a_decompression_bomb_comes_in_bounded_blocks(tmp_path: Path) -> None:
    p = tmp_path / "zeros.jsonl.gz"
    p.write_bytes(gzip.compress(b"\0" * (64 << 20)))
    with p.open("rb") as f:
        sizes = [len(b) for b in _blocks(f, gz=True)]
    assert max(sizes) <= 4 * documents.BLOCK and sum(sizes) == 64 << 20
    items = list(documents.documents(p))  # one long line: said, never held whole
    assert len(items) == 1 and isinstance(items[0], Problem) and "MiB limit" in items[0].why


def test_a_corrupt_gzip_keeps_the_lines_before_the_damage(tmp_path: Path) -> None:
    rng = random.Random(7)  # lines that do not compress: the file spans several blocks
    lines = b"".join(b'{"n": "%s"}\n' % rng.randbytes(64).hex().encode() for _ in range(40_000))
    whole = bytearray(gzip.compress(lines))
    assert len(whole) > 2 * documents.BLOCK
    at = len(whole) * 3 // 4
    whole[at : at + 64] = b"\xff" * 64  # a damaged stretch
    p = tmp_path / "bad.jsonl.gz"
    p.write_bytes(bytes(whole))
    items = list(documents.documents(p))
    assert isinstance(items[-1], Problem) and str(p) in items[-1].source
    assert all(isinstance(i, Document) for i in items[:-1]) and len(items) > 1000
