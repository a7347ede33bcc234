"""What a trial's task function returned, as the study's objective values.

hpt's own task returns an ``Outcome`` (status, values, error) and writes its own
``result.json``. Any other Hydra app returns its objective the way hydra-optuna-sweeper
expects: a number, or a sequence of numbers for a multi-objective study. The sweeper
turns that into values, or into a failure with a reason, and writes the trial's
``result.json`` in hpt's contract so ``hpt summarize`` reads a user's sweep like its own.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpt.errors import UserError

DIRECTIONS = ("minimize", "maximize")


def is_hpt_task(task_function: Any) -> bool:
    """hpt's own task (``hpt sweep``), as opposed to a user's ``@hydra.main`` function."""
    module = getattr(inspect.unwrap(task_function), "__module__", "") or ""
    return module == "hpt" or module.startswith("hpt.")


def user_directions(direction: Any) -> tuple[list[str], list[str]]:
    """Directions and objective names of a user app's study (default: minimize, as the old plugin)."""
    wanted = ["minimize"] if direction is None else direction
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    dirs = [str(d).lower() for d in wanted]
    bad = [d for d in dirs if d not in DIRECTIONS]
    if not dirs or bad:
        raise UserError(
            f"hydra.sweeper.direction={direction!r}: use minimize or maximize, or a list of them"
        )
    names = ["objective"] if len(dirs) == 1 else [f"objective_{i}" for i in range(len(dirs))]
    return names, dirs


@dataclass
class Verdict:
    """A user app's trial, decided: COMPLETE with values, or FAIL with a reason."""

    status: str
    values: list[float] | None = None
    error: str | None = None
    error_kind: str | None = None


def _number(x: Any) -> float | None:
    if isinstance(x, bool):
        return None  # True is an int to Python, never an objective
    if isinstance(x, numbers.Real):
        return float(x)
    item = getattr(x, "item", None)  # a 0-d numpy array or torch tensor
    if callable(item) and getattr(x, "ndim", None) == 0:
        value = item()
        return float(value) if isinstance(value, numbers.Real) else None
    return None


def judge(returned: Any, n_objectives: int) -> Verdict:
    """The objective values a user's task function returned, or why they are not usable."""
    if returned is None:
        return Verdict("FAIL", error="the task function returned None; return the objective value(s)",
                       error_kind="config")  # fmt: skip
    single = _number(returned)
    if single is not None:
        raw: list[Any] = [returned]
    elif isinstance(returned, Sequence) and not isinstance(returned, (str, bytes)):
        raw = list(returned)
    else:
        kind = "a mapping" if isinstance(returned, Mapping) else type(returned).__name__
        return Verdict("FAIL", error=f"the task function returned {kind}; return a number or a sequence of numbers",
                       error_kind="config")  # fmt: skip
    values = [_number(v) for v in raw]
    if any(v is None for v in values):
        return Verdict("FAIL", error=f"the task function returned {returned!r}: not all numbers",
                       error_kind="config")  # fmt: skip
    if len(values) != n_objectives:
        return Verdict("FAIL", error=f"the task function returned {len(values)} value(s) but the study has "
                       f"{n_objectives} direction(s)", error_kind="config")  # fmt: skip
    finite = [float(v) for v in values if v is not None]
    if not all(math.isfinite(v) for v in finite):
        return Verdict(
            "FAIL", values=finite, error=f"non-finite objective {finite}", error_kind="nan"
        )
    return Verdict("COMPLETE", values=finite)


def result_record(
    *,
    status: str,
    names: list[str],
    directions: list[str],
    values: list[float] | None,
    params: Mapping[str, Any],
    trial: Mapping[str, Any],
    duration_s: float,
    error: str | None,
    error_kind: str | None,
    intermediate: Mapping[int, float] | None = None,
) -> dict[str, Any]:
    """``result.json`` for a user app's trial, in the contract hpt's own runs follow."""
    objectives = [
        {"name": n, "value": values[i] if values is not None else None, "direction": d}
        for i, (n, d) in enumerate(zip(names, directions, strict=True))
    ]
    steps = sorted(intermediate or {})
    return {
        "status": status,
        "params": dict(params),
        "trial": dict(trial),
        "objective": objectives[0],
        "objectives": objectives,
        "epochs": len(steps) or None,
        "final": {"step": steps[-1], names[0]: intermediate[steps[-1]]}
        if intermediate and steps
        else None,
        "duration_s": round(duration_s, 3),
        "error": error,
        "error_kind": error_kind,
    }
