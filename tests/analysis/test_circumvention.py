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


def test_restored_access_is_judged_by_a_table_with_ids() -> None:
    from censorscope.analysis.circumvention import judge_fetch

    def rule(status: int, body: str = "<html>ok</html>", kbps_floor: float = 0.0) -> tuple:
        samples = [(0.0, 0), (1.0, 125_000)]  # 1,000 kbit/s
        r, _, failure = judge_fetch(status, {}, body, samples, kbps_floor)
        return r.id, failure

    assert rule(200) == ("restore.ok", None)
    assert rule(0) == ("restore.no-response", "no_response")
    assert rule(451) == ("restore.http-error", "http_status_451")
    assert rule(200, kbps_floor=2_000)[0] == "restore.still-throttled"
    assert rule(200, kbps_floor=500) == ("restore.ok", None)


def test_a_baseline_is_restricted_unless_accessible_down_or_geo() -> None:
    from censorscope.analysis.circumvention import restored_above, restricted
    from censorscope.records import Baseline

    throttled = Baseline("https://twitter.com/", "throttled", None, "throttle.sni", 130.0)
    assert restricted(throttled) and restored_above(throttled) == 260.0
    blocked = Baseline("https://x/", "blocked", "tls", "tls.failure")
    assert restricted(blocked) and restored_above(blocked) == 0.0
    for verdict in ("accessible", "down", "geo-restricted"):
        assert not restricted(Baseline("https://x/", verdict, None, "ok"))  # type: ignore[arg-type]
