"""A trial's ``Verdict`` (decided by ``hpt.sweep.running.objective.verdict_of``), recorded and told
to the study.

``conclude`` is the one ending of every trial, of hpt's own task and of a user app alike:
its result.json first (whose record it is depends on who ran: hpt's run writes its own and
the sweeper adds what only the sweep knows; a user app's is the sweeper's to write; a trial
that never reported gets one saying why), then the study's ``tell``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from hpt.loggers import final_metrics
from hpt.result import (
    ResultRecord,
    objective_records,
    read_result,
    update_result,
    write_if_missing,
    write_result,
)
from hpt.selection import standard_error
from hpt.sweep import optuna_internals as internals
from hpt.sweep.running.spec import WorkerSpec

A_DIVERGED = "hpt:diverged"  # the run's training diverged: never chosen
A_SE = "hpt:se"  # the standard error of its objective, where known


@dataclass(frozen=True)
class Verdict:
    """A trial, decided: COMPLETE with values, PRUNED, or FAIL with a reason.

    ``RUNNING`` is a user app's trial under way (the record the sweeper writes at its start).
    """

    status: str
    values: list[float] | None = None
    error: str | None = None
    error_kind: str | None = None
    # hpt's own run: the status its Outcome (and the result.json it wrote itself) gives; None
    # for a user app's trial and for a run that raised instead of returning.
    run_status: str | None = None


def conclude(
    study: optuna.Study,
    trial: optuna.Trial,
    spec: WorkerSpec,
    verdict: Verdict,
    run_dir: Path,
    took: float | None = None,
) -> None:
    """Record the trial's verdict in its result.json, then tell the study.

    Args:
        study: The study that is told the verdict.
        trial: The trial the verdict is about (its number names its directory).
        spec: What every worker needs.
        verdict: What the trial came to (``verdict_of``, or a failure before it ran).
        run_dir: The trial's folder.
        took: How long the run took, in seconds; None when it never started.
    """
    _record(study, trial, spec, verdict, run_dir, took)
    if verdict.status == "PRUNED":
        tell(study, trial, state=TrialState.PRUNED)
    elif verdict.status == "COMPLETE":
        tell(study, trial, values=verdict.values)
    else:
        fail(study, trial, verdict.error or "failed", verdict.error_kind or "exception")


def _record(
    study: optuna.Study,
    trial: optuna.Trial,
    spec: WorkerSpec,
    verdict: Verdict,
    run_dir: Path,
    took: float | None,
) -> None:
    """The trial's result.json, by whoever owns it."""
    if verdict.run_status is not None:
        # hpt's run wrote its own record: its final metrics go to the trial's user attributes
        # (optuna-dashboard shows them), and the constraints are checked on what it recorded.
        tid = internals.trial_id(trial)
        result = read_result(run_dir) or {}  # read once: the metrics and what choosing needs
        for key, value in final_metrics(result).items():
            internals.set_trial_user_attr(study, tid, key, value)
        # what choosing between trials needs besides the value (hpt.selection)
        internals.set_trial_user_attr(study, tid, A_DIVERGED, bool(result.get("diverged")))
        se = standard_error(result)
        if se is not None:
            internals.set_trial_user_attr(study, tid, A_SE, se)
        if spec.constraints and verdict.run_status == "COMPLETE":
            constrain(trial, spec, run_dir)
    elif spec.user_app and took is not None:
        # A user app knows nothing of result.json: the sweeper writes it, whatever happened.
        frozen = internals.frozen(study, trial)
        info = {"number": trial.number, "study_name": study.study_name}
        record = user_record(verdict, spec, frozen.params, info, took, frozen.intermediate_values)
        write_result(run_dir, record)
    elif verdict.status == "FAIL":
        # The run never started, or raised before it could say: still leave a result.json so
        # reports show why (one the run did write is kept).
        info = {"number": trial.number, "study_name": study.study_name}
        write_if_missing(
            run_dir,
            {
                "status": "FAIL",
                "error": verdict.error,
                "error_kind": verdict.error_kind,
                "params": dict(trial.params),
                "trial": info,
            },
        )


