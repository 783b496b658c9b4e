"""Domain populations (ranked lists, Citizen Lab CSVs): domains and the lines skipped, or
an InputError; any bytes (property-based)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.errors import InputError
from censorscope.inputs.populations import load_population
from tests.conftest import mutated

RANKED = b"1,google.com\n2,youtube.com\n3,reddit.com.\n4,microsoft.com\n"
CITIZEN_LAB = (
    b"url,category_code,category_description,date_added,source,notes\n"
    b"https://twitter.com/,GRP,Social Networking,2014-04-15,,\n"
    b"http://www.rferl.org/,NEWS,News Media,2014-04-15,,\n"
)


@pytest.mark.fuzz
@given(st.booleans(), mutated(RANKED) | mutated(CITIZEN_LAB) | st.binary(max_size=200))
def test_any_list_gives_domains_or_says_what_is_wrong(fold: bool, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "top.csv"
        path.write_bytes(data)
        try:
            pop = load_population([path], fold_trailing_dot=fold)
        except InputError as exc:
            assert exc.problem
            return
    assert all(d.name and d.rank >= 1 for d in pop.domains.values())
    assert all(n >= 1 and why for _, n, why in pop.skipped)
