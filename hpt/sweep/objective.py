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
from hpt.result import ResultRecord, objective_records

DIRECTIONS = ("minimize", "maximize")


def is_hpt_task(task_function: Any) -> bool:
    """hpt's own task (``hpt sweep``), as opposed to a user's ``@hydra.main`` function.

    Args:
        task_function: The task the sweep runs.

    Returns:
        Whether it is defined in hpt.
    """
    module = getattr(inspect.unwrap(task_function), "__module__", "") or ""
    return module == "hpt" or module.startswith("hpt.")


def user_directions(direction: Any) -> tuple[list[str], list[str]]:
    """Directions and objective names of a user app's study.

    Args:
        direction: ``hydra.sweeper.direction``: a direction, a list of them, or None
            (minimize, as the old plugin).

    Returns:
        The objectives' names (``objective``, or ``objective_0``, ``objective_1``, ...) and
        their directions.

    Raises:
        UserError: A direction is neither minimize nor maximize, or none is given.
    """
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


@dataclass(frozen=True)
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
    """The objective values a user's task function returned, or why they are not usable.

    Args:
        returned: What the task function returned.
        n_objectives: The study's number of directions.

    Returns:
        COMPLETE with the values, or FAIL with the reason (``error_kind`` ``config`` for a
        return value of the wrong shape, ``nan`` for a non-finite one).
    """
    if returned is None:
        return _config_error("the task function returned None; return the objective value(s)")
    single = _number(returned)
    if single is not None:
        raw: list[Any] = [returned]
    elif isinstance(returned, Sequence) and not isinstance(returned, (str, bytes)):
        raw = list(returned)
    else:
        kind = "a mapping" if isinstance(returned, Mapping) else type(returned).__name__
        return _config_error(
            f"the task function returned {kind}; return a number or a sequence of numbers"
        )
    values = [_number(v) for v in raw]
    if any(v is None for v in values):
        return _config_error(f"the task function returned {returned!r}: not all numbers")
    if len(values) != n_objectives:
        return _config_error(
            f"the task function returned {len(values)} value(s) but the study has "
            f"{n_objectives} direction(s)"
        )
    finite = [float(v) for v in values if v is not None]
    if not all(math.isfinite(v) for v in finite):
        return Verdict(
            "FAIL", values=finite, error=f"non-finite objective {finite}", error_kind="nan"
        )
    return Verdict("COMPLETE", values=finite)


def _config_error(error: str) -> Verdict:
    """A return value of the wrong shape: the app's code, not the trial's params, is at fault."""
    return Verdict("FAIL", error=error, error_kind="config")


def result_record(
    *,
    verdict: Verdict,
    names: list[str],
    directions: list[str],
    params: Mapping[str, Any],
    trial: Mapping[str, Any],
    duration_s: float,
    intermediate: Mapping[int, float] | None = None,
) -> ResultRecord:
    """``result.json`` for a user app's trial, in the contract hpt's own runs follow.

    Args:
        verdict: The trial's status, with its values (recorded only when COMPLETE) and its
            error, if any.
        names: The objectives' names.
        directions: The objectives' directions.
        params: The trial's params.
        trial: The trial's number and study name.
        duration_s: How long the trial ran, in seconds.
        intermediate: The values the trial reported, by step (epoch).

    Returns:
        The record, ready to be written as JSON.
    """
    status, error, error_kind = verdict.status, verdict.error, verdict.error_kind
    values = verdict.values if status == "COMPLETE" else None
    objectives = objective_records(names, directions, values)
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
