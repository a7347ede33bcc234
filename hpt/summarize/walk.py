"""Find the run directories under a path: one ``os.scandir`` per directory, nothing read.

A run directory holds ``result.json`` or ``manifest.json``, or is a sweep's ``trial_N``
(or, in a user's app, Hydra's ``N``) folder with no contract file yet (a trial that has
just started or died early). Hidden folders, checkpoints and tool caches are never entered,
and symlinked folders are not followed (they can form loops).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from hpt.rundir import MANIFEST, RESULT, SWEEP

# Never descend into these: they belong to a run and can be large (checkpoints) or are
# tool caches; hidden directories (``.hydra``, ``.git``) are skipped by the dot rule.
SKIP_DIRS = frozenset({"checkpoints", "__pycache__", "node_modules", "wandb", "lightning_logs"})
#: A sweep's trial folder (hpt's ``trial_N``, or Hydra's default job subdir ``N`` in a user's
#: app); the group is the trial number.
TRIAL_DIR = re.compile(r"^(?:trial_)?(\d+)$")


@dataclass
class Found:
    """One run directory found.

    Attributes:
        path: The run directory.
        root: The folder its name is given relative to (the path walked, or its parent).
        sweep: The sweep directory it belongs to (one holding ``sweep.json``), if any.
        files: The names of the plain files in it.
    """

    path: Path
    root: Path
    sweep: Path | None
    files: set[str]


def list_dir(path: Path) -> tuple[set[str], list[str]] | None:
    """The file names and (walkable) subdirectory names of ``path``.

    Args:
        path: A directory.

    Returns:
        ``(file names, subdirectory names)``, or None when it cannot be listed.
    """
    files: set[str] = set()
    dirs: list[str] = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                try:
                    # Symlinked directories are not followed: they can form loops.
                    if entry.is_dir(follow_symlinks=False):
                        dirs.append(entry.name)
                    else:
                        files.add(entry.name)
                except OSError:
                    continue
    except OSError:
        return None
    return files, dirs


def walk_runs(root: Path, warnings: list[str]) -> Iterator[Found]:
    """Yield the run directories under ``root`` (``root`` itself included), depth first.

    Args:
        root: The path given on the command line.
        warnings: Gets one line per folder that cannot be listed.

    Yields:
        Each run directory, in sorted order within each folder.
    """
    listing = list_dir(root)
    if listing is None:
        warnings.append(f"{root}: cannot list directory")
        return
    files, _ = listing
    if RESULT in files or MANIFEST in files:
        # resolve(): for ``hpt summarize .`` the parent of "." is "." itself.
        parent = root.resolve().parent
        sweep = parent if (parent / SWEEP).is_file() else None
        yield Found(root, parent, sweep, files)
        return
    stack: list[tuple[Path, set[str], list[str], Path | None]] = []
    stack.append((root, *listing, None))
    while stack:
        path, files, dirs, parent_sweep = stack.pop()
        here_sweep = path if SWEEP in files else parent_sweep
        children: list[tuple[Path, set[str], list[str], Path | None]] = []
        for name in sorted(dirs):
            if name.startswith(".") or name in SKIP_DIRS:
                continue
            child = path / name
            sub = list_dir(child)
            if sub is None:
                warnings.append(f"{child}: cannot list directory, skipped")
                continue
            sub_files, sub_dirs = sub
            if here_sweep is path and _is_refit(name, sub_files):
                continue
            # A trial directory of a sweep without any contract file yet is a trial that
            # has just started (or died before writing anything): list it, don't hide it.
            is_trial = here_sweep is path and TRIAL_DIR.match(name) is not None
            if (
                RESULT in sub_files
                or MANIFEST in sub_files
                or (is_trial and not _has_subfolders(sub_dirs))
            ):
                yield Found(child, root, here_sweep, sub_files)
            else:
                children.append((child, sub_files, sub_dirs, here_sweep))
        stack.extend(reversed(children))


def _is_refit(name: str, files: set[str]) -> bool:
    """A sweep's refit model (``hpt.sweep.refit``: ``best/``): its validation rows trained too,
    so its validation score is not comparable with the trials' and it is not ranked."""
    return name == "best.tmp" or (name == "best" and "refit.json" in files)


def _has_subfolders(dirs: Iterable[str]) -> bool:
    """Whether a directory looks like it nests further runs (so it is a folder, not a run)."""
    return any(not d.startswith(".") and d not in SKIP_DIRS for d in dirs)
