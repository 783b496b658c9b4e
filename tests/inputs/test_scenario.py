"""Bad scenarios fail before anything starts, naming the file, the key and the fix."""

from pathlib import Path

import pytest

from censorscope.errors import ScenarioError
from censorscope.inputs.scenario import load_scenario

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


def test_two_sites_cannot_share_a_pinned_address(tmp_path: Path) -> None:
    text = (
        HEAD + '[[site]]\nname = "b.test"\naddresses = ["127.10.9.1"]\n'
        '[[site]]\nname = "c.test"\naddresses = ["127.10.9.1"]\n'
    )
    with pytest.raises(ScenarioError, match="belongs to another site"):
        load_scenario(write(tmp_path, text))
