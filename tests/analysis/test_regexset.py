"""RegexSet answers what trying each pattern in turn answers, on OONI's real fingerprint
table and pages built around its own patterns."""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from censorscope.analysis.blockpage import http_fingerprints, match_http
from censorscope.analysis.regexset import RegexSet, required_run


def _loop(patterns: list[re.Pattern[str]], text: str) -> int | None:
    return next((i for i, rx in enumerate(patterns) if rx.search(text)), None)


def test_required_runs() -> None:
    assert required_run(re.compile(r"Access to this site is blocked")) == (
        "access to this site is blocked"
    )
    assert required_run(re.compile(r"(?i)ab|cd")) == ""  # an alternative at the top
    assert required_run(re.compile(r"x+yzw")) == "yzw"
    assert required_run(re.compile(r"x+yz")) == ""  # too short to rely on


def test_the_blockpage_table_agrees_with_a_plain_loop() -> None:
    body = [fp.pattern for fp in http_fingerprints() if fp.location == "body"]
    rs = RegexSet(body)
    rng = random.Random(7)
    pages = ["", "<html><title>Welcome</title>nothing here</html>"]
    for rx in rng.sample(body, 200):  # a page that carries a fingerprint's plain run
        pages.append(f"<html>{rng.random()} {required_run(rx)} </html>")
        pages.append(f"<HTML>{required_run(rx).upper()}</HTML>")
    for text in pages:
        assert rs.first(text) == _loop(body, text), text
    assert match_http({}, '<iframe src="http://10.10.34.34?type=Invalid Site"') is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["abc", "bcd", "(?i)XyZ", "a.c", "q+r", "zz|yy", "dé"]),
                min_size=1, max_size=6),
       st.text(alphabet="abcdxyzqrXYZé. ", max_size=30))  # fmt: skip
def test_any_patterns_any_text(pats: list[str], text: str) -> None:
    compiled = [re.compile(p) for p in pats]
    assert RegexSet(compiled).first(text) == _loop(compiled, text)
