"""Find run directories under the given paths and read them into one DataFrame.

Reading is deliberately lean (one ``os.scandir`` per directory, one ``json.load`` per
``result.json``, one DataFrame construction at the end) because ``hpt summarize`` over a
thousand runs has to finish in well under two seconds, most of which is importing pandas.

Finding the run directories is ``hpt.summarize.walk``; the frame's states, column prefixes
and parameter-column questions are ``hpt.summarize.columns`` (importable from here too).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.rundir import METRICS, SWEEP, read_json, read_jsonl
from hpt.summarize.columns import (
    BASE_COLUMNS,
    METRIC_SECTIONS,
    OBJECTIVE_PREFIX,
    PARAM_PREFIX,
    RETRIED,
    RETRY_KINDS,
    SEARCHED,
    SEARCHED_LOG,
    value_key,
)
from hpt.summarize.rows import read_run
from hpt.summarize.walk import Found, walk_runs

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Collection", "SweepInfo", "collect_runs", "metric_history", "read_sweep"]


@dataclass
class SweepInfo:
    """What ``sweep.json`` says about one sweep directory.

    Attributes:
        path: The sweep directory.
        name: The study name (the directory name when ``sweep.json`` has none).
        storage: The storage spec as written (a sweep-relative path or a masked URL).
        directions: One direction per objective.
        objectives: Objective names.
        search_space: Parameter name -> distribution text.
        raw: The whole parsed ``sweep.json`` (empty when unreadable).
    """

    path: Path
    name: str
    storage: str | None = None
    directions: list[str] = field(default_factory=list)
    objectives: list[str] = field(default_factory=list)
    search_space: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class Collection:
    """Everything read from disk: one row per run plus sweep metadata.

    Attributes:
        frame: One row per run (see ``BASE_COLUMNS``; ``params.*``, ``best.*``, ``final.*``,
            ``test.*`` and, for multi-objective runs, ``objective.<name>`` columns follow).
        sweeps: Sweep directories met on the way, keyed by their path as a string.
        directions: Objective name -> direction, from the runs' ``objectives`` lists.
        warnings: One line per run directory that could not be read completely.
    """

    frame: pd.DataFrame
    sweeps: dict[str, SweepInfo]
    directions: dict[str, str]
    warnings: list[str]


def read_sweep(path: Path) -> SweepInfo:
    """Parse ``sweep.json`` (tolerating a missing or broken one).

    Args:
        path: The sweep directory.

    Returns:
        The sweep's metadata; fields stay empty where the file says nothing.
    """
    raw = read_json(path / SWEEP) or {}
    objectives = raw.get("objectives")
    directions = raw.get("directions")
    space = raw.get("search_space")
    storage = raw.get("storage")
    return SweepInfo(
        path=path,
        name=str(raw.get("study_name") or path.name),
        storage=storage if isinstance(storage, str) else None,
        directions=[str(d) for d in directions] if isinstance(directions, list) else [],
        objectives=[str(o) for o in objectives] if isinstance(objectives, list) else [],
        search_space=dict(space) if isinstance(space, Mapping) else {},
        raw=raw,
    )


def collect_runs(paths: Iterable[str | os.PathLike[str]]) -> Collection:
    """Read every run directory under ``paths`` into one DataFrame.

    Each path may be a run directory, a sweep directory, or any folder holding them.
    Unreadable runs are listed with state ``CORRUPT``/``UNKNOWN`` and a warning; they
    never raise.

    Args:
        paths: Directories to scan (must exist; the CLI checks).

    Returns:
        The runs (one row each, in discovery order), the sweeps met, objective
        directions and warnings.
    """
    warnings: list[str] = []
    sweeps: dict[str, SweepInfo] = {}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    directions: dict[str, str] = {}
    roots = [Path(p) for p in paths]
    for root in roots:
        for found in walk_runs(root, warnings):
            if len(roots) > 1:  # overlapping arguments (outputs/ and outputs/sweeps/x)
                key = os.path.realpath(found.path)
                if key in seen:
                    continue
                seen.add(key)
            sweep = _sweep_of(found, sweeps, directions)
            row = read_run(found, sweep.name if sweep else None, warnings, directions)
            row["sweep_dir"] = str(found.sweep) if found.sweep else None
            rows.append(row)
    _mark_retried(rows)
    return Collection(
        frame=_frame(rows, sweeps), sweeps=sweeps, directions=directions, warnings=warnings
    )


def _sweep_of(
    found: Found, sweeps: dict[str, SweepInfo], directions: dict[str, str]
) -> SweepInfo | None:
    """The run's sweep, its ``sweep.json`` read the first time the sweep is met (and its
    objectives' directions noted)."""
    if found.sweep is None:
        return None
    skey = str(found.sweep)
    if skey not in sweeps:
        sweeps[skey] = read_sweep(found.sweep)
        info = sweeps[skey]
        for name, direction in zip(info.objectives, info.directions):
            directions.setdefault(name, direction)
    return sweeps[skey]


