"""The shape of hpt's imports: no module imports itself back, none reaches into another's privates.

Read from the source with ``ast`` (nothing is imported), so the test sees lazy imports inside
functions too: an import circle is a circle whether or not Python happens to tolerate it.
"""

from __future__ import annotations

import ast
from pathlib import Path

HPT = Path(__file__).resolve().parents[2] / "hpt"
PLUGINS = HPT.parent / "hydra_plugins"  # hpt's Hydra plugins: part of the same import graph
OURS = ("hpt", "hydra_plugins.hpt_")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted([*HPT.rglob("*.py"), *PLUGINS.glob("hpt_*/*.py")]):
        parts = path.relative_to(HPT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _owner(name: str) -> str:
    """The hpt module a dotted name lives in (``hpt.training.loop.fit`` -> ``hpt.training.loop``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> list[tuple[str, str | None, bool]]:
    """``(target module, imported name or None, at module level)`` for each hpt import."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    nested = {
        id(n)
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        for n in ast.walk(f)
    }
    out: list[tuple[str, str | None, bool]] = []
    for node in ast.walk(tree):
        top = id(node) not in nested
        if isinstance(node, ast.Import):
            out += [(_owner(a.name), None, top) for a in node.names if a.name.startswith(OURS)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            hpt_names = node.module.startswith(OURS) or (
                node.module
                == "hydra_plugins.hpt_sweeper"  # from hydra_plugins.hpt_sweeper import x
            )
            out += [
                (_owner(f"{node.module}.{a.name}"), a.name, top) for a in node.names if hpt_names
            ]
    return out


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, top in _imports(module):
            if target == module:
                continue
            # A package loading one of its own plug-in modules from inside a function (a lazy
            # dispatch, like hpt.data picking its source) is how the package is built, not a circle.
            if not top and target.startswith(module + "."):
                continue
            edges[module].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return cycles


def test_the_scan_sees_the_modules_and_imports_it_checks() -> None:
    edges = _edges()
    assert {"hpt.train", "hpt.training.loop", "hpt.record", "hpt.generative.run"} <= set(MODULES)
    assert "hydra_plugins.hpt_sweeper.hpt_sweeper" in MODULES  # the plugins are scanned too
    assert "hpt.sweep.planning.options" in edges["hydra_plugins.hpt_sweeper.hpt_sweeper"]
    assert "hpt.record" in edges["hpt.train"] and "hpt.record" in edges["hpt.generative.run"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_circle_between_hpt_modules() -> None:
    assert _cycles(_edges()) == []


def test_no_private_name_is_imported_from_another_module() -> None:
    found = [
        f"{module} imports {name} from {target}"
        for module in MODULES
        for target, name, _ in _imports(module)
        if name and name.startswith("_") and not name.startswith("__") and target != module
    ]
    assert found == []


def test_the_training_step_and_the_epoch_driver_live_only_in_the_loop() -> None:
    """Every loop updates weights through ``loop.Update``: ``scaler.step`` appears once."""
    steppers = [m for m, p in MODULES.items() if ".step(self.optimizer)" in p.read_text()]
    assert steppers == ["hpt.training.loop"]
    for module in (
        "hpt.training.lr_find",
        "hpt.generative.gan",
        "hpt.generative.vae",
        "hpt.generative.scorer",
    ):
        text = MODULES[module].read_text()
        assert "Update(" in text and "backward()" not in text, module


# Hydra's private API, used in one module only (hpt.cli.hydra_internals says why and for which
# Hydra version), so that an upgrade of Hydra has one place to check.
HYDRA_PRIVATES = ("hydra._internal", "_return_value")


def test_hydras_private_api_is_used_only_in_hydra_internals() -> None:
    """Read as text, so a lazy import, a ``getattr`` or a comment is found as well."""
    internals = MODULES["hpt.cli.hydra_internals"]
    assert all(name in internals.read_text(encoding="utf-8") for name in HYDRA_PRIVATES)
    found = [
        f"{path.relative_to(HPT.parent)} uses {name}"
        for path in sorted([*HPT.rglob("*.py"), *PLUGINS.rglob("*.py")])
        if path != internals
        for name in HYDRA_PRIVATES
        if name in path.read_text(encoding="utf-8")
    ]
    assert found == []


# Calls that write a file: a function that makes one of them and names result.json (RESULT
# or the literal) writes the run record. Read from the AST, so a path kept in a variable first
# (``path = run_dir / RESULT``; ``atomic_write_json(path, ...)``) is seen too.
FILE_WRITERS = {"atomic_write_json", "atomic_write_text", "write_text", "write_bytes", "dump"}


def _result_writers(source: str) -> list[str]:
    """The functions in ``source`` that both name result.json and call a file writer."""

    def names_result(node: ast.AST) -> bool:
        return any(
            (isinstance(n, ast.Name) and n.id == "RESULT")
            or (isinstance(n, ast.Attribute) and n.attr == "RESULT")
            or (isinstance(n, ast.Constant) and n.value == "result.json")
            for n in ast.walk(node)
        )

    def writes(node: ast.AST) -> bool:
        calls = [n.func for n in ast.walk(node) if isinstance(n, ast.Call)]
        return any(
            (f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")) in FILE_WRITERS
            for f in calls
        )

    funcs = [
        f
        for f in ast.walk(ast.parse(source))
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    return [f.name for f in funcs if names_result(f) and writes(f)]


def test_result_json_is_written_by_one_module_only() -> None:
    """``hpt.result`` owns the run record: every other module calls its functions."""
    found = {
        module: writers
        for module, path in MODULES.items()
        if (writers := _result_writers(path.read_text(encoding="utf-8")))
    }
    assert found == {"hpt.result": ["write_result"]}
    # The scan sees the ways this code base has written it (an old RunRecord, accounting's).
    assert _result_writers("def f(d):\n    atomic_write_json(d / RESULT, {})\n") == ["f"]
    assert _result_writers("def g(d):\n    p = d / RESULT\n    atomic_write_json(p, {})\n") == ["g"]
    assert _result_writers("def h(d):\n    (d / 'result.json').write_text('')\n") == ["h"]
    assert _result_writers("def r(d):\n    return read_json(d / RESULT)\n") == []


# Old import paths: a name is imported from the module that defines it. A package's
# ``__init__.py`` may gather names for its face; no other module passes on a name it imported.
CALLERS = sorted(
    p
    for root in ("hpt", "hydra_plugins", "tests", "benchmarks")
    for p in (HPT.parent / root).rglob("*.py")
    if ".venvs" not in p.parts and "lht_upstream" not in p.parts
)


def _defined(body: list[ast.stmt]) -> set[str]:
    """The names a module's top level binds itself (under ``if``/``try`` too), imports aside."""
    out: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.If | ast.Try | ast.With):
            handlers = [h.body for h in getattr(node, "handlers", [])]
            for block in (node.body, getattr(node, "orelse", []), *handlers):
                out |= _defined(block)
    return out


def _passed_on(module: str) -> list[str]:
    """Names ``module`` imports from another hpt module and hands on: in ``__all__``, as
    ``import x as x``, or never used by the module itself."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    listed: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            listed = {e.value for e in ast.walk(node.value) if isinstance(e, ast.Constant)}
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    out = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(OURS):
            for a in node.names:
                name = a.asname or a.name
                if name in listed or a.asname == a.name or name not in used:
                    out.append(f"{module} passes on {name} from {node.module}")
    return out


def test_no_module_but_a_package_face_re_exports_a_name() -> None:
    found = [
        line
        for module, path in MODULES.items()
        if path.name != "__init__.py"
        for line in _passed_on(module)
    ]
    assert found == []


def test_every_name_is_imported_from_the_module_that_defines_it() -> None:
    """Read in hpt, its plugins, the tests and the benchmarks, lazy imports included."""
    defined = {
        m: _defined(ast.parse(p.read_text(encoding="utf-8")).body)
        for m, p in MODULES.items()
        if p.name != "__init__.py"
    }
    found = [
        f"{path.relative_to(HPT.parent)}:{node.lineno} imports {a.name} from {node.module}"
        for path in CALLERS
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module in defined
        for a in node.names
        if a.name not in defined[node.module] and f"{node.module}.{a.name}" not in MODULES
    ]
    assert len(CALLERS) > len(MODULES) and found == []
