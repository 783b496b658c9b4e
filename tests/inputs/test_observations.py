"""Observation CSVs for rule inference: name -> blocked, or an InputError naming the file
and line; any bytes (property-based)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.errors import InputError
from censorscope.inputs.observations import MAX_NAME, read_observations
from censorscope.rules.inference import infer
from tests.conftest import mutated

SEED = b"domain,blocked\ntwitter.com,1\nabs.twimg.com,true\nreddit.com,accessible\nt.co,yes\n"


@pytest.mark.fuzz
@given(mutated(SEED, edits=10) | st.binary(max_size=200))
def test_any_observation_file_is_read_or_says_where_it_is_wrong(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "obs.csv"
        path.write_bytes(data)
        try:
            seen = read_observations(str(path))
        except InputError as exc:
            assert exc.file == str(path) and exc.where and exc.problem
            return
    assert all(0 < len(name) <= MAX_NAME for name in seen)
    infer(seen)  # whatever was read, inference runs on it
