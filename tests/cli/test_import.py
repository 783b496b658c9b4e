"""`import --format ooni|censoredplanet`, `compare` and `export` on real measurements
(tests/data, copied from OONI's and Censored Planet's repositories), bad input, and the
round trip of the lab's measurements through OONI's format."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
from pathlib import Path

import pytest

from censorscope.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "data"
SHARED = Path(__file__).resolve().parents[3] / "shared/data"
TEST_SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

# Our verdict on each real measurement, as docs/fidelity.md explains it (with OONI's).
PINNED = {
    "20250527233111.802678_ID_webconnectivity_5a37ec909dbf14e3.json.gz": ("blocked", "http.diff"),
    "bug_351.json.gz": ("inconclusive", "probe.error"),
    "bug_352.json.gz": ("blocked", "dns.bogon"),
    "http_header_field_manipulation_1.json.gz": ("inconclusive", "app.not-judged"),
    "lte-8844.json.gz": ("accessible", "ok"),
    "lte-dnsgoogle80.json.gz": ("down", "control.down"),
    "lte-firefoxcom.json.gz": ("accessible", "ok"),
    "lte-issue-2456.json.gz": ("accessible", "ok"),
    "lte-nexa.json.gz": ("accessible", "ok"),
    "lte-noipv6.json.gz": ("accessible", "ok"),
    "lte-youtube.json.gz": ("accessible", "ok"),
    "report1.json.gz": ("accessible", "ok"),
    "report2.json.gz": ("accessible", "ok"),
    "requests_none.json.gz": ("down", "control.down.dns"),
    "signal_022.json.gz": ("accessible", "app.ok"),
    "signal_2627.json.gz": ("blocked", "app.blocked"),
    "signal_679.json.gz": ("blocked", "app.blocked"),
    "telegram_nourl.json.gz": ("accessible", "app.ok"),
    "tor.json.gz": ("accessible", "app.ok"),
    "tor_list.json.gz": ("accessible", "app.ok"),
    "torsf_1.json.gz": ("inconclusive", "app.no-control"),
    "torsf_383.json.gz": ("inconclusive", "app.no-control"),
    "urlgetter.json.gz:1": ("inconclusive", "nocontrol"),
    "urlgetter.json.gz:2": ("inconclusive", "nocontrol"),
    "vanilla_tor.json.gz": ("inconclusive", "app.no-control"),
    "vanilla_tor_ok.json.gz": ("accessible", "app.ok"),
    "web_connectivity_b64_hdr.json.gz": ("blocked", "http.blockpage"),
    "web_connectivity_b64_incorrect.json.gz": ("accessible", "ok"),
    "web_connectivity_ir_fp.json.gz": ("blocked", "dns.bogon"),
    "web_connectivity_no_body.json.gz": ("down", "control.down"),
    "web_connectivity_null.json.gz": ("inconclusive", "nocontrol"),
    "web_connectivity_null2.json.gz": ("down", "control.down"),
    "web_connectivity_odd_hdr.json.gz": ("down", "control.down.dns"),
    "whatsapp.json.gz": ("accessible", "app.ok"),
}


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], str]:
    db = tmp_path_factory.mktemp("ooni") / "o.duckdb"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["import", "--format", "ooni", str(DATA / "ooni"), "--db", str(db), "--json"])
    assert code == 0
    return db, _lines(out.getvalue()), err.getvalue()


def test_real_measurements_get_the_pinned_verdicts(imported: tuple) -> None:
    _, rows, _ = imported
    got = {r["source"].split("/")[-1]: (r["verdict"], r["evidence"]["rule"]) for r in rows}
    assert got == PINNED


def test_json_lines_carry_source_uid_and_oonis_own_judgement(imported: tuple) -> None:
    _, rows, _ = imported
    by = {r["source"].split("/")[-1]: r for r in rows}
    r = by["web_connectivity_ir_fp.json.gz"]
    for key in ("target", "vantage", "asn", "country", "time", "verdict", "method",
                "rate_kbps", "evidence", "source", "measurement_uid", "ooni"):  # fmt: skip
        assert key in r
    assert (r["country"], r["asn"], r["method"]) == ("IR", r["asn"], "dns")
    assert r["ooni"]["blocking"] == "dns" and r["ooni"]["accessible"] is False
    assert r["evidence"]["rules_version"]
    assert by["lte-nexa.json.gz"]["ooni"]["x_blocking_flags"] == 32
    assert by["urlgetter.json.gz:2"]["source"].endswith(":2")  # FILE:LINE in a JSONL file


def test_what_is_not_a_measurement_is_said_not_dropped(imported: tuple) -> None:
    _, _, err = imported
    assert "test_keys_none.json.gz: no test_keys object" in err
    assert "PROVENANCE.md: not a .json" in err
    assert "2 skipped" in err


def test_compare_lists_every_disagreement_with_the_rule(
    imported: tuple, capsys: pytest.CaptureFixture[str]
) -> None:
    db, rows, _ = imported
    assert main(["compare", "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    dis = {d["source"].split("/")[-1]: d for d in doc["disagreements"]}
    # OONI called a site down for everybody blocked by DNS; its own TLS failures for the
    # control too accessible; WhatsApp Web's changed status code blocked
    assert dis["requests_none.json.gz"]["theirs_label"] == "dns"
    assert dis["requests_none.json.gz"]["rule"] == "control.down.dns"
    assert dis["web_connectivity_no_body.json.gz"]["theirs_label"] == "accessible"
    assert dis["whatsapp.json.gz"]["rule"] == "app.ok"
    assert doc["compared"] == doc["agreed"] + len(doc["disagreements"])
    assert {"ours": "blocked (dns)", "theirs": "dns", "n": 2} in doc["confusion"]
    assert main(["compare", "--db", str(db), "--csv"]) == 0
    csv_rows = capsys.readouterr().out.splitlines()
    assert csv_rows[0].startswith("tool,source,uid")
    assert len(csv_rows) == len(rows) + 1


def test_censored_planet_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "cp.duckdb"
    code = main(["import", "--format", "censoredplanet", str(DATA / "censoredplanet"),
                 "--db", str(db), "--json"])  # fmt: skip
    assert code == 0
    rows = _lines(capsys.readouterr().out)
    by = {(r["vantage"], r["target"]): r for r in rows}
    # a Palo Alto blockpage echoed back, a Fortinet page (Censored Planet's signature)
    assert by[("122.155.84.41", "echo://www.sex.com/")]["method"] == "http-blockpage"
    fortinet = by[("168.176.126.106", "discard://secondlife.com/")]
    assert fortinet["evidence"]["blockpage"].startswith("cp.a_prod_fortinet")
    # Satellite: an NXDOMAIN in Russia, answers untagged by any control in China
    assert by[("213.142.192.50", "dns://1337x.to/")]["evidence"]["rule"] == "dns.failure"
    assert by[("116.63.159.66", "dns://9gag.com/")]["evidence"]["rule"] == "dns.inconsistent"
    # a vantage point that failed its control trials says nothing
    assert by[("195.88.106.3", "https://4genderjustice.org/")]["verdict"] == "inconclusive"
    assert all("censoredplanet" in r for r in rows)
    assert len(rows) == 48
    # where Censored Planet itself saw interference, and only there (docs/fidelity.md)
    assert main(["compare", "--db", str(db), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["disagreements"] == [] and doc["compared"] == 48


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_bad_input_is_said_with_file_and_line_and_the_rest_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = gzip.decompress((DATA / "ooni/web_connectivity_ir_fp.json.gz").read_bytes())
    good = json.dumps(json.loads(good)).encode()
    no_keys = json.dumps({**json.loads(good), "test_keys": None}).encode()
    version = json.dumps({**json.loads(good), "data_format_version": "9.9"}).encode()
    big = b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    lines = _write(tmp_path / "m.jsonl", [good, b"{not json", no_keys, version, big, good])
    whole = gzip.compress(b"\n".join([good] * 50) + b"\n")
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    db = tmp_path / "b.duckdb"
    assert main(["import", str(lines), str(cut), "--db", str(db)]) == 0
    err = capsys.readouterr().err
    assert f"{lines}:2: not JSON" in err
    assert f"{lines}:3: no test_keys object" in err
    assert f"{lines}:4: unknown data_format_version '9.9'" in err
    assert f"{lines}:5: a line of 10.5 MB" in err
    assert f"{cut}:" in err and "gzip stream breaks off" in err
    imported = int(err.split("imported ")[1].split()[0])
    assert 2 < imported < 52  # both good lines, and what came before the cut
    assert "skipped" in err
    # nothing readable at all: a non-zero exit
    junk = _write(tmp_path / "junk.jsonl", [b"junk", b"more junk"])
    assert main(["import", str(junk), "--db", str(db)]) == 1


def test_lab_measurements_round_trip_through_oonis_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "lab.duckdb"
    args = ["lab", "run", str(TEST_SCENARIOS / "actions.toml"), "--at", "2025-01-01T00:00Z",
            "--json", "--db", str(db), "--timeout", "1"]  # fmt: skip
    assert main(args) == 0
    lab = {(r["target"], r["vantage"]): (r["verdict"], r["method"], r["evidence"]["rule"])
           for r in _lines(capsys.readouterr().out)}  # fmt: skip
    out = tmp_path / "export.jsonl.gz"
    assert main(["export", "--format", "ooni", "--db", str(db), "--out", str(out)]) == 0
    docs = _lines(gzip.decompress(out.read_bytes()).decode())
    assert len(docs) == len(lab)
    doc = docs[0]
    assert doc["probe_ip"] == "127.0.0.1" and doc["software_name"] == "censorscope"
    keys = ("queries", "tcp_connect", "tls_handshakes", "requests", "network_events",
            "control", "blocking", "accessible", "x_censorscope")  # fmt: skip
    assert set(keys) <= set(doc["test_keys"])
    capsys.readouterr()
    assert main(["import", str(out), "--db", str(tmp_path / "again.duckdb"), "--json"]) == 0
    again = {(r["target"], r["vantage"]): (r["verdict"], r["method"], r["evidence"]["rule"])
             for r in _lines(capsys.readouterr().out)}  # fmt: skip
    assert again == lab
    assert any(v[0] == "throttled" for v in lab.values())


@pytest.mark.skipif(not (SHARED / "ooni").exists(), reason="shared data absent")
def test_every_shared_ooni_file_imports_or_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [
        str(SHARED / "ooni/backend-fastpath-fixtures"),
        str(SHARED / "ooni/probe-cli-testdata"),
    ]
    assert main(["import", *paths, "--db", str(tmp_path / "s.duckdb"), "--json"]) == 0
    captured = capsys.readouterr()
    said = captured.err
    sources = {r["source"].split("[")[0].rsplit(":", 1)[0] for r in _lines(captured.out)}
    for f in (SHARED / "ooni").rglob("*"):
        if (
            f.is_file()
            and "kenya" not in str(f)
            and "fingerprints/" not in str(f)
            and "targets/" not in str(f)
        ):
            assert str(f) in sources or str(f) in said, f


def test_worker_processes_give_the_same_lines_in_the_same_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = DATA / "ooni"
    out = {}
    for n in (1, 2):
        args = ["import", str(src), "--db", str(tmp_path / f"w{n}.duckdb"), "--json"]
        assert main([*args, "--workers", str(n)]) == 0
        lines = _lines(capsys.readouterr().out)
        out[n] = [(r["source"], r["verdict"], r["evidence"]["rule"]) for r in lines]
    assert out[1] == out[2] and len(out[1]) == len(PINNED)


def test_a_truncated_observation_gzip_keeps_its_whole_half(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import random

    head = (
        "measurement_uid,input,test_name,probe_asn,probe_cc,measurement_start_time,ip,port,"
        "dns_failure,tcp_failure,tls_failure,http_failure\n"
    )
    rng = random.Random(3)  # incompressible enough that half the file is half the rows
    rows = "".join(
        f"m{i},https://t.me/,web_connectivity,33771,KE,2024-11-07 10:00:00+00:00,"
        f"149.154.{rng.randrange(256)}.{rng.randrange(256)},443,,,,\n"
        for i in range(20_000)
    )
    data = gzip.compress((head + rows).encode())
    cut = tmp_path / "obs_web.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    code = main(["import", "--format", "ooni-obs", str(cut), "--db", str(tmp_path / "o.duckdb")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "breaks off after" in err and "SELECT" not in err
    n = int(err.split("imported ")[1].split()[0])
    assert 5_000 < n < 15_000


def _count(db: Path) -> tuple[int, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        m = con.execute("SELECT count(*), count(DISTINCT id) FROM measurements").fetchone()
        v = con.execute("SELECT count(*), count(DISTINCT measurement_id) FROM verdicts").fetchone()
    finally:
        con.close()
    assert m is not None and v is not None
    assert m[0] == m[1] and v[0] == v[1], "a measurement stored twice"
    return m[0], v[0]


@pytest.mark.parametrize(
    ("fmt", "path"),
    [("ooni", DATA / "ooni"), ("censoredplanet", DATA / "censoredplanet")],
)
def test_importing_again_adds_nothing(
    fmt: str, path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "o.duckdb"
    # the same files twice in one import (each copy in another spool stream), then again
    assert main(["import", "--format", fmt, str(path), str(path), "--db", str(db)]) == 0
    once = _count(db)
    err = " ".join(capsys.readouterr().err.split())
    assert f"{once[1]} were stored already" in err
    copy = tmp_path / "copy"  # the same measurements read from elsewhere are the same
    copy.symlink_to(path, target_is_directory=True)
    assert main(["import", "--format", fmt, str(copy), "--db", str(db)]) == 0
    assert _count(db) == once
    assert f"{once[1]} were stored already" in " ".join(capsys.readouterr().err.split())


def test_importing_observations_again_adds_no_verdict(tmp_path: Path) -> None:
    from tests.store.test_ooni import CTRL, WEB, _write

    files = [_write(tmp_path, "ctrl.csv.gz", CTRL), _write(tmp_path, "web.csv.gz", WEB)]
    db = tmp_path / "o.duckdb"
    for _ in range(2):
        assert main(["import", "--format", "ooni-obs", *files, "--db", str(db)]) == 0
    assert _count(db) == (0, 3)
