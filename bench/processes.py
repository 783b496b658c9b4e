"""A benchmarked command's memory, read from /proc while it runs (Linux)."""

from __future__ import annotations

from pathlib import Path


def mem_mb(pid: int, field: str) -> float:
    """VmRSS (resident) from status, or Pss (resident, pages shared with other processes
    divided among them) from smaps_rollup, in MB; 0 for a process gone."""
    name = "status" if field == "VmRSS" else "smaps_rollup"
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """The processes its main thread started."""
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def tree(pid: int) -> list[int]:
    """The process and all it started, from any of its threads (a JVM starts Python
    workers from threads of its own), and theirs."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for k in kids:
            out += tree(int(k))
    return out
