import subprocess
import sys

from tests.conftest import SCENARIOS


def test_lab_serve_prints_where_to_point_a_probe() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "censorscope.cli",
            "lab",
            "serve",
            str(SCENARIOS / "russia-2022.toml"),
            "--at",
            "2022-03-14",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(7)]
    finally:
        proc.terminate()
        proc.wait(10)
    text = "".join(lines)
    assert "Rostelecom" in text and "--resolver 127.20.1.53:" in text and "--proxy" in text
