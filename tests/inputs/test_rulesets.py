"""Registry dumps and domain lists: any file gives rules and the lines it could not use,
or an InputError; never a crash (property-based)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from censorscope.errors import InputError
from censorscope.inputs.rulesets import load_rules
from tests.conftest import mutated

# a registry dump as Roskomnadzor's mirrors publish it (CP1251, `;`-separated)
DUMP = (
    "Updated: 2022-03-14 12:00:00 +0000\n"
    "1.2.3.4 | 5.6.7.8;twitter.com;https://twitter.com;Генпрокуратура;27-31-2020;2022-03-04\n"
    "9.9.9.9;*.instagram.com;;Генпрокуратура;27-31-2020/Ид2145-22;2022-03-13\n"
    "10.0.0.0/8;;;x;y;2022-01-01\n"
    ";министерство.рф;;x;y;2022-01-01\n"
).encode("cp1251")
LIST = "# blocked\ntwitter.com\n*.twimg.com\nt.co\nпрезидент.рф\n".encode()  # noqa: RUF001 (IDN)


@pytest.mark.fuzz
@given(
    st.sampled_from(["registry", "list", "auto"]),
    mutated(DUMP) | mutated(LIST) | st.binary(max_size=300),
)
def test_any_rule_file_gives_rules_and_problems(kind: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dump.csv"
        path.write_bytes(data)
        try:
            rs = load_rules(path, kind)
        except InputError as exc:
            assert exc.problem
            return
    lines = data.count(b"\n") + 1
    assert all(0 <= n <= lines and why for n, why in rs.problems)
    assert all(r.pattern and r.id for r in rs.rules)
