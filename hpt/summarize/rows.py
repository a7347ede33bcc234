"""One run directory read into one row of the runs frame.

The row holds the run's name, sweep and trial, its state (``CORRUPT``/``UNKNOWN`` when
``result.json`` is unreadable or missing), objectives, metrics and flattened params; a
running run's progress comes from ``metrics.jsonl``. Nothing here raises on a damaged run:
what cannot be read becomes a warning line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpt.rundir import (
    MANIFEST,
    METRICS,
    RESULT,
    STATUSES,
    TEST,
    file_problem,
    flatten,
    read_json,
    read_jsonl,
)
from hpt.selection import standard_error
from hpt.summarize.columns import (
    CORRUPT,
    METRIC_SECTIONS,
    OBJECTIVE_PREFIX,
    PARAM_PREFIX,
    UNKNOWN,
)
from hpt.summarize.walk import TRIAL_DIR, Found


def to_float(value: Any) -> float:
    """A metric as float: JSON has no NaN/inf so they arrive as strings; junk is NaN.

    Args:
        value: A value from ``result.json`` or ``metrics.jsonl``.

    Returns:
        The number (booleans as 0.0/1.0), or NaN when it is not one.
    """
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


def _progress(path: Path, row: dict[str, Any]) -> None:
    """Fill epochs/final metrics of an unfinished run from its metrics.jsonl."""
    records = read_jsonl(path / METRICS)
    if not records:
        return
    row["epochs"] = len(records)
    for key, value in records[-1].items():
        if key != "epoch":
            row[f"final.{key}"] = _metric_value(value)


def _run_name(found: Found) -> str:
    """The run's name: its path relative to the folder walked (its own name for ``.``)."""
    path = found.path
    try:
        name = str(path.relative_to(found.root))
    except ValueError:
        name = path.name
    if name in ("", "."):
        name = path.resolve().name
    return name


def _unread(found: Found, row: dict[str, Any], warnings: list[str]) -> None:
    """A run without a readable result.json: CORRUPT or UNKNOWN, its progress if any."""
    path = found.path
    if RESULT in found.files:
        row["status"] = CORRUPT
        why = file_problem(path / RESULT)  # a FIFO or a link to a device: skipped, not read
        what = f"{why}, skipped" if why else "truncated or not a JSON object"
        warnings.append(f"{path}: result.json is {what}")
    else:
        row["status"] = UNKNOWN
        what = "only manifest.json" if MANIFEST in found.files else "no result.json"
        warnings.append(f"{path}: {what}, run state unknown")
    if METRICS in found.files:
        _progress(path, row)


def _read_status(
    path: Path, result: Mapping[str, Any], row: dict[str, Any], warnings: list[str]
) -> None:
    """The run's status (UNKNOWN, with a warning, when it is not one of the contract's)."""
    status = result.get("status")
    row["status"] = status if status in STATUSES else UNKNOWN
    if row["status"] == UNKNOWN:
        warnings.append(f"{path}: result.json has unknown status {status!r}")
    trial = result.get("trial")
    if isinstance(trial, Mapping) and isinstance(trial.get("number"), int):
        row["trial"] = trial["number"]


def _read_objectives(
    result: Mapping[str, Any], row: dict[str, Any], directions: dict[str, str]
) -> None:
    """The primary objective's name, value and direction; every objective's value when
    there are several; each objective's first-seen direction into ``directions``."""
    objectives = [o for o in result.get("objectives") or [] if isinstance(o, Mapping)]
    primary = result.get("objective")
    if not isinstance(primary, Mapping):
        primary = objectives[0] if objectives else {}
    row["objective"] = primary.get("name")
    row["value"] = to_float(primary.get("value"))
    row["direction"] = primary.get("direction")
    row["se"] = standard_error(result)  # across folds, or binomial for a holdout accuracy
    for obj in objectives or [primary]:
        if isinstance(obj.get("name"), str) and obj.get("direction") in ("maximize", "minimize"):
            directions.setdefault(obj["name"], obj["direction"])
    if len(objectives) > 1:
        for obj in objectives:
            row[f"{OBJECTIVE_PREFIX}{obj.get('name')}"] = to_float(obj.get("value"))


def _read_details(result: Mapping[str, Any], row: dict[str, Any]) -> None:
    """Epochs, time, model size, the error, the metric sections and the params."""
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


def read_run(
    found: Found, sweep: str | None, warnings: list[str], directions: dict[str, str]
) -> dict[str, Any]:
    """Read one run directory into one row of the frame (``sweep_dir`` is not set here).

    Args:
        found: The run directory and the names of its files.
        sweep: The name of the sweep it belongs to, if any.
        warnings: Gets one line when the run cannot be read completely.
        directions: Gets each objective's direction, the first one met per name.

    Returns:
        Column name -> value, in the order the frame's columns are first met.
    """
    path = found.path
    match = TRIAL_DIR.match(path.name)
    row: dict[str, Any] = {
        "run": str(path),
        "name": _run_name(found),
        "sweep": sweep,
        "trial": int(match.group(1)) if match else None,
    }
    result = read_json(path / RESULT) if RESULT in found.files else None
    if result is None:
        _unread(found, row, warnings)
        return row
    trial = result.get("trial")
    number = trial.get("number") if isinstance(trial, dict) else None
    if row["trial"] is None and isinstance(number, int):  # a job subdir named by the app
        row["trial"] = number
    if TEST in found.files and not result.get("test"):  # the trial a sweep handed over
        result = {**result, "test": (read_json(path / TEST) or {}).get("metrics")}
    _read_status(path, result, row, warnings)
    _read_objectives(result, row, directions)
    _read_details(result, row)
    if row["status"] == "RUNNING" and METRICS in found.files and not result.get("final"):
        _progress(path, row)
    return row
