"""How our verdicts stand against the other tool's own judgement (OONI's `blocking` and
`accessible`, its app tests' flags; Censored Planet's `anomaly`).

`their_label` names what the tool said in its own words; `their_verdict` maps that to our
vocabulary where it has a counterpart, and `compare` tells agreement, with the confusion
table of (our verdict and method) against (their label). Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from censorscope.records import VerdictName

_OONI_BLOCKING = ("dns", "tcp_ip", "http-failure", "http-diff")
# app tests: the keys that say "blocked" when true, or when they read "blocked"
_APP_FLAGS = (
    "telegram_tcp_blocking",
    "telegram_http_blocking",
    "facebook_tcp_blocking",
    "facebook_dns_blocking",
)
_APP_STATUS = (
    "telegram_web_status",
    "signal_backend_status",
    "registration_server_status",
    "whatsapp_endpoints_status",
    "whatsapp_web_status",
)


def their_label(tool: str, test_name: str, theirs: Mapping[str, Any]) -> str:
    """The other tool's judgement in its own words: an OONI blocking value, accessible,
    down, anomaly, inconclusive, or n/a when it says nothing comparable."""
    if tool == "censoredplanet":
        if theirs.get("controls_failed"):
            return "inconclusive"
        return "anomaly" if theirs.get("anomaly") else "accessible"
    if test_name == "web_connectivity":
        blocking, accessible = theirs.get("blocking"), theirs.get("accessible")
        if blocking in _OONI_BLOCKING:
            return str(blocking)
        if blocking is False:
            return "accessible" if accessible else "down"
        return "inconclusive"
    if any(theirs.get(k) is True for k in _APP_FLAGS) or any(
        theirs.get(k) in ("blocked", "blocking") for k in _APP_STATUS
    ):
        return "blocked"
    if any(k in theirs for k in (*_APP_FLAGS, *_APP_STATUS)):
        return "accessible"
    if test_name in ("vanilla_tor", "torsf", "urlgetter"):
        if theirs.get("success") is False or theirs.get("failure"):
            return "failure"
        return "accessible" if "failure" in theirs or "success" in theirs else "n/a"
    return "n/a"


def their_verdict(label: str) -> VerdictName | None:
    """Our verdict that the other tool's label means, or None when it has none."""
    if label in _OONI_BLOCKING or label in ("blocked", "anomaly"):
        return "blocked"
    if label in ("accessible", "down", "inconclusive"):
        return label  # type: ignore[return-value]
    return None  # "failure" (no control: blocked or down?), "n/a"


@dataclass
class Agreement:
    compared: int = 0
    agreed: int = 0
    not_comparable: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    disagreements: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "agreed": self.agreed,
            "agreement": round(self.agreed / self.compared, 3) if self.compared else None,
            "not_comparable": self.not_comparable,
            "confusion": [
                {"ours": ours, "theirs": theirs, "n": n}
                for (ours, theirs), n in sorted(self.confusion.items())
            ],
            "disagreements": self.disagreements,
        }


def ours_label(verdict: str, method: str | None) -> str:
    return f"{verdict} ({method})" if method else verdict


def compare(rows: Iterable[Mapping[str, Any]]) -> Agreement:
    """Rows: tool, test_name, theirs, verdict, method (and anything to show beside a
    disagreement). Each row is compared by verdict: blocked against any of their blocking
    values, accessible, down and inconclusive against theirs."""
    out = Agreement()
    for r in rows:
        label = their_label(r["tool"], r["test_name"], r["theirs"])
        out.confusion[(ours_label(r["verdict"], r["method"]), label)] += 1
        want = their_verdict(label)
        if want is None:
            out.not_comparable += 1
            continue
        out.compared += 1
        if want == r["verdict"]:
            out.agreed += 1
        else:
            out.disagreements.append({**r, "theirs_label": label})
    return out
