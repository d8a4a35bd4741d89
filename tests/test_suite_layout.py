"""The default suite stands on its own: nothing in it imports the benchmark harness
(tests/bench), which may change with every measurement; the harness may use the
suite's helpers instead."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
BENCH = TESTS / "bench"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_nothing_outside_the_bench_imports_it() -> None:
    importers = {
        str(path.relative_to(TESTS)): sorted(
            m for m in imported_modules(path) if m == "tests.bench" or m.startswith("tests.bench.")
        )
        for path in TESTS.rglob("*.py")
        if BENCH not in path.parents
    }
    assert {path: modules for path, modules in importers.items() if modules} == {}
