import pytest

from censorscope.analysis.circumvention import (
    STRATEGIES,
    Trial,
    outcomes,
    select,
    working_everywhere,
)
from censorscope.errors import InputError


def test_select_all_or_named_or_error() -> None:
    assert len(select(None)) == len(STRATEGIES) >= 10
    assert [s.name for s in select(["sni-trailing-dot", "plain"])] == ["sni-trailing-dot", "plain"]
    with pytest.raises(InputError, match=r"unknown strategy.*known: plain"):
        select(["teleport"])


def test_outcomes_count_trials_and_take_medians_of_successes() -> None:
    trials = [
        Trial("u", "a", ok=True, ttfb=0.1, kbps=900),
        Trial("u", "a", ok=True, ttfb=0.3, kbps=1100),
        Trial("u", "a", ok=False, failure="connection_reset"),
        Trial("u", "b", ok=False, failure="connection_reset"),
        Trial("u", "c", status="not-available", failure="needs a raw socket"),
    ]
    a, b, c = outcomes(trials)
    assert (a.status, a.successes, a.tries, a.ttfb, a.kbps) == ("partly", 2, 3, 0.2, 1000)
    assert a.failures == {"connection_reset": 1} and a.to_dict()["success_ratio"] == 0.667
    assert (b.status, b.why) == ("fails", "connection_reset")
    assert (c.status, c.tries, c.why) == ("not-available", 0, "needs a raw socket")


def test_works_everywhere_needs_every_trial_on_every_target() -> None:
    trials = [
        Trial("u1", "tcp-split-sni", ok=True),
        Trial("u2", "tcp-split-sni", ok=True),
        Trial("u1", "sni-trailing-dot", ok=True),
        Trial("u2", "sni-trailing-dot", ok=False, failure="connection_reset"),
    ]
    assert working_everywhere(outcomes(trials), ["u1", "u2"]) == ["tcp-split-sni"]
    assert working_everywhere(outcomes(trials), []) == []
