"""The dashboard in a real browser (Debian's chromium and chromium-driver, driven by
selenium): pick a time, click a blocked cell, read the rule and the failure; see the
timeline chart drawn; watch a cell change while a writer adds rows; download the CSV."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from censorscope.store import Store
from tests.dashboard.test_app import IG, fill, serving

# another process writes one more verdict: MTS accessible again
LATER = """
from datetime import UTC, datetime
from censorscope.records import Measurement, Verdict
from censorscope.store import Store
at, ig = datetime(2022, 3, 14, 18, tzinfo=UTC), "https://www.instagram.com/"
s = Store({db!r})
s.add(Measurement(ig, "MTS", 8359, "RU", at), Verdict(ig, "MTS", 8359, "RU", at, "accessible"))
s.close()
"""
DRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    DRIVER is None or CHROMIUM is None,
    reason="chromium and chromium-driver not installed (.ci/run installs Debian's)",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        opts.add_argument(flag)
    # the driver's path given: Selenium Manager never looks for (or downloads) one
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_click_from_a_red_cell_to_its_evidence(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    d: Any = browser
    db = tmp_path / "d.duckdb"
    store = Store(db)
    fill(store, range(18))
    store.close()
    with serving(db) as url:
        d.get(f"{url}/?time=2022-03-14T05:00")
        cells = d.find_elements(By.CSS_SELECTOR, "#overview td.v a")
        red = [c for c in cells if c.text == "blocked tls"]
        assert len(red) == 2 and any(c.text == "accessible" for c in cells)
        red[0].click()
        WebDriverWait(d, 10).until(ec.presence_of_element_located((By.ID, "rule")))
        assert d.find_element(By.ID, "rule").text == "tls.failure"
        assert "connection_reset" in d.page_source

        d.get(f"{url}/target?url={IG}")
        chart = d.find_element(By.ID, "timeline")
        assert chart.size["width"] > 500 and chart.size["height"] > 40
        bars = d.find_elements(By.CSS_SELECTOR, "rect.bar")
        assert len(bars) == 54 and all(b.size["width"] > 0 for b in bars)
        # the interactive chart above it (uPlot): a series per vantage and verdict; a
        # click on a blocked point opens that measurement
        WebDriverWait(d, 10).until(
            lambda drv: drv.find_elements(By.CSS_SELECTOR, "#timeline-chart canvas")
        )
        assert d.find_element(By.ID, "timeline-chart").get_attribute("data-series") == "5"
        x, y, mid = d.execute_script(
            "const u = window.censorscopeTimeline;"
            "const c = JSON.parse(document.getElementById('timeline-chart').dataset.chart);"
            "const p = c.points.find(p => c.verdicts[p[2]] === 'blocked');"
            "return [u.valToPos(p[0], 'x'), u.valToPos(p[1], 'y'), p[3]];"
        )
        over = d.find_element(By.CSS_SELECTOR, "#timeline-chart .u-over")
        ActionChains(d).move_to_element_with_offset(
            over, x - over.size["width"] / 2, y - over.size["height"] / 2
        ).perform()
        assert "blocked (tls.failure)" in d.find_element(By.ID, "timeline-read").text
        ActionChains(d).click().perform()
        WebDriverWait(d, 10).until(lambda drv: drv.current_url.endswith(f"/measurement/{mid}"))
        assert d.find_element(By.ID, "rule").text == "tls.failure"

        # live: the latest view changes while another process writes
        d.get(f"{url}/")
        subprocess.run([sys.executable, "-c", LATER.format(db=str(db))], check=True, timeout=120)
        mts = 1 + [th.text.split("\n")[0] for th in d.find_elements(
            By.CSS_SELECTOR, "#overview thead th")][1:].index("MTS")  # fmt: skip
        cell = f"#overview tbody tr td:nth-child({mts + 1}) a"
        WebDriverWait(d, 15).until(
            lambda drv: drv.find_element(By.CSS_SELECTOR, cell).text == "accessible"
        )

        link = d.find_element(By.LINK_TEXT, "CSV").get_attribute("href")
        # a transfer on a measurement page: the vendored chart library draws it
        heads = d.find_elements(By.CSS_SELECTOR, "#overview thead th")
        de = 1 + [th.text.split("\n")[0] for th in heads][1:].index("Vodafone DE")
        cell = d.find_element(By.CSS_SELECTOR, f"#overview tbody tr td:nth-child({de + 1}) a")
        d.get(cell.get_attribute("href"))
        WebDriverWait(d, 10).until(
            lambda drv: drv.find_elements(By.CSS_SELECTOR, ".tp-chart canvas")
        )
        assert not d.find_elements(By.CSS_SELECTOR, "svg.samples")  # replaced by the chart
        rows = list(csv.DictReader(io.StringIO(httpx.get(link, timeout=20).text)))
        assert {(r["vantage"], r["verdict"]) for r in rows} == {
            ("MTS", "accessible"),
            ("Beeline", "blocked"),
            ("Vodafone DE", "accessible"),
        }