def mark_user_running(
    study: optuna.Study,
    trial: optuna.Trial,
    spec: WorkerSpec,
    params: dict[str, Any],
    run_dir: Path,
) -> None:
    """A user app's trial, started: its result.json says RUNNING until ``conclude``.

    Args:
        study: The study the trial belongs to (its number and start go in the record).
        trial: The user app's trial, just started.
        spec: What every worker needs (the objectives' names and directions).
        params: The trial's sampled params.
        run_dir: The trial's folder.
    """
    info = {"number": trial.number, "study_name": study.study_name}
    write_result(run_dir, user_record(Verdict("RUNNING"), spec, params, info, 0.0))


def user_record(
    verdict: Verdict,
    spec: WorkerSpec,
    params: Mapping[str, Any],
    trial: Mapping[str, Any],
    duration_s: float,
    intermediate: Mapping[int, float] | None = None,
) -> ResultRecord:
    """``result.json`` for a user app's trial, in the contract hpt's own runs follow.

    Args:
        verdict: The trial's status, with its values (recorded only when COMPLETE) and its
            error, if any.
        spec: What every worker needs (the objectives' names and directions).
        params: The trial's params.
        trial: The trial's number and study name.
        duration_s: How long the trial ran, in seconds.
        intermediate: The values the trial reported, by step (epoch).

    Returns:
        The record, ready to be written.
    """
    names = spec.objective_names
    values = verdict.values if verdict.status == "COMPLETE" else None
    objectives = objective_records(names, spec.directions, values)
    steps = sorted(intermediate or {})
    return {
        "status": verdict.status,
        "params": dict(params),
        "trial": dict(trial),
        "objective": objectives[0],
        "objectives": objectives,
        "epochs": len(steps) or None,
        "final": {"step": steps[-1], names[0]: intermediate[steps[-1]]}
        if intermediate and steps
        else None,
        "duration_s": round(duration_s, 3),
        "error": verdict.error,
        "error_kind": verdict.error_kind,
    }


def constrain(trial: optuna.Trial, spec: WorkerSpec, run_dir: Path) -> None:
    """``hydra.sweeper.constraints`` on the run's recorded metrics.

    Sets Optuna's constraint values (feasible when all <= 0) on the trial, and adds them
    with ``feasible`` to its result.json.

    Args:
        trial: The running trial: the constraint values go in its system attributes.
        spec: What every worker needs (its ``constraints``).
        run_dir: The trial's folder.
    """
    from hpt.sweep.running.baseline import constraint_values, parse_constraints

    values = constraint_values(read_result(run_dir) or {}, parse_constraints(spec.constraints))
    for key, value in values.items():
        trial.set_constraint(key, value)
    update_result(run_dir, constraints=values, feasible=all(v <= 0 for v in values.values()))


def fail(study: optuna.Study, trial: optuna.Trial, error: str, kind: str) -> None:
    """Tell the study the trial failed, with the error in its user attributes.

    Args:
        study: The study to tell.
        trial: The trial that failed; the error goes in its user attributes.
        error: The error, in one line (the first 1000 characters are kept).
        kind: The error's kind (``config``, ``exception``, ``oom``, ...).
    """
    tid = internals.trial_id(trial)
    internals.set_trial_user_attr(study, tid, "error", error[:1000])
    internals.set_trial_user_attr(study, tid, "error_kind", kind)
    tell(study, trial, state=TrialState.FAIL)


def tell(
    study: optuna.Study,
    trial: optuna.Trial,
    values: list[float] | None = None,
    state: TrialState | None = None,
) -> None:
    """``study.tell``, where a sampler's own ``study.stop()`` is not an error.

    Args:
        study: The study to tell.
        trial: The trial its values, or its state, are for.
        values: The objective values (a finished trial).
        state: The final state (a pruned or failed trial).

    Raises:
        RuntimeError: The study refused the result for another reason.
    """
    try:
        study.tell(trial, values, state=state)
    except RuntimeError as exc:
        # GridSampler calls study.stop() once the grid is exhausted, which Optuna only allows
        # inside study.optimize; the result is already stored, and our budget ends the loop.
        if "Study.stop" not in str(exc):
            raise
