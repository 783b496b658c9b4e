"""The wheel, installed in a fresh virtual environment outside the source tree, carries
its data: the events registry, the shipped scenarios, OONI's fingerprints."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `censorscope` script of a fresh venv with only the wheel installed from here;
    the dependencies come from this environment (no download), the source tree not."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(ROOT),
        ],
        check=True,
        cwd=tmp,
        capture_output=True,
    )
    (wheel,) = (tmp / "dist").glob("censorscope-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # the dependencies of this environment, appended after the venv's own site-packages;
    # the editable install's .pth in there is not processed, so the source tree stays out
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", site, str(wheel)],
        check=True,
        capture_output=True,
    )
    script = env_dir / "bin" / "censorscope"
    script.write_text(f"#!{py}\nimport sys\nfrom censorscope.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    return script


def _run(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_the_installed_package_is_not_the_source_tree(installed: Path, tmp_path: Path) -> None:
    py = installed.parent / "python"
    where = subprocess.run(
        [py, "-c", "import censorscope; print(censorscope.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(ROOT) not in where and "site-packages" in where


def test_version_and_events_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    version = _run(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("censorscope 0.")
    events = _run(installed, "events", "--country", "RU", "--json", cwd=tmp_path)
    assert events.returncode == 0, events.stderr
    assert "instagram" in events.stdout.lower()


def test_lab_run_on_a_shipped_scenario_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    out = _run(
        installed,
        "lab",
        "run",
        "russia-2022",
        "--at",
        "2022-03-14T12:00Z",
        "--isp",
        "MTS",
        "--json",
        "--no-store",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    verdicts = {
        line.split('"target": "')[1].split('"')[0]: line for line in out.stdout.splitlines()
    }
    insta = verdicts["https://www.instagram.com/"]
    assert '"verdict": "blocked"' in insta and '"method": "tls"' in insta
    assert not list(tmp_path.iterdir())  # --no-store: nothing written where it ran


def test_the_readme_examples_run_from_what_ships(installed: Path, tmp_path: Path) -> None:
    made = _run(installed, "examples", "cs", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    cs = tmp_path / "cs"
    audit = _run(
        installed,
        "audit",
        "--rules",
        "russia-2022",
        "--at",
        "2021-03-10T12:00Z",
        "--population",
        "citizenlab-ru-sample.csv",
        "--json",
        cwd=cs,
    )
    assert audit.returncode == 0, audit.stderr
    assert '"total"' in audit.stdout
    infer = _run(installed, "infer", "--observations", "observed.csv", "--json", cwd=cs)
    assert infer.returncode == 0, infer.stderr
    assert '"pattern": "t.co"' in infer.stdout
    again = _run(installed, "examples", "cs", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
