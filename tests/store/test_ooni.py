# ruff: noqa: E501 (CSV fixtures are written as OONI exports them, one row a line)
"""OONI's obs_web and obs_web_ctrl tables read into per-measurement summaries."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import given

from censorscope.analysis.verdict import decide_observed
from censorscope.errors import InputError
from censorscope.store import Store
from tests.conftest import mutated

WEB = """measurement_uid,input,test_name,probe_asn,probe_cc,probe_as_org_name,measurement_start_time,ip,port,dns_failure,tcp_failure,tcp_success,tls_failure,http_failure
m1,https://t.me/,web_connectivity,33771,KE,Safaricom,2024-11-07 10:00:00+00:00,149.154.167.99,443.0,,generic_timeout_error,0,,
m1,https://t.me/,web_connectivity,33771,KE,Safaricom,2024-11-07 10:00:00+00:00,149.154.167.91,443.0,,generic_timeout_error,0,,
m2,https://t.me/,web_connectivity,33771,KE,Safaricom,2024-11-07 11:00:00+00:00,149.154.167.99,443.0,,,1,,
m3,https://gone.example/,web_connectivity,33771,KE,Safaricom,2024-11-07 11:00:00+00:00,192.0.2.9,443.0,,connection_refused,0,,
"""
CTRL = """measurement_uid,hostname,ip,port,dns_failure,dns_success,tcp_failure,tcp_success,tls_failure,tls_success
m1,t.me,149.154.167.99,443,,true,,true,,true
m3,gone.example,192.0.2.9,443,,true,connection_refused,false,,
"""


def _write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
    return str(path)


def test_observations_with_their_control(tmp_path: Path) -> None:
    files = [_write(tmp_path, "ctrl.csv.gz", CTRL), _write(tmp_path, "web.csv.gz", WEB)]
    with Store(tmp_path / "s.duckdb") as store:
        observed, problems = store.observed(files)
    got = {o.measurement_id: o for o in observed}
    assert problems == []
    assert (got["m1"].endpoints, got["m1"].failed, got["m1"].failure_class) == (2, 2, "tcp")
    assert (got["m1"].control_endpoints, got["m1"].control_failed) == (1, 0)
    assert (got["m2"].failed, got["m2"].control_endpoints) == (0, 0)
    assert (got["m3"].control_endpoints, got["m3"].control_failed) == (1, 1)
    assert got["m1"].asn == 33771 and got["m1"].target == "https://t.me/"


def test_a_file_that_is_no_observation_table_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "list.csv"
    bad.write_text("url,category\nhttps://t.me/,COMM\n")
    with Store(":memory:") as store, pytest.raises(InputError) as exc:
        store.observed([str(bad)])
    assert str(bad) in str(exc.value) and "obs_web" in str(exc.value)


def test_an_unreadable_file_beside_good_ones_is_left_out_and_said(tmp_path: Path) -> None:
    web = _write(
        tmp_path, "web.csv.gz", WEB + "m4,https://t.me/,web_connectivity,,KE,,,1.2.3.4,443,,,,,\n"
    )
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(Path(web).read_bytes()[:40])  # a download cut short
    with Store(":memory:") as store:
        observed, problems = store.observed([str(cut), web])
    assert {o.measurement_id for o in observed} == {"m1", "m2", "m3"}
    assert str(cut) in problems[0] and "cut short" in problems[0]
    assert "1 measurement(s) left out" in problems[1]  # m4: no time, no ASN


@pytest.mark.fuzz
@given(mutated(WEB.encode(), edits=8), mutated(CTRL.encode(), edits=4))
def test_any_observation_files_are_read_or_said(web: bytes, ctrl: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, data in (("web.csv", web), ("ctrl.csv", ctrl)):
            (Path(tmp) / name).write_bytes(data)
            files.append(str(Path(tmp) / name))
        with Store(":memory:") as store:
            try:
                observed, problems = store.observed(files)
            except InputError as exc:
                assert exc.problem
                return
    for o in observed:
        assert o.failed <= o.endpoints
        decide_observed(o)
    assert all(isinstance(p, str) and p for p in problems)
