"""The detector on real OONI observations: Telegram in Kenya, November 2023 and 2024."""

from datetime import date
from pathlib import Path

import pytest

from censorscope.store import Store
from censorscope.timeline import find_changes

KE = Path(__file__).resolve().parents[2] / "shared/data/ooni/kenya-telegram-observations"
pytestmark = pytest.mark.skipif(not KE.exists(), reason="shared data absent")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("ke") / "ke.duckdb")
    n = s.import_ooni_observations(
        [str(KE / "2023-KE-telegram.csv.gz"), str(KE / "2024-KE-telegram.csv.gz")]
    )
    assert n > 5000
    return s


def test_kenya_blocking_periods(store: Store) -> None:
    country = [c for c in find_changes(store.series("country")) if c.target == "telegram"]
    onsets = {c.first_after.date() for c in country if c.kind == "onset"}
    # KCSE exam days of 2023 (blocked during the papers, lifted each afternoon)
    assert {date(2023, 11, 13), date(2023, 11, 17), date(2023, 11, 22)} <= onsets
    assert date(2024, 11, 7) in onsets
    assert all(date(2023, 11, 1) <= d <= date(2024, 11, 30) for d in onsets)
    assert not any(date(2023, 12, 1) <= d <= date(2024, 10, 31) for d in onsets)


def test_safaricom_blocked_through_mid_november_2024(store: Store) -> None:
    mine = [c for c in find_changes(store.series("vantage", "telegram")) if c.where == "AS33771"]
    ends = [c for c in mine if c.kind == "end" and c.first_after.year == 2024]
    assert not any(date(2024, 11, 12) <= c.first_after.date() <= date(2024, 11, 18) for c in ends)
    first = min(c.first_after for c in mine if c.kind == "onset" and c.first_after.year == 2024)
    assert first.date() == date(2024, 11, 7)
