"""Bad scenarios fail before anything starts, naming the file, the key and the fix."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from censorscope.errors import ScenarioError
from censorscope.inputs.scenario import load_scenario
from censorscope.probe.rounds import lab_targets
from tests.conftest import ROOT, mutated

HEAD = """
[[isp]]
name = "A"
country = "RU"
[[site]]
name = "a.test"
"""
RULE = """
[[rule]]
isps = ["A"]
on = "sni"
match = "exact"
pattern = "a.test"
action = "tls-reset"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        (HEAD + RULE.replace("tls-reset", "explode"), "rule[0].action", "allowed: dns-nxdomain"),
        (HEAD + RULE.replace('"sni"', '"dns"'), "rule[0].on", "allowed: sni, ip"),
        (HEAD + RULE + 'effective = "2022-13-45"', "rule[0].effective", "ISO 8601"),
        (HEAD + RULE + "effective = 2022-03-14T25:00:00Z", "TOML syntax", "line"),
        (HEAD + RULE.replace('["A"]', '["Nope"]'), "rule[0].isps[0]", "known: A"),
        (HEAD + '[[site]]\nname = "a.test"\n', "site[1].name", "defined twice"),
        (HEAD + '[[site]]\nname = "b.test"\nport = 3\n', "site[1].port", "allowed:"),
        (
            HEAD + RULE.replace('"exact"', '"regex"').replace('"a.test"', '"(("'),
            "rule[0].pattern",
            "bad regex",
        ),
        (
            HEAD + RULE + "until = 2020-01-01T00:00:00Z\neffective = 2021-01-01T00:00:00Z",
            "rule[0].until",
            "not after",
        ),
        (HEAD + RULE.replace("tls-reset", "throttle"), "rule[0].rate_kbps", "missing"),
        (
            HEAD + '[[site]]\nname = "b.test"\ndown = "sometimes"\n',
            "site[1].down",
            "allowed: refuse, timeout",
        ),
        (
            HEAD + '[[site]]\nname = "b.test"\n[[site.geo_paths]]\npath = "@RT"\n',
            "site[1].geo_paths[0].path",
            "not a path",
        ),
        (
            HEAD + '[[site]]\nname = "b.test"\n[[site.geo_paths]]\npath = "/x"\n'
            'countries = ["Germany"]\n',
            "site[1].geo_paths[0].countries[0]",
            "two capital letters",
        ),
        (
            HEAD + '[[site]]\nname = "b.test"\n[[site.geo_paths]]\npath = "/x"\n',
            "site[1].geo_paths[0].countries",
            "missing",
        ),
        (
            HEAD + '[[site]]\nname = "b.test"\n[[site.geo_paths]]\npath = "/x"\n'
            'countries = ["DE"]\nuntil = 2022-01-01\n',
            "site[1].geo_paths[0].until",
            "allowed: countries, path, since, source",
        ),
        (HEAD + '[[site]]\nname = "b.test"\ngeo_paths = 3\n', "site[1].geo_paths", "array"),
        (HEAD + RULE + 'countries = ["RU"]\n', "rule[0].countries", 'isps = ["*"] only'),
        (HEAD + RULE.replace('"a.test"', '""'), "rule[0].pattern", "an empty pattern"),
        (
            HEAD + RULE.replace('"exact"', '"suffix"').replace('"a.test"', '"."'),
            "rule[0].pattern",
            "an empty pattern",
        ),
        (
            HEAD + RULE.replace('["A"]', '["*"]') + 'countries = ["ru"]\n',
            "rule[0].countries[0]",
            "two capital letters",
        ),
        (
            HEAD + RULE.replace('["A"]', '["*"]') + 'countries = ["DE"]\n',
            "rule[0].countries",
            "no ISP defined so far",
        ),
    ],
)
def test_bad_scenario_names_file_key_and_fix(
    tmp_path: Path, text: str, where: str, says: str
) -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(write(tmp_path, text))
    assert str(tmp_path / "bad.toml") in str(exc.value)
    assert exc.value.where == where
    assert says in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(tmp_path / "nope.toml")


def test_times_are_utc_and_star_means_every_isp(tmp_path: Path) -> None:
    s = load_scenario(
        write(
            tmp_path,
            HEAD + RULE.replace('["A"]', '["*"]') + "effective = 2022-03-14T00:00:00+03:00\n",
        )
    )
    rule = s.rules[0]
    assert rule.isps == ("A",)
    assert rule.effective is not None and rule.effective.isoformat() == "2022-03-13T21:00:00+00:00"


def test_star_narrowed_to_countries(tmp_path: Path) -> None:
    head = HEAD + '[[isp]]\nname = "B"\ncountry = "DE"\n[[isp]]\nname = "C"\ncountry = "RU"\n'
    star = RULE.replace('["A"]', '["*"]')
    s = load_scenario(write(tmp_path, head + star + 'countries = ["RU"]\n' + star))
    assert [r.isps for r in s.rules] == [("A", "C"), ("A", "B", "C")]


