"""One trial's lifecycle: its directory, its sampled params and composed config, the run by
Hydra's ``run_job`` under a heartbeat and time limit, and the verdict told to the study."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobReturn, JobStatus, run_job
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict
from optuna.trial import TrialState

from hpt import reporter as reporting
from hpt.errors import error_kind, one_line
from hpt.hydra_internals import job_failure
from hpt.loggers import final_metrics
from hpt.rundir import RESULT, atomic_write_json, read_json
from hpt.storage import mask_config
from hpt.sweep import accounting
from hpt.sweep import optuna_internals as internals
from hpt.sweep.compose import TrialComposer
from hpt.sweep.liveness import heartbeat, time_limit
from hpt.sweep.objective import Verdict, judge, result_record
from hpt.sweep.samplers import apply_custom_space
from hpt.sweep.space import SearchSpace, to_overrides
from hpt.sweep.spec import WorkerSpec

A_EPOCH = "hpt:epoch"


class OptunaReporter:
    """Reports the objective per epoch; answers Optuna's pruner. Multi-objective never prunes."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial) -> None:
        self.study, self.trial = study, trial
        self.multi = len(study.directions) > 1

    def report(self, epoch: int, value: float, metrics: Any) -> bool:
        if self.multi or not math.isfinite(value):
            # Optuna cannot prune multi-objective trials; record the epoch for the live view.
            tid = internals.trial_id(self.trial)
            internals.set_trial_system_attr(self.study, tid, A_EPOCH, epoch)
            return False
        self.trial.report(value, epoch)
        return self.trial.should_prune()


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Define-by-run: a conditional dimension is suggested only when its parent matches."""
    chosen: dict[str, Any] = {}
    for dim in space.dims:
        if dim.when is None or chosen.get(dim.when[0]) == dim.when[1]:
            chosen[dim.name] = internals.suggest(trial, dim.name, dim.dist)
    return chosen


def trial_dir(sweep_dir: Path, number: int) -> str:
    """Create the trial directory atomically; never reuse one that exists."""
    name = f"trial_{number:04d}"
    try:
        (sweep_dir / name).mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        name = f"{name}-{accounting.HOST}-{accounting.PID}"
        (sweep_dir / name).mkdir(parents=True, exist_ok=False)
    return name


def run_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    spec: WorkerSpec,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    sweep_dir: Path,
    parent: int,
    composer: TrialComposer,
) -> None:
    """Run one claimed trial to its end and tell the study; only an interrupt escapes."""
    tid = internals.trial_id(trial)
    name = trial_dir(sweep_dir, trial.number)
    internals.set_trial_user_attr(study, tid, "dir", name)
    try:
        params = suggest(trial, spec.space)
        if spec.custom_search_space:
            params.update(apply_custom_space(spec.custom_search_space, config, trial, params))
        overrides = [*spec.space.fixed, *to_overrides(params), *spec.extra_overrides]
        overrides += resume_override(study, trial, sweep_dir)
        sweep_config = composer.compose(overrides)
    except Exception as exc:  # a sampled combination that does not compose fails alone
        kind = (
            "config"
            if type(exc).__module__.startswith(("hydra", "omegaconf", "hpt"))
            else "exception"
        )
        fail(study, trial, f"{kind}: {type(exc).__name__}: {one_line(exc)}", kind, sweep_dir / name)
        return
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{study.study_name}_{trial.number}"
        sweep_config.hydra.job.num = trial.number
        sweep_config.hydra.sweep.subdir = name
    mask_config(sweep_config)  # a storage URL in a YAML file comes back with each composition
    reporting.set_current(
        OptunaReporter(study, trial), {"number": trial.number, "study_name": study.study_name}
    )
    started = time.time()
    if spec.user_app:  # from now on its directory says what became of it, whatever dies
        atomic_write_json(sweep_dir / name / RESULT, result_record(
            status="RUNNING", names=spec.objective_names, directions=spec.directions, values=None,
            params=params, trial={"number": trial.number, "study_name": study.study_name},
            duration_s=0.0, error=None, error_kind=None,
        ))  # fmt: skip
    try:
        with (
            heartbeat(study, tid, spec.heartbeat_interval, parent),
            time_limit(spec.trial_timeout),
        ):
            ret = _run_job(hydra_context, task_function, sweep_config)
    finally:
        reporting.set_current(None)
    if spec.user_app:
        finish_user_trial(study, trial, spec, ret, sweep_dir / name, time.time() - started)
        return
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
            sweep_dir / name,
        )
        return
    outcome = ret.return_value
    for key, value in final_metrics(sweep_dir / name).items():  # shown by optuna-dashboard
        internals.set_trial_user_attr(study, tid, key, value)
    if spec.constraints and outcome.status == "COMPLETE":
        constrain(trial, spec, sweep_dir / name)
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
                f"the run reported {len(outcome.values)} objective(s) but the study has {len(study.directions)}",
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


def _run_job(hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> Any:
    """Hydra's ``run_job``, with ``sys.exit`` inside the task read for what it is.

    Lightning (and other trainers) catch Ctrl-C/SIGTERM and call ``sys.exit(1)`` instead: the
    interrupt is still the ``SystemExit``'s context, so it is raised again and the sweep stops
    as interrupted (130/143, trial re-queued). Any other ``sys.exit`` fails this trial only.
    """
    try:
        return run_job(hydra_context=hydra_context, task_function=task_function, config=config,
                       job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")  # fmt: skip
    except SystemExit as exc:
        cause = exc.__context__
        while cause is not None and not isinstance(cause, KeyboardInterrupt):
            cause = cause.__context__
        if cause is not None:
            raise cause from None
        ret = JobReturn()
        ret.status = JobStatus.FAILED
        ret.return_value = RuntimeError(f"the task called sys.exit({exc.code!r})")
        return ret


def finish_user_trial(
    study: optuna.Study, trial: optuna.Trial, spec: WorkerSpec, ret: Any, run_dir: Path, took: float
) -> None:
    """A user app's trial: its return value is the objective; the sweeper writes result.json."""
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
    atomic_write_json(run_dir / RESULT, result_record(
        status=verdict.status, names=spec.objective_names, directions=spec.directions,
        values=verdict.values if verdict.status == "COMPLETE" else None, params=frozen.params,
        trial={"number": trial.number, "study_name": study.study_name}, duration_s=took,
        error=verdict.error, error_kind=verdict.error_kind, intermediate=frozen.intermediate_values,
    ))  # fmt: skip
    if verdict.status == "PRUNED":
        tell(study, trial, state=TrialState.PRUNED)
    elif verdict.status == "COMPLETE":
        tell(study, trial, values=verdict.values)
    else:
        fail(study, trial, verdict.error or "failed", verdict.error_kind or "exception")