def _frame(rows: list[dict[str, Any]], sweeps: dict[str, SweepInfo]) -> pd.DataFrame:
    """The rows as one DataFrame: base columns always there, in display order; the
    searched names in its ``attrs``."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=list(BASE_COLUMNS))
    for column in BASE_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    frame = frame[_ordered_columns(list(frame.columns))]
    # Which names were searched travels with the frame (filtering and sorting keep attrs),
    # so every view can show an interpolated twin under its searched name.
    spaces = [info.search_space for info in sweeps.values()]
    frame.attrs[SEARCHED] = sorted({name for space in spaces for name in space})
    frame.attrs[SEARCHED_LOG] = sorted(
        {name for space in spaces for name, spec in space.items() if "log" in str(spec)}
    )
    return frame


def _mark_retried(rows: list[dict[str, Any]]) -> None:
    """FAIL rows of a dead or interrupted worker whose params a later trial ran: RETRIED.

    The sweeper re-queues such a trial once with the same params (``hpt.sweep.running.accounting``);
    the copy that died again has no later twin and stays FAIL.
    """

    def params_of(row: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        return tuple(
            sorted((k, value_key(v)) for k, v in row.items() if k.startswith(PARAM_PREFIX))
        )

    for row in rows:
        if row.get("status") != "FAIL" or row.get("error_kind") not in RETRY_KINDS:
            continue
        if row.get("sweep_dir") is None or not isinstance(row.get("trial"), int):
            continue
        mine = params_of(row)
        copy = next(
            (
                other
                for other in rows
                if other.get("sweep_dir") == row["sweep_dir"]
                and isinstance(other.get("trial"), int)
                and other["trial"] > row["trial"]
                and params_of(other) == mine
            ),
            None,
        )
        if copy is not None:
            row["status"] = RETRIED
            row["retried_by"] = copy["name"]


def _ordered_columns(columns: list[str]) -> list[str]:
    """Base columns, then objective values, metrics (best/final/test), params, the rest."""

    def rank(column: str) -> tuple[int, int]:
        if column in BASE_COLUMNS:
            return (0, BASE_COLUMNS.index(column))
        if column.startswith(OBJECTIVE_PREFIX):
            return (1, 0)
        for i, section in enumerate(METRIC_SECTIONS):
            if column.startswith(section + "."):
                return (2 + i, 0)
        if column.startswith(PARAM_PREFIX):
            return (6, 0)
        return (7, 0)

    # sorted() is stable: within a group the discovery order is kept.
    return sorted(columns, key=rank)


def metric_history(run: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The per-epoch records of one run (a torn last line is skipped).

    Args:
        run: The run directory.

    Returns:
        One dict per line of its ``metrics.jsonl`` (empty when there is none).
    """
    return read_jsonl(Path(run) / METRICS)
