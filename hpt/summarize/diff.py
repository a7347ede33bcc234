"""``hpt summarize --diff RUN_A RUN_B``: config, metric and environment differences."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpt.rundir import HYDRA_DIR, MANIFEST, RESULT, flatten, is_run_dir, read_json
from hpt.summarize.columns import METRIC_SECTIONS
from hpt.summarize.query import is_missing
from hpt.summarize.render import Column, Section, fmt
from hpt.summarize.rows import to_float

#: Manifest fields that differ between any two runs and say nothing about them.
_VOLATILE = {"start_time", "end_time", "pid"}


class DiffError(ValueError):
    """A path given to ``--diff`` is not a readable run directory."""


@dataclass
class RunDetails:
    """Everything ``--diff`` compares for one run."""

    path: Path
    status: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)


def _config(path: Path) -> dict[str, Any]:
    """The flattened ``.hydra/config.yaml`` (empty when missing or unreadable)."""
    config = path / HYDRA_DIR / "config.yaml"
    if not config.is_file():
        return {}
    try:
        import yaml

        data = yaml.safe_load(config.read_text(encoding="utf-8"))
    except Exception:  # a broken config must not stop the comparison
        return {}
    return flatten(data) if isinstance(data, dict) else {}


def load_run(path: str | Path) -> RunDetails:
    """Read one run directory for comparison.

    Params are the full Hydra config overlaid with ``result.json``'s params; metrics are
    the objective(s), best/final/test metrics, epochs, duration and model size.

    Args:
        path: The run directory.

    Returns:
        The run's status, params, metrics and environment.

    Raises:
        DiffError: ``path`` is not a run directory.
    """
    run = Path(path)
    if not run.is_dir() or not is_run_dir(run):
        raise DiffError(f"not a run directory (no result.json or manifest.json): {path}")
    result = read_json(run / RESULT) or {}
    details = RunDetails(path=run, status=str(result.get("status") or "UNKNOWN"))
    details.params = _config(run)
    params = result.get("params")
    if isinstance(params, dict):
        details.params.update(flatten(params))
    for objective in result.get("objectives") or [result.get("objective") or {}]:
        if isinstance(objective, dict) and objective.get("name"):
            details.metrics[f"objective {objective['name']}"] = to_float(objective.get("value"))
    for section in METRIC_SECTIONS:
        values = result.get(section)
        if isinstance(values, dict):
            for key, value in values.items():
                if key != "epoch":
                    details.metrics[f"{section} {key}"] = to_float(value)
    details.metrics["epochs"] = result.get("epochs")
    details.metrics["duration_s"] = to_float(result.get("duration_s"))
    model = result.get("model")
    if isinstance(model, dict):
        details.metrics["n_params"] = model.get("n_params")
    manifest = read_json(run / MANIFEST) or {}
    details.environment = {
        k: v for k, v in flatten(manifest).items() if k.split(".")[0] not in _VOLATILE
    }
    if result.get("error"):
        details.environment["error"] = str(result["error"]).strip().splitlines()[-1]
    return details


def _same(a: Any, b: Any) -> bool:
    if is_missing(a) or is_missing(b):
        return is_missing(a) and is_missing(b)
    numbers = (int, float)
    if (
        isinstance(a, numbers)
        and isinstance(b, numbers)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return float(a) == float(b)
    return str(a) == str(b)


def _delta(a: Any, b: Any) -> str:
    x, y = to_float(a), to_float(b)
    if isinstance(a, bool) or isinstance(b, bool) or math.isnan(x) or math.isnan(y):
        return ""
    d = y - x
    return ("+" if d > 0 else "") + fmt(d) if d else "0"


def diff_sections(a: RunDetails, b: RunDetails, all_params: bool = False) -> list[Section]:
    """Side-by-side sections: metrics (with B − A), differing params, differing environment.

    Args:
        a: The first run.
        b: The second run.
        all_params: List every parameter (differing ones marked ``*``), not only changes.
    """
    head = Section(
        "Compare runs",
        lines=[f"A: {a.path} ({a.status})", f"B: {b.path} ({b.status})"],
    )
    metric_keys = list(dict.fromkeys([*a.metrics, *b.metrics]))
    metrics = Section(
        "Metrics",
        columns=[
            Column("metric"),
            Column("A", right=True),
            Column("B", right=True),
            Column("B − A", right=True),
        ],
        rows=[
            [
                k,
                fmt(a.metrics.get(k)),
                fmt(b.metrics.get(k)),
                _delta(a.metrics.get(k), b.metrics.get(k)),
            ]
            for k in metric_keys
        ],
    )
    param_keys = sorted(set(a.params) | set(b.params))
    changed = [k for k in param_keys if not _same(a.params.get(k), b.params.get(k))]
    listed = param_keys if all_params else changed
    params = Section(
        f"Config ({len(changed)} of {len(param_keys)} params differ)",
        columns=[Column("param"), Column("A"), Column("B")],
        rows=[
            [
                ("* " if k in changed and all_params else "") + k,
                fmt(a.params.get(k)),
                fmt(b.params.get(k)),
            ]
            for k in listed
        ],
        note=None if changed else "identical configurations",
    )
    env_keys = sorted(set(a.environment) | set(b.environment))
    env_changed = [k for k in env_keys if not _same(a.environment.get(k), b.environment.get(k))]
    environment = Section(
        "Environment (differences)",
        columns=[Column("field"), Column("A"), Column("B")] if env_changed else [],
        rows=[[k, fmt(a.environment.get(k)), fmt(b.environment.get(k))] for k in env_changed],
        lines=[] if env_changed else ["same git commit, versions, device and precision"],
    )
    return [head, metrics, params, environment]


def diff_json(a: RunDetails, b: RunDetails) -> dict[str, Any]:
    """The comparison as plain data (for ``--format json``).

    Args:
        a: The first run.
        b: The second run.

    Returns:
        Both paths and statuses; every metric, and the params and environment entries that
        differ, each as ``{"a": ..., "b": ...}``.
    """

    def pairs(x: dict[str, Any], y: dict[str, Any], only_changed: bool) -> dict[str, Any]:
        keys = sorted(set(x) | set(y)) if only_changed else list(dict.fromkeys([*x, *y]))
        return {
            k: {"a": _json(x.get(k)), "b": _json(y.get(k))}
            for k in keys
            if not only_changed or not _same(x.get(k), y.get(k))
        }

    return {
        "a": str(a.path),
        "b": str(b.path),
        "status": {"a": a.status, "b": b.status},
        "metrics": pairs(a.metrics, b.metrics, False),
        "params": pairs(a.params, b.params, True),
        "environment": pairs(a.environment, b.environment, True),
    }


def _json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    return value
