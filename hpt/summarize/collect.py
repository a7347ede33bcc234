"""Find run directories under the given paths and read them into one DataFrame.

Reading is deliberately lean (one ``os.scandir`` per directory, one ``json.load`` per
``result.json``, one DataFrame construction at the end) because ``hpt summarize`` over a
thousand runs has to finish in well under two seconds, most of which is importing pandas.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.rundir import MANIFEST, METRICS, RESULT, STATUSES, SWEEP, flatten, read_json, read_jsonl

if TYPE_CHECKING:
    import pandas as pd

#: States a run can be listed with besides the contract's statuses.
CORRUPT = "CORRUPT"  # result.json exists but is truncated, garbage or not an object
UNKNOWN = "UNKNOWN"  # no readable result yet (only a manifest, or an empty trial dir)
# A trial whose worker died or was interrupted and whose params were queued again: a later
# trial of the same sweep ran them (its result.json says FAIL with one of these kinds).
RETRIED = "RETRIED"
RETRY_KINDS = frozenset({"interrupted", "worker_died"})
ALL_STATES = (*STATUSES, RETRIED, CORRUPT, UNKNOWN)

PARAM_PREFIX = "params."
#: ``frame.attrs`` keys: the parameter names the frame's sweeps searched (their search
#: spaces), and those of them searched on a log scale (``tag(log, ...)``).
SEARCHED = "hpt_searched"
SEARCHED_LOG = "hpt_searched_log"
OBJECTIVE_PREFIX = "objective."
METRIC_SECTIONS = ("best", "final", "test")

#: Columns every frame has, in display order (params and metrics follow).
BASE_COLUMNS = (
    "run",
    "name",
    "sweep",
    "trial",
    "status",
    "objective",
    "value",
    "direction",
    "epochs",
    "duration_s",
    "n_params",
    "error_kind",
    "error",
    "sweep_dir",
)

# Never descend into these: they belong to a run and can be large (checkpoints) or are
# tool caches; hidden directories (``.hydra``, ``.git``) are skipped by the dot rule.
_SKIP_DIRS = frozenset({"checkpoints", "__pycache__", "node_modules", "wandb", "lightning_logs"})
_TRIAL_DIR = re.compile(r"^trial_(\d+)$")


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


def to_float(value: Any) -> float:
    """A metric as float: JSON has no NaN/inf so they arrive as strings; junk is NaN."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def _param_value(value: Any) -> Any:
    """Keep scalars as they are; lists/dicts become JSON text so every cell stays scalar."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _metric_value(value: Any) -> Any:
    if isinstance(value, str):
        number = to_float(value)
        return value if math.isnan(number) and value.lower() != "nan" else number
    return _param_value(value)


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


def _names(path: Path) -> tuple[set[str], list[str]] | None:
    """The file names and (walkable) subdirectory names of ``path``, or None if unreadable."""
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


@dataclass
class _Found:
    path: Path
    root: Path
    sweep: Path | None
    files: set[str]


def _walk(root: Path, warnings: list[str]) -> Iterator[_Found]:
    """Yield run directories under ``root`` (``root`` itself included), depth first, sorted."""
    listing = _names(root)
    if listing is None:
        warnings.append(f"{root}: cannot list directory")
        return
    files, _ = listing
    if RESULT in files or MANIFEST in files:
        # resolve(): for ``hpt summarize .`` the parent of "." is "." itself.
        parent = root.resolve().parent
        sweep = parent if (parent / SWEEP).is_file() else None
        yield _Found(root, parent, sweep, files)
        return
    stack: list[tuple[Path, set[str], list[str], Path | None]] = []
    stack.append((root, *listing, None))
    while stack:
        path, files, dirs, parent_sweep = stack.pop()
        here_sweep = path if SWEEP in files else parent_sweep
        children: list[tuple[Path, set[str], list[str], Path | None]] = []
        for name in sorted(dirs):
            if name.startswith(".") or name in _SKIP_DIRS:
                continue
            child = path / name
            sub = _names(child)
            if sub is None:
                warnings.append(f"{child}: cannot list directory, skipped")
                continue
            sub_files, sub_dirs = sub
            # A trial directory of a sweep without any contract file yet is a trial that
            # has just started (or died before writing anything): list it, don't hide it.
            is_trial = here_sweep is path and _TRIAL_DIR.match(name) is not None
            if (
                RESULT in sub_files
                or MANIFEST in sub_files
                or (is_trial and not _has_subfolders(sub_dirs))
            ):
                yield _Found(child, root, here_sweep, sub_files)
            else:
                children.append((child, sub_files, sub_dirs, here_sweep))
        stack.extend(reversed(children))


def _has_subfolders(dirs: Iterable[str]) -> bool:
    """Whether a directory looks like it nests further runs (so it is a folder, not a run)."""
    return any(not d.startswith(".") and d not in _SKIP_DIRS for d in dirs)


def _progress(path: Path, row: dict[str, Any]) -> None:
    """Fill epochs/final metrics of an unfinished run from its metrics.jsonl."""
    records = read_jsonl(path / METRICS)
    if not records:
        return
    row["epochs"] = len(records)
    for key, value in records[-1].items():
        if key != "epoch":
            row[f"final.{key}"] = _metric_value(value)


def _read_run(
    found: _Found, sweep: SweepInfo | None, warnings: list[str], directions: dict[str, str]
) -> dict[str, Any]:
    path = found.path
    try:
        name = str(path.relative_to(found.root))
    except ValueError:
        name = path.name
    if name in ("", "."):
        name = path.resolve().name
    match = _TRIAL_DIR.match(path.name)
    row: dict[str, Any] = {
        "run": str(path),
        "name": name,
        "sweep": sweep.name if sweep else None,
        "trial": int(match.group(1)) if match else None,
    }
    result = read_json(path / RESULT) if RESULT in found.files else None
    if result is None:
        if RESULT in found.files:
            row["status"] = CORRUPT
            warnings.append(f"{path}: result.json is truncated or not a JSON object")
        else:
            row["status"] = UNKNOWN
            what = "only manifest.json" if MANIFEST in found.files else "no result.json"
            warnings.append(f"{path}: {what}, run state unknown")
        if METRICS in found.files:
            _progress(path, row)
        return row

    status = result.get("status")
    row["status"] = status if status in STATUSES else UNKNOWN
    if row["status"] == UNKNOWN:
        warnings.append(f"{path}: result.json has unknown status {status!r}")
    trial = result.get("trial")
    if isinstance(trial, Mapping) and isinstance(trial.get("number"), int):
        row["trial"] = trial["number"]

    objectives = [o for o in result.get("objectives") or [] if isinstance(o, Mapping)]
    primary = result.get("objective")
    if not isinstance(primary, Mapping):
        primary = objectives[0] if objectives else {}
    row["objective"] = primary.get("name")
    row["value"] = to_float(primary.get("value"))
    row["direction"] = primary.get("direction")
    for obj in objectives or [primary]:
        if isinstance(obj.get("name"), str) and obj.get("direction") in ("maximize", "minimize"):
            directions.setdefault(obj["name"], obj["direction"])
    if len(objectives) > 1:
        for obj in objectives:
            row[f"{OBJECTIVE_PREFIX}{obj.get('name')}"] = to_float(obj.get("value"))

    row["epochs"] = result.get("epochs")
    row["duration_s"] = to_float(result.get("duration_s"))
    model = result.get("model")
    row["n_params"] = model.get("n_params") if isinstance(model, Mapping) else None
    row["error_kind"] = result.get("error_kind")
    error = result.get("error")
    row["error"] = str(error) if error is not None else None
    for section in METRIC_SECTIONS:
        values = result.get(section)
        if isinstance(values, Mapping):
            for key, value in values.items():
                row[f"{section}.{key}"] = _metric_value(value)
    params = result.get("params")
    if isinstance(params, Mapping):
        for key, value in flatten(params).items():
            row[f"{PARAM_PREFIX}{key}"] = _param_value(value)
    if row["status"] == "RUNNING" and METRICS in found.files and not result.get("final"):
        _progress(path, row)
    return row


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
    import pandas as pd

    warnings: list[str] = []
    sweeps: dict[str, SweepInfo] = {}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    directions: dict[str, str] = {}
    roots = [Path(p) for p in paths]
    for root in roots:
        for found in _walk(root, warnings):
            if len(roots) > 1:  # overlapping arguments (outputs/ and outputs/sweeps/x)
                key = os.path.realpath(found.path)
                if key in seen:
                    continue
                seen.add(key)
            sweep = None
            if found.sweep is not None:
                skey = str(found.sweep)
                if skey not in sweeps:
                    sweeps[skey] = read_sweep(found.sweep)
                    info = sweeps[skey]
                    for name, direction in zip(info.objectives, info.directions):
                        directions.setdefault(name, direction)
                sweep = sweeps[skey]
            row = _read_run(found, sweep, warnings, directions)
            row["sweep_dir"] = str(found.sweep) if found.sweep else None
            rows.append(row)
    _mark_retried(rows)
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
    return Collection(frame=frame, sweeps=sweeps, directions=directions, warnings=warnings)


def _mark_retried(rows: list[dict[str, Any]]) -> None:
    """FAIL rows of a dead or interrupted worker whose params a later trial ran: RETRIED.

    The sweeper re-queues such a trial once with the same params (``hpt.sweep.accounting``);
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


