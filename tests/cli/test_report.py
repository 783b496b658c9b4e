"""The HTML report, rendered in headless Chromium: the plots are there and not empty."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from censorscope.analysis.traffic import Series, grid
from censorscope.cli.report import write_report
from censorscope.inputs.events import load_events
from censorscope.records import Measurement, Verdict
from censorscope.store.database import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
T0 = datetime(2022, 3, 12, tzinfo=UTC)


def _store(path: Path) -> Store:
    store = Store(path)
    for h in range(72):
        at = T0 + timedelta(hours=h)
        for isp in ("MTS", "Beeline"):
            for target, blocked in (
                ("https://www.instagram.com/", h >= 45),
                ("https://kremlin.ru/", False),
            ):
                v = Verdict(
                    target,
                    isp,
                    1,
                    "RU",
                    at,
                    "blocked" if blocked else "accessible",
                    "tls" if blocked else None,
                )
                store.add(Measurement(target, isp, 1, "RU", at), v)
    store.flush()
    return store


def test_report_plots_render_in_chromium(tmp_path: Path) -> None:
    times = grid(T0 - timedelta(days=10), T0 + timedelta(days=3), timedelta(hours=1))
    traffic = [Series("MTS", times, 1 + 0.1 * (times % 86400) / 86400)]
    with _store(tmp_path / "r.duckdb") as store:
        page = write_report(store, tmp_path / "report", load_events(), traffic)
    html = page.read_text()
    # the first screen tells the Instagram story: its plot comes before the table
    assert html.index("instagram") < html.index("Onsets against announcements")
    assert "announced 2022-03-11 09:00 UTC" in html and "2/2" in html
    for f in (tmp_path / "report").glob("*.png"):
        assert f.stat().st_size > 5000
    assert all("<svg" in f.read_text() for f in (tmp_path / "report").glob("*.svg"))
    if CHROMIUM is None:
        pytest.skip("chromium not installed (.ci/run installs Debian's chromium)")
    profile = tmp_path / "profile"
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120
    ).stdout
    m = re.search(r'<body data-images="(\d+)" data-loaded="(\d+)"', dom)
    assert m, dom[:500]
    assert int(m.group(1)) == 3 and m.group(1) == m.group(2)  # 2 timelines + traffic
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.stat().st_size > 20000


def test_the_first_screen_is_by_platform(tmp_path: Path) -> None:
    from censorscope.inputs.platforms import shipped

    instagram = shipped()["instagram"]
    store = Store(tmp_path / "p.duckdb")
    for h in range(24):
        at = T0 + timedelta(hours=36 + h)
        blocked = at >= datetime(2022, 3, 13, 21, tzinfo=UTC)
        for isp in ("MTS", "Beeline"):
            for e in instagram.endpoints:
                v = Verdict(e.url, isp, 1, "RU", at, "blocked" if blocked else "accessible",
                            "tls" if blocked else None)  # fmt: skip
                store.add(Measurement(e.url, isp, 1, "RU", at), v)
    store.flush()
    with store:
        page = write_report(store, tmp_path / "report", load_events(), (), [instagram])
    html = page.read_text()
    first = html.index("<h2>Instagram</h2>")
    assert first < html.index("Onsets against announcements")
    assert ("instagram blocked on 2/2 ISPs in RU from 2022-03-13 21:00 UTC: "
            "website, api, media blocked by TLS") in html  # fmt: skip
    assert html.count("platform.blocked") >= 3  # the event and each vantage's latest round
    assert (tmp_path / "report" / "platform-00.png").stat().st_size > 5000


def test_a_state_is_drawn_only_over_the_time_it_was_observed() -> None:
    from censorscope.analysis.timeline import drawn_for as observed

    day = timedelta(days=1)
    demo = [datetime(2021, 3, 10), datetime(2021, 3, 12), datetime(2022, 3, 13),
            datetime(2022, 3, 14)]  # fmt: skip
    span = demo[-1] - demo[0]
    widths = observed(demo, span)
    # the step is a day: 2021-03-12 is drawn for a day, not until 2022
    assert widths[:3] == [day, day, day]
    assert widths[3] == day
    hourly = [datetime(2022, 3, 1) + h * timedelta(hours=1) for h in range(48) if h != 20]
    w = observed(hourly, hourly[-1] - hourly[0])
    assert set(w) == {timedelta(hours=1)}  # the missing hour stays a gap
    # a measurement alone in a long span is still visible
    assert observed([demo[0]], span) == [span / 400]
    assert observed([demo[0]], timedelta(days=1)) == [timedelta(hours=1)]
