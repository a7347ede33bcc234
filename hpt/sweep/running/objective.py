"""What a trial's task function returned, as the study's objective values: its ``Verdict``.

hpt's own task returns an ``Outcome`` (status, values, error) and writes its own
``result.json``. Any other Hydra app returns its objective the way hydra-optuna-sweeper
expects: a number, or a sequence of numbers for a multi-objective study. Either becomes a
``Verdict`` through one function, ``verdict_of``: values, pruned, or a failure with a reason.
``hpt.sweep.running.verdict``, where ``Verdict`` is defined, then records it (a user app's
``result.json`` is the sweeper's to write, in hpt's contract, so ``hpt summarize`` reads a
user's sweep like its own) and tells the study.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hpt.cli.hydra_internals import job_failure
from hpt.errors import UserError, error_kind, one_line
from hpt.sweep.running.verdict import Verdict

if TYPE_CHECKING:
    from hydra.core.utils import JobReturn

    from hpt.record import Outcome

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


def verdict_of(ret: JobReturn, n_objectives: int, user_app: bool) -> Verdict:
    """What a trial's run came to, for either kind of task: the one judgment of a trial.

    Args:
        ret: Hydra's ``JobReturn`` of the trial's run.
        n_objectives: The study's number of directions.
        user_app: A user's Hydra app (its return value is the objective) rather than hpt's
            own task (which returns an ``hpt.record.Outcome``).

    Returns:
        PRUNED when the run raised ``optuna.TrialPruned``; FAIL with the exception's one line
        when it raised anything else; else what its return value says (``judge`` for a user
        app, ``judge_outcome`` for hpt's own run).
    """
    import optuna
    from hydra.core.utils import JobStatus

    failure = job_failure(ret)
    if isinstance(failure, optuna.TrialPruned):
        return Verdict("PRUNED")
    if ret.status != JobStatus.COMPLETED:
        if failure is None:
            return Verdict("FAIL", error="failed", error_kind="exception")
        error = f"{type(failure).__name__}: {one_line(failure)}"
        return Verdict("FAIL", error=error, error_kind=error_kind(failure))
    if user_app:
        return judge(ret.return_value, n_objectives)
    return judge_outcome(ret.return_value, n_objectives)


def judge_outcome(outcome: Outcome, n_objectives: int) -> Verdict:
    """hpt's own run's ``Outcome`` as a verdict: pruned, its values, or failed.

    Args:
        outcome: What the run returned (it wrote its own result.json).
        n_objectives: The study's number of directions.

    Returns:
        COMPLETE only with as many finite values as the study has directions; FAIL with the
        run's own error, or why its values are not usable.
    """
    ran = outcome.status
    if ran == "PRUNED":
        return Verdict("PRUNED", run_status=ran)
    values = outcome.values
    if ran == "COMPLETE" and values and all(math.isfinite(v) for v in values):
        if len(values) != n_objectives:
            error = f"the run reported {len(values)} objective(s) but the study has {n_objectives}"
            return Verdict("FAIL", error=error, error_kind="config", run_status=ran)
        return Verdict("COMPLETE", values=values, run_status=ran)
    return Verdict(
        "FAIL",
        error=outcome.error or "no finite objective value",
        error_kind=outcome.error_kind or "exception",
        run_status=ran,
    )


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