def param_columns(frame: pd.DataFrame) -> list[str]:
    """All ``params.*`` columns of ``frame`` in order."""
    return [c for c in frame.columns if c.startswith(PARAM_PREFIX)]


def value_key(value: Any) -> str:
    """A hashable identity for a cell: 128 and 128.0 are equal, NaN/None are "missing"."""
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars from a Series
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "∅"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose result.json was read (CORRUPT/UNKNOWN rows have no params)."""
    return frame[~frame["status"].isin((CORRUPT, UNKNOWN))]


def searched_names(frame: pd.DataFrame) -> set[str]:
    """The parameter names the frame's sweeps searched (empty for standalone runs)."""
    return set(frame.attrs.get(SEARCHED, ()))


def log_searched(frame: pd.DataFrame) -> set[str] | None:
    """``params.*`` columns searched on a log scale; None when no search space is known."""
    if not frame.attrs.get(SEARCHED):
        return None
    return {PARAM_PREFIX + name for name in frame.attrs.get(SEARCHED_LOG, ())}


def is_searched(column: str, searched: set[str]) -> bool:
    """Whether ``params.X`` was searched: by name, or by group (``optimizer`` -> ``.name``)."""
    name = column[len(PARAM_PREFIX) :] if column.startswith(PARAM_PREFIX) else column
    group, _, leaf = name.rpartition(".")
    return name in searched or (leaf in ("name", "_target_") and group in searched)


