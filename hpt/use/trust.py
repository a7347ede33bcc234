"""What loading a run may import and call: a run directory is data, not code.

``hpt predict``, ``eval``, ``export`` and ``hpt.api.load`` rebuild a model from a run
directory, which may come from someone else. Without ``--trust-code`` (``trust_code=True``):

- modules are imported only from the user's own environment (hpt, installed packages, the
  current folder), never from the run directory or its sweep, and never from the project
  folder the run recorded (``cwd`` in ``checkpoints/best.json``);
- the only ``_target_`` called is a ``torch.nn.Module`` class or one that hpt's own
  ``model``, ``loss`` and ``data`` options name (``hpt.models.resnet18``, ``hpt.losses.auto``,
  hpt's data sources), every nested one too, checked before anything is called.

With it, the recorded folder goes on ``sys.path`` and any ``_target_`` is called, as when the
run was trained.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hpt.errors import UserError

FLAG = "--trust-code"


def allow_recorded(recorded: str | None, trusted: bool) -> None:
    """The user's current folder on ``sys.path`` (as ``python -m`` has it), and the run's
    recorded project folder too when the user trusts the run."""
    from hpt.cli.argv import importable_cwd

    importable_cwd()
    if trusted and recorded and recorded not in sys.path:
        sys.path.append(recorded)


def check(node: Any, key: str, *, run_dir: Path, recorded: str | None) -> None:
    """Refuse, before anything is imported from it or called, a config whose ``_target_``s
    (``node``'s own and every nested one) a run directory may not name.

    Args:
        node: The config as plain data (dicts and lists), e.g. best.json's ``model``.
        key: Its name in messages and hpt's config group (``model``, ``loss``, ``data``).
        run_dir: The run directory it came from.
        recorded: The project folder the run recorded (best.json's ``cwd``).

    Raises:
        UserError: One line naming the target, why, and ``--trust-code``.
    """
    for where, target in _targets(node, key):
        _check_target(target, where, key, run_dir, recorded)


def _targets(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        if "_target_" in node:
            yield f"{where}._target_", str(node["_target_"])
        for k, v in node.items():
            yield from _targets(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _targets(v, f"{where}[{i}]")


def _check_target(target: str, where: str, group: str, run_dir: Path, recorded: str | None) -> None:
    from hpt.targets import locate

    said = f"{where}={target} in {run_dir}"
    for path in _module_paths(target):
        if any(_inside(path, root) for root in _data_roots(run_dir)):
            raise UserError(
                f"{said} would import {path}: hpt imports no code from a run directory or its "
                f"sweep; pass {FLAG} only if you trust who wrote it"
            )
    top = target.split(".")[0]
    if recorded and not _findable(top) and _findable(top, [recorded]):
        raise UserError(
            f"{said} is imported from the run's project folder {recorded}, which hpt does not "
            f"import from: run from that folder, install the package, or pass {FLAG} if you "
            "trust the run"
        )
    obj = locate(target, where)  # the user's own environment: hpt, installed, this folder
    if target in _hpt_targets(group) or _is_module_class(obj):
        return
    raise UserError(
        f"{said} is not a torch.nn.Module class: from a run directory hpt calls only model "
        f"classes and its own options' targets; pass {FLAG} to call it if you trust the run"
    )


def _is_module_class(obj: Any) -> bool:
    from torch import nn

    return isinstance(obj, type) and issubclass(obj, nn.Module)


@functools.lru_cache(maxsize=8)
def _hpt_targets(group: str) -> frozenset[str]:
    """The ``_target_``s hpt's own options of ``group`` name (``conf/<group>/*.yaml``)."""
    import yaml

    from hpt.cli.app import config_dir

    names: set[str] = set()
    for path in (config_dir() / group).glob("*.yaml"):
        data = yaml.safe_load(path.read_text()) or {}
        names.update(t for _, t in _targets(data, group) if t != "???")
    return frozenset(names)


def _data_roots(run_dir: Path) -> list[Path]:
    """The run directory and, for a sweep's trial, its sweep directory."""
    run = run_dir.resolve()
    return [run, run.parent] if (run.parent / "sweep.json").is_file() else [run]


def _inside(path: str, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root)


def _findable(name: str, where: list[str] | None = None) -> bool:
    import importlib.machinery
    import importlib.util

    if where is not None:
        return importlib.machinery.PathFinder.find_spec(name, where) is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _module_paths(target: str) -> Iterator[str]:
    """The files and folders importing ``target`` would run or search, each module prefix of
    the dotted path in turn, as Hydra imports them; found without importing anything new."""
    import importlib.util

    parts = target.split(".")
    search: list[str] = []
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        module = sys.modules.get(name)
        if module is not None or i == 1:
            try:  # imported already, or a top-level name: nothing runs to find it
                spec = module.__spec__ if module is not None else importlib.util.find_spec(name)
            except (ImportError, ValueError):
                return
            if spec is None:
                return  # the rest are attributes (or nothing: the import then says so)
            origin = spec.origin if spec.has_location else None
            search = [str(p) for p in spec.submodule_search_locations or []]
        else:
            origin, search = _submodule(parts[i - 1], search)
            if origin is None and not search:
                return
        if origin:
            yield origin
        yield from search
        if not search:
            return  # a plain module: the rest are its attributes


def _submodule(part: str, search: list[str]) -> tuple[str | None, list[str]]:
    """Where module ``part`` is in a package's folders (``search``), found as the import
    system finds it on a path but by looking only: its file (or None) and its own folders."""
    import importlib.machinery

    for folder in search:
        base = Path(folder) / part
        if (base / "__init__.py").is_file():
            return str(base / "__init__.py"), [str(base)]
        for suffix in importlib.machinery.all_suffixes():
            if (Path(folder) / (part + suffix)).is_file():
                return str(Path(folder) / (part + suffix)), []
    return None, [str(Path(f) / part) for f in search if (Path(f) / part).is_dir()]
