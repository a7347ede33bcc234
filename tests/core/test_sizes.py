"""The sizes issue 24 set for hpt's own code, kept: no function over 60 lines or 7 parameters,
no module over 400 lines, no line over 100 characters; and no formatter skip marker in any
Python file of the repository, tests and benchmarks included (the formatter decides every
line's shape).

Read from the source with ``ast``; ``self``/``cls`` are not counted as parameters.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(REPO / "hpt").rglob("*.py"), *(REPO / "hydra_plugins").rglob("*.py")])
ALL_PYTHON = sorted(
    p
    for root in ("hpt", "hydra_plugins", "tests", "benchmarks")
    for p in (REPO / root).rglob("*.py")
    if ".venvs" not in p.parts  # the benchmark's peer environments are not ours
)


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    out = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out.append((f"{path.relative_to(REPO)}:{node.lineno} {node.name}", node))
    return out


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    starred = (a.vararg is not None) + (a.kwarg is not None)
    return len([n for n in names if n not in ("self", "cls")]) + starred


def test_the_scan_sees_the_code() -> None:
    names = [where for where, _ in _functions()]
    assert len(SOURCES) > 100 and any(w.endswith(" fit") for w in names)
    assert _parameters(ast.parse("def f(self, a, *b, c, **d): pass").body[0]) == 4  # type: ignore[arg-type]


def test_no_function_over_60_lines() -> None:
    long = [
        (where, n.end_lineno - n.lineno + 1)
        for where, n in _functions()
        if n.end_lineno is not None and n.end_lineno - n.lineno + 1 > 60
    ]
    assert long == []


def test_no_function_over_7_parameters() -> None:
    assert [(where, _parameters(n)) for where, n in _functions() if _parameters(n) > 7] == []


def test_no_module_over_400_lines_and_no_fmt_skip() -> None:
    big = [
        (str(p.relative_to(REPO)), n)
        for p in SOURCES
        if (n := len(p.read_text().splitlines())) > 400
    ]
    assert big == []
    marker = "# fmt" + ": skip"  # spelled in two so that this file does not hold it
    skipped = [str(p.relative_to(REPO)) for p in ALL_PYTHON if marker in p.read_text()]
    assert len(ALL_PYTHON) > len(SOURCES) + 50 and skipped == []


def test_no_line_wider_than_the_formatter() -> None:
    """ruff format wraps code at 100 characters but leaves long strings and comments alone."""
    wide = [
        f"{p.relative_to(REPO)}:{i}"
        for p in SOURCES
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if len(line) > 100
    ]
    assert wide == []
