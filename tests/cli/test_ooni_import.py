"""The detector on real OONI observations: Telegram in Kenya, November 2023 and 2024."""

from datetime import date
from pathlib import Path

import pytest

from censorscope.analysis.timeline import SILENT, find_changes, series
from censorscope.cli.imports import import_observations as import_ooni
from censorscope.records import Change
from censorscope.store.database import Store

KE = Path(__file__).resolve().parents[3] / "shared/data/ooni/kenya-telegram-observations"
pytestmark = pytest.mark.skipif(not KE.exists(), reason="shared data absent")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("ke") / "ke.duckdb")
    n = import_ooni(s, [str(KE / "2023-KE-telegram.csv.gz"), str(KE / "2024-KE-telegram.csv.gz")])
    assert n > 5000
    return s


def _changes(store: Store, per: str, target: str | None = None) -> list[Change]:
    return find_changes(series(store.verdict_rows(per, target, skip=SILENT)))


def test_kenya_2024_block_at_country_level(store: Store) -> None:
    country = [
        c
        for c in find_changes(series(store.verdict_rows("country", skip=SILENT)))
        if c.target == "telegram"
    ]
    onsets = sorted(c.first_after.date() for c in country if c.kind == "onset")
    assert onsets[0] == date(2024, 11, 7)
    assert all(date(2024, 11, 7) <= d <= date(2024, 11, 30) for d in onsets)


def test_kenya_2023_exam_days_on_safaricom(store: Store) -> None:
    # partial in 2023 (one ISP, during the KCSE papers): visible per AS, not country-wide
    mine = _changes(store, "vantage", "telegram")
    days = {
        c.first_after.date()
        for c in mine
        if c.where == "AS33771" and c.kind == "onset" and c.first_after.year == 2023
    }
    assert {date(2023, 11, d) for d in (14, 15, 16, 17, 21, 22, 23)} <= days
    assert all(date(2023, 11, 13) <= d <= date(2023, 11, 24) for d in days)


def test_safaricom_blocked_through_mid_november_2024(store: Store) -> None:
    mine = [
        c
        for c in find_changes(series(store.verdict_rows("vantage", "telegram", skip=SILENT)))
        if c.where == "AS33771"
    ]
    ends = [c for c in mine if c.kind == "end" and c.first_after.year == 2024]
    assert not any(date(2024, 11, 12) <= c.first_after.date() <= date(2024, 11, 18) for c in ends)
    first = min(c.first_after for c in mine if c.kind == "onset" and c.first_after.year == 2024)
    assert first.date() == date(2024, 11, 7)
