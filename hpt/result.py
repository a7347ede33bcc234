"""``result.json``: a run's record, and the one module that writes it.

Every kind of run keeps the same record (``hpt.rundir`` lists the files of a run directory):
hpt's own runs (``hpt.record.RunRecord``), a user app's trials (the sweeper writes theirs,
``hpt.sweep.running.verdict``), and the sweep's accounting, which closes the record of a trial whose
run could not (killed, disk full). ``summarize``, ``hpt.api``, the dashboard and the tests
read it, so its shape (``ResultRecord``) is a contract: fields are added, never renamed.

Every write is atomic (``atomic_write_json``): a reader sees the old record or the new one,
never half of either. ``tests/core/test_imports.py`` checks that no other module writes it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

from hpt.rundir import RESULT, atomic_write_json, read_json


class ObjectiveRecord(TypedDict):
    """One objective of a run: its name, its value (None until COMPLETE) and direction."""

    name: str
    value: float | None
    direction: str


class ResultRecord(TypedDict, total=False):
    """The fields of ``result.json``; a run adds its own beside them (``test``, ``model``, ...).

    ``status`` is RUNNING from the start of a run, then COMPLETE, PRUNED or FAIL.
    """

    status: str
    params: dict[str, Any]  # the flattened hyperparameters
    trial: dict[str, Any] | None  # {"number", "study_name"} inside a sweep, else None
    pid: int  # the process running it (hpt's own runs)
    objective: ObjectiveRecord | None  # the first of ``objectives``
    objectives: list[ObjectiveRecord]
    best: dict[str, float] | None  # the selected epoch's metrics
    final: dict[str, Any] | None  # the last epoch's metrics (a user app: its last report)
    epochs: int | None
    duration_s: float
    error: str | None  # one line, for FAIL
    error_kind: str | None  # config, exception, oom, nan, timeout, interrupted, worker_died ...
    stopped_early: bool
    diverged: bool  # the training loss ended far above its start (``hpt.selection.diverged``)
    rows: dict[str, int]  # the train / val / test rows the run saw
    test: dict[str, float]  # the test split's metrics, looked at once
    warnings: list[str]  # trackers that failed and were stopped (``hpt.loggers``)
    constraints: dict[str, float]  # hydra.sweeper.constraints, Optuna's convention (<= 0)
    feasible: bool  # every constraint met


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``result.json``, or None when it is missing, truncated or not an object.

    Args:
        run_dir: The run directory.

    Returns:
        The record as written.
    """
    return read_json(run_dir / RESULT)


def write_result(run_dir: Path, record: Mapping[str, Any]) -> None:
    """Write the run's ``result.json`` atomically (the one place it is written).

    Args:
        run_dir: The run directory.
        record: The whole record (``ResultRecord``'s fields and the run's own).
    """
    atomic_write_json(run_dir / RESULT, record)


def update_result(run_dir: Path, **fields: Any) -> None:
    """Add or replace fields of the record, keeping the rest (a missing record starts empty).

    Args:
        run_dir: The run directory.
        **fields: The fields to set (``warnings=``, ``constraints=``, ...).
    """
    write_result(run_dir, {**(read_result(run_dir) or {}), **fields})


def write_if_missing(run_dir: Path, record: ResultRecord) -> None:
    """Write ``record`` only where the run left no ``result.json`` (it never started).

    Args:
        run_dir: The run directory.
        record: The record to leave, saying why.
    """
    if not (run_dir / RESULT).exists():
        write_result(run_dir, record)


def mark_running(
    run_dir: Path, params: dict[str, Any], trial: dict[str, Any] | None
) -> ResultRecord:
    """Open the record of one of hpt's own runs: RUNNING, with its params, trial and pid.

    Args:
        run_dir: The run directory (created if needed).
        params: The run's flattened hyperparameters.
        trial: ``{"number", "study_name"}`` inside a sweep, else None.

    Returns:
        The record written, which the run's final record starts from.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    record: ResultRecord = {
        "status": "RUNNING",
        "params": params,
        "trial": trial,
        "pid": os.getpid(),
    }
    write_result(run_dir, record)
    return record


def objective_records(
    names: Sequence[str], directions: Sequence[str], values: Sequence[float] | None
) -> list[ObjectiveRecord]:
    """``objectives``: each name with its value (all None without values) and direction.

    Args:
        names: The objectives' names.
        directions: Their directions, in the same order.
        values: Their values, or None (a run that did not complete).

    Returns:
        One record per objective.
    """
    return [
        {"name": n, "value": values[i] if values is not None else None, "direction": d}
        for i, (n, d) in enumerate(zip(names, directions, strict=True))
    ]


def close_running(
    run_dir: Path,
    fields: Mapping[str, Any],
    *,
    pid: int | None = None,
    trial: int | None = None,
    missing: Mapping[str, Any] | None = None,
) -> bool:
    """End a record that still says RUNNING, where its run could not (killed, disk full).

    Only the record of the run named by ``pid`` or by sweep trial number ``trial`` is touched:
    another process's run, or a run that wrote its own ending, is left as it is.

    Args:
        run_dir: The run directory.
        fields: What to set (``status``, ``error``, ``error_kind``).
        pid: Only a record written by this process.
        trial: Only a record of this trial number.
        missing: The record to start from when there is none (None: leave it missing).

    Returns:
        Whether the record was written (an OSError, say the disk still full, is not raised).
    """
    result = read_result(run_dir)
    if result is None:
        if missing is None:
            return False
        result = dict(missing)
    elif not _running(result, pid, trial):
        return False
    with contextlib.suppress(OSError):
        write_result(run_dir, {**result, **fields})
        return True
    return False


def _running(result: Mapping[str, Any], pid: int | None, trial: int | None) -> bool:
    """The record still says RUNNING and is the named run's own."""
    info = result.get("trial")
    return (
        result.get("status") == "RUNNING"
        and (pid is None or result.get("pid") == pid)
        and (trial is None or (isinstance(info, dict) and info.get("number") == trial))
    )


__all__ = [
    "ObjectiveRecord",
    "ResultRecord",
    "close_running",
    "mark_running",
    "objective_records",
    "read_result",
    "update_result",
    "write_if_missing",
    "write_result",
]
