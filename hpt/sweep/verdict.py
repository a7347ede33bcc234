"""A trial's verdict, told to the study: hpt's own run's ``Outcome``, or a user app's return
value (with the result.json the sweeper writes for it), its constraints, or its failure."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobStatus
from optuna.trial import TrialState

from hpt.errors import error_kind, one_line
from hpt.hydra_internals import job_failure
from hpt.loggers import final_metrics
from hpt.result import read_result, update_result, write_if_missing, write_result
from hpt.sweep import optuna_internals as internals
from hpt.sweep.objective import Verdict, judge, result_record
from hpt.sweep.spec import WorkerSpec


def finish_hpt_trial(
    study: optuna.Study, trial: optuna.Trial, spec: WorkerSpec, ret: Any, run_dir: Path
) -> None:
    """hpt's own trial: its ``Outcome`` (or its failure) told to the study.

    The run wrote its own result.json; its final metrics are copied to the trial's user
    attributes (optuna-dashboard shows them) and its constraints checked.

    Args:
        study: The Optuna study.
        trial: The trial.
        spec: What every worker needs.
        ret: Hydra's ``JobReturn`` of the trial's run.
        run_dir: The trial's folder.
    """
    if ret.status != JobStatus.COMPLETED:
        # Hydra's public JobReturn.return_value re-raises a failed job's exception; read it.
        failure = job_failure(ret)
        if isinstance(failure, optuna.TrialPruned):
            tell(study, trial, state=TrialState.PRUNED)
            return
        fail(
            study,
            trial,
            f"{type(failure).__name__}: {one_line(failure)}" if failure is not None else "failed",
            error_kind(failure) if failure is not None else "exception",
            run_dir,
        )
        return
    outcome = ret.return_value
    tid = internals.trial_id(trial)
    for key, value in final_metrics(run_dir).items():  # shown by optuna-dashboard
        internals.set_trial_user_attr(study, tid, key, value)
    if spec.constraints and outcome.status == "COMPLETE":
        constrain(trial, spec, run_dir)
    _tell_outcome(study, trial, outcome)


def _tell_outcome(study: optuna.Study, trial: optuna.Trial, outcome: Any) -> None:
    """The study told what the run's ``Outcome`` says: pruned, its values, or failed."""
    if outcome.status == "PRUNED":
        tell(study, trial, state=TrialState.PRUNED)
    elif (
        outcome.status == "COMPLETE"
        and outcome.values
        and all(math.isfinite(v) for v in outcome.values)
    ):
        if len(outcome.values) != len(study.directions):
            fail(
                study,
                trial,
                f"the run reported {len(outcome.values)} objective(s) "
                f"but the study has {len(study.directions)}",
                "config",
            )
        else:
            tell(study, trial, values=outcome.values)
    else:
        fail(
            study,
            trial,
            outcome.error or "no finite objective value",
            outcome.error_kind or "exception",
        )


def finish_user_trial(
    study: optuna.Study, trial: optuna.Trial, spec: WorkerSpec, ret: Any, run_dir: Path, took: float
) -> None:
    """A user app's trial: its return value is the objective; the sweeper writes result.json.

    Args:
        study: The Optuna study.
        trial: The trial.
        spec: What every worker needs.
        ret: Hydra's ``JobReturn`` of the trial's run.
        run_dir: The trial's folder.
        took: How long the run took, in seconds.
    """
    failure = job_failure(ret)
    if isinstance(failure, optuna.TrialPruned):
        verdict = Verdict("PRUNED")
    elif ret.status != JobStatus.COMPLETED:
        error = (
            f"{type(failure).__name__}: {one_line(failure)}" if failure is not None else "failed"
        )
        verdict = Verdict(
            "FAIL", error=error, error_kind=error_kind(failure) if failure else "exception"
        )
    else:
        verdict = judge(ret.return_value, len(study.directions))
    frozen = internals.frozen(study, trial)
    record = result_record(
        verdict=verdict,
        names=spec.objective_names,
        directions=spec.directions,
        params=frozen.params,
        trial={"number": trial.number, "study_name": study.study_name},
        duration_s=took,
        intermediate=frozen.intermediate_values,
    )
    write_result(run_dir, record)
    if verdict.status == "PRUNED":
        tell(study, trial, state=TrialState.PRUNED)
    elif verdict.status == "COMPLETE":
        tell(study, trial, values=verdict.values)
    else:
        fail(study, trial, verdict.error or "failed", verdict.error_kind or "exception")


def constrain(trial: optuna.Trial, spec: WorkerSpec, run_dir: Path) -> None:
    """``hydra.sweeper.constraints`` on the run's recorded metrics.

    Sets Optuna's constraint values (feasible when all <= 0) on the trial, and adds them
    with ``feasible`` to its result.json.

    Args:
        trial: The trial.
        spec: What every worker needs (its ``constraints``).
        run_dir: The trial's folder.
    """
    from hpt.sweep.baseline import constraint_values, parse_constraints

    values = constraint_values(read_result(run_dir) or {}, parse_constraints(spec.constraints))
    for key, value in values.items():
        trial.set_constraint(key, value)
    update_result(run_dir, constraints=values, feasible=all(v <= 0 for v in values.values()))


def fail(
    study: optuna.Study, trial: optuna.Trial, error: str, kind: str, run_dir: Path | None = None
) -> None:
    """Tell the study the trial failed, with the error in its user attributes.

    Args:
        study: The Optuna study.
        trial: The trial.
        error: The error, in one line (the first 1000 characters are kept).
        kind: The error's kind (``config``, ``exception``, ``oom``, ...).
        run_dir: The trial's folder: a result.json is written there if the run left none.
    """
    if run_dir is not None:
        # The run never started: still leave a result.json so reports show why.
        trial_info = {"number": trial.number, "study_name": study.study_name}
        write_if_missing(
            run_dir,
            {
                "status": "FAIL",
                "error": error,
                "error_kind": kind,
                "params": dict(trial.params),
                "trial": trial_info,
            },
        )
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
        study: The Optuna study.
        trial: The trial.
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
