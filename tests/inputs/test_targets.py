from pathlib import Path

import pytest

from censorscope.errors import TargetListError
from censorscope.inputs.targets import load_targets

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "citizenlab-test-lists"


def test_citizen_lab_csv(tmp_path: Path) -> None:
    f = tmp_path / "ru.csv"
    f.write_text(
        "url,category_code,category_description,date_added,source,notes\n"
        "https://www.bbc.com/,NEWS,News Media,2017-01-01,,\n"
    )
    (t,) = load_targets(str(f))
    assert (t.url, t.category, t.hostname) == ("https://www.bbc.com/", "NEWS", "www.bbc.com")


@pytest.mark.skipif(not (SHARED / "current" / "ru.csv").exists(), reason="shared data absent")
def test_real_russian_list_loads() -> None:
    assert len(load_targets(str(SHARED / "current" / "ru.csv"))) > 1000


def test_bad_line_is_named(tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text("https://ok.example/\n# comment\nnot a url\n")
    with pytest.raises(TargetListError) as exc:
        load_targets(str(f))
    assert exc.value.where == "line 3" and "list.txt" in str(exc.value)


def test_a_csv_field_over_the_csv_modules_limit_is_an_error(tmp_path: Path) -> None:
    from censorscope.errors import InputError
    from censorscope.inputs.populations import load_population

    p = tmp_path / "list.csv"
    p.write_text('url,category_code\n"https://a.test/' + "x" * 200_000 + '",NEWS\n')
    with pytest.raises(InputError, match="field larger"):
        load_targets(str(p))
    with pytest.raises(InputError, match="field larger"):
        load_population([p])
    p.write_text("url,category_code\nhttp://[::1/,NEWS\n")
    with pytest.raises(InputError):
        load_population([p])