def constrain(trial: optuna.Trial, spec: WorkerSpec, run_dir: Path) -> None:
    """``hydra.sweeper.constraints`` on the run's recorded metrics: Optuna's constraint
    values (feasible when all <= 0) on the trial, and ``feasible`` in its result.json."""
    from hpt.sweep.baseline import constraint_values, parse_constraints

    result = read_json(run_dir / RESULT) or {}
    values = constraint_values(result, parse_constraints(spec.constraints))
    for key, value in values.items():
        trial.set_constraint(key, value)
    feasible = all(v <= 0 for v in values.values())
    atomic_write_json(run_dir / RESULT, {**result, "constraints": values, "feasible": feasible})


def resume_override(study: optuna.Study, trial: optuna.Trial, sweep_dir: Path) -> list[str]:
    """A retried trial continues from its crashed original's checkpoints/last.pt (hpt.resume)."""
    original = trial.user_attrs.get("retry_of")
    for t in study.get_trials(deepcopy=False) if original is not None else []:
        name = t.user_attrs.get("dir")
        last = sweep_dir / str(name) / "checkpoints" / "last.pt"
        if t.number == original and isinstance(name, str) and last.is_file():
            return [f"resume='{(sweep_dir / name).resolve()}'"]
    return []


def fail(
    study: optuna.Study, trial: optuna.Trial, error: str, kind: str, run_dir: Path | None = None
) -> None:
    if run_dir is not None and not (run_dir / RESULT).exists():
        # The run never started: still leave a result.json so reports show why.
        trial_info = {"number": trial.number, "study_name": study.study_name}
        atomic_write_json(
            run_dir / RESULT,
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
    try:
        study.tell(trial, values, state=state)
    except RuntimeError as exc:
        # GridSampler calls study.stop() once the grid is exhausted, which Optuna only allows
        # inside study.optimize; the result is already stored, and our budget ends the loop.
        if "Study.stop" not in str(exc):
            raise