def _varying_and_twins(frame: pd.DataFrame) -> tuple[list[str], set[str]]:
    rows = readable(frame)
    searched = searched_names(frame)
    out: list[str] = []
    twins: set[str] = set()
    first: dict[tuple[str, ...], int] = {}  # the values of a column -> its index in out
    for column in param_columns(rows):
        keys = tuple(value_key(v) for v in rows[column].tolist())
        if len(set(keys)) < 2:
            continue
        i = first.get(keys)
        # An interpolated setting (model.dropout: ${regularization.dropout}) has exactly its
        # source's values in every run: show it once, under the searched name.
        if i is not None and not (is_searched(column, searched) and is_searched(out[i], searched)):
            if is_searched(column, searched) and not is_searched(out[i], searched):
                out[i], column = column, out[i]
            twins.add(column)
            continue
        first[keys] = len(out)
        out.append(column)
    return out, twins


def varying_params(frame: pd.DataFrame) -> list[str]:
    """``params.*`` columns not identical across the readable rows, each twin shown once.

    A param missing from some runs but set in others varies too; CORRUPT/UNKNOWN rows
    (which have no params at all) are ignored. Of columns with the same value in every run
    (one interpolated from the other) only one is listed: the searched one if either is.
    """
    return _varying_and_twins(frame)[0]


def tuned_params(frame: pd.DataFrame) -> list[str]:
    """The settings a plot's axes show: the varying searched ones when the sweep says which
    (settings that only follow a choice, like SGD's dampening, would crowd them out), else
    every varying one; ``X._target_`` beside ``X.name`` left out."""
    params = without_redundant_targets(varying_params(frame))
    searched = searched_names(frame)
    chosen = [p for p in params if is_searched(p, searched)]
    return chosen or params


def twin_params(frame: pd.DataFrame) -> set[str]:
    """The ``params.*`` columns ``varying_params`` hides as twins of another column."""
    return _varying_and_twins(frame)[1]


def without_redundant_targets(columns: list[str]) -> list[str]:
    """Drop ``X._target_`` when ``X.name`` is also listed: the class path repeats the choice."""
    names = set(columns)
    return [
        c
        for c in columns
        if not (c.endswith("._target_") and c[: -len("_target_")] + "name" in names)
    ]


def metric_history(run: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The per-epoch records of one run (a torn last line is skipped)."""
    return read_jsonl(Path(run) / METRICS)
