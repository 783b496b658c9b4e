"""The dependency rule (docs/architecture.md), read from every module's imports.

    vocabulary  records, scenario, errors, timeparse, the package itself: import no other
                layer
    core        wire/, rules/, analysis/: vocabulary and core only; no sockets, files,
                DuckDB, argparse or terminal output
    inputs      inputs/: reads the files users give (scenarios, lists, registries) into
                records; vocabulary, core and inputs
    edges       probe/, lab/, store/, helper/, net/, dashboard/, engine/: vocabulary, core,
                inputs, their own
                package and the few other edges EDGE_USES names; never cli/
    cli         cli/ and __main__: everything

Lazy imports inside functions count as much as those at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "censorscope"

VOCABULARY = {"records", "scenario", "errors", "timeparse", ""}
CORE = {"wire", "rules", "analysis"}
INPUTS = {"inputs"}
EDGES = {"probe", "lab", "store", "helper", "net", "dashboard", "engine"}
CLI = {"cli", "__main__"}
# edges that another edge may use, and why
EDGE_USES = {
    "helper": {"probe", "net"},  # the helper measures with the probe, serves with net/
    "lab": {"net"},  # the lab's sites serve with the shared server routine
    "dashboard": {"store", "net"},  # the dashboard reads the store, limits heads with net/
    "engine": {"store"},  # the batch jobs make the store's rows and write its lake
}
# what the core must not touch: sockets, event loops, processes, files, DuckDB, the CLI
CORE_FORBIDDEN = {
    "socket",
    "ssl",
    "asyncio",
    "selectors",
    "subprocess",
    "tempfile",
    "shutil",
    "pathlib",
    "duckdb",
    "argparse",
    "rich",
    "h11",
    "aioquic",
    "matplotlib",
    "urllib.request",
    "http",
    "uvloop",
}


def _layer(module: str) -> str:
    """'censorscope.wire.quic' -> 'wire'; 'censorscope.records' -> 'records'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, lazy ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path}:{node.lineno}: use absolute imports")
            base = node.module or ""
            if base == "censorscope":  # from censorscope import wire -> censorscope.wire
                out += [(node.lineno, f"censorscope.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, base))
    return out


def _calls_open(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "open"
    ]


def _allowed(src: str, dst: str) -> bool:
    if src in VOCABULARY:
        return dst in VOCABULARY
    if src in CORE:
        return dst in VOCABULARY | CORE
    if src in INPUTS:
        return dst in VOCABULARY | CORE | INPUTS
    if src in EDGES:
        return dst in VOCABULARY | CORE | INPUTS | {src} | EDGE_USES.get(src, set())
    return src in CLI


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        out.append((name, path))
    return out


def test_every_module_belongs_to_a_layer() -> None:
    known = VOCABULARY | CORE | INPUTS | EDGES | CLI
    strays = [name for name, _ in _modules() if _layer(name) not in known]
    assert not strays, f"modules outside the layers of docs/architecture.md: {strays}"


def test_imports_follow_the_dependency_rule() -> None:
    wrong = []
    for name, path in _modules():
        src = _layer(name)
        for line, module in _imports(path):
            if module.split(".")[0] == "censorscope":
                dst = _layer(module)
                if not _allowed(src, dst):
                    wrong.append(f"{path.relative_to(PACKAGE)}:{line}: {src} imports {module}")
            elif src in CORE and any(
                module == f or module.startswith(f + ".") for f in CORE_FORBIDDEN
            ):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line}: the core imports {module}")
        if src in CORE:
            wrong += [
                f"{path.relative_to(PACKAGE)}:{n}: the core opens a file" for n in _calls_open(path)
            ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "src, dst, ok",
    [
        ("analysis", "records", True),
        ("analysis", "store", False),
        ("wire", "probe", False),
        ("rules", "inputs", False),
        ("probe", "analysis", True),
        ("probe", "lab", False),
        ("lab", "probe", False),
        ("store", "cli", False),
        ("helper", "probe", True),
        ("cli", "lab", True),
        ("records", "analysis", False),
    ],
)
def test_the_rule_itself(src: str, dst: str, ok: bool) -> None:
    assert _allowed(src, dst) is ok


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from censorscope.store import Store\n    import duckdb\n")
    assert [m for _, m in _imports(f)] == ["censorscope.store", "duckdb"]