def test_two_sites_cannot_share_a_pinned_address(tmp_path: Path) -> None:
    text = (
        HEAD + '[[site]]\nname = "b.test"\naddresses = ["127.10.9.1"]\n'
        '[[site]]\nname = "c.test"\naddresses = ["127.10.9.1"]\n'
    )
    with pytest.raises(ScenarioError, match="belongs to another site"):
        load_scenario(write(tmp_path, text))


def _isp_head(name: str = "s") -> str:
    return f'[scenario]\nname = "{name}"\n[[isp]]\nname = "A"\nasn = 64500\ncountry = "RU"\n'


def test_forty_thousand_rules_load_in_linear_time(tmp_path: Path) -> None:
    import time

    rules = "".join(
        f'[[rule]]\nid = "r{i}"\non = "sni"\nmatch = "exact"\npattern = "x{i}.test"\n'
        f'action = "tls-reset"\nisps = ["A"]\n'
        for i in range(40_000)
    )
    p = tmp_path / "big.toml"
    p.write_text(_isp_head() + rules)
    t0 = time.perf_counter()
    assert len(load_scenario(p).rules) == 40_000
    assert time.perf_counter() - t0 < 30  # quadratic: 165 s


@pytest.mark.parametrize(
    ("include", "problem"),
    [(["/dev/zero"], "not a regular file"), (["missing.toml"], "no such file")],
)
def test_includes_that_are_not_scenario_files(tmp_path: Path, include: list, problem: str) -> None:
    p = tmp_path / "s.toml"
    p.write_text(f'[scenario]\nname = "s"\ninclude = {include!r}\n'.replace("'", '"'))
    with pytest.raises(ScenarioError, match=problem):
        load_scenario(p)


def test_deep_and_doubled_includes_are_bounded(tmp_path: Path) -> None:
    # a chain 3,000 deep, and files that include the next one twice, 30 levels deep
    for i in range(3000):
        (tmp_path / f"c{i}.toml").write_text(f'[scenario]\ninclude = ["c{i + 1}.toml"]\n')
    (tmp_path / "c3000.toml").write_text("[scenario]\n")
    with pytest.raises(ScenarioError, match="nested over"):
        load_scenario(tmp_path / "c0.toml")
    for i in range(30):
        (tmp_path / f"d{i}.toml").write_text(
            f'[scenario]\ninclude = ["d{i + 1}.toml", "d{i + 1}.toml"]\n'
        )
    (tmp_path / "d30.toml").write_text("[scenario]\n")
    with pytest.raises(ScenarioError, match=r"nested over|files included"):
        load_scenario(tmp_path / "d0.toml")


def test_deeply_nested_toml_is_an_error_not_a_crash(tmp_path: Path) -> None:
    p = tmp_path / "deep.toml"
    p.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ScenarioError):
        load_scenario(p)


# --- fuzz: a scenario edited wrongly in any way is a ScenarioError, never a crash ------

FUZZ_TEXTS = [
    (ROOT / "scenarios" / "russia-2021-twitter.toml").read_text(encoding="utf-8"),
    (Path(__file__).resolve().parents[1] / "scenarios" / "actions.toml").read_text(
        encoding="utf-8"
    ),
]
# values a user might put where another belongs
TOML_VALUES = st.sampled_from(
    ['""', '"x"', "0", "-1", "1e300", "inf", "nan", "true", "[]", '["a", 1]', "{}",
     '{ a = 1 }', "2021-13-45", "2021-03-10T07:00:00Z", '"2021-03-10T25:00Z"', '"-5s"',
     '"999999999999h"', '"*"', '"' + "a" * 300 + '"', "[[1]]", '"\\u0000"', "12:00:00"]
)  # fmt: skip


@st.composite
def edited(draw: st.DrawFn) -> bytes:
    lines = draw(st.sampled_from(FUZZ_TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "delete", "repeat", "key"]))
        key, eq, _ = lines[at].partition("=")
        if op == "value" and eq:
            lines[at] = f"{key}= {draw(TOML_VALUES)}"
        elif op == "delete":
            del lines[at]
        elif op == "repeat":
            lines.insert(at, lines[at])
        elif op == "key" and eq:
            lines[at] = f"{draw(st.sampled_from(['x', 'name', 'isps', 'on', 'from']))} ={_}"
    return "\n".join(lines).encode()


@pytest.mark.fuzz
@given(edited() | st.sampled_from(FUZZ_TEXTS).map(str.encode).flatmap(mutated))
def test_any_edited_scenario_loads_or_says_what_is_wrong(text: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.toml"
        path.write_bytes(text)
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            assert exc.file and exc.problem
            where = exc.where.split("[")[0].split(".")[0]
            event(f"ScenarioError at {'encoding' if where.startswith('byte') else where}")
            return
    event("loaded")
    assert lab_targets(scenario) is not None
