"""Orchestrates one ``hpt sweep``: parse the space, create or resume the study, run the
workers (in this process for ``n_jobs=1``, spawned processes otherwise), keep the record.

The steps live in their own modules: the settings' checks (``hpt.sweep.planning.validate``), the
plan (``hpt.sweep.planning.plan``), the dry run (``hpt.sweep.planning.dry_run``), the study's
opening (``hpt.sweep.running.study``) and the worker rounds (``hpt.sweep.running.rounds``).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from hpt.errors import SweepAbortedError, UserError
from hpt.storage import mask_config
from hpt.sweep.chosen import handed_over, noise_line
from hpt.sweep.planning.dry_run import dry_run
from hpt.sweep.planning.plan import Plan, make_plan, worker_spec
from hpt.sweep.planning.validate import plain
from hpt.sweep.running import accounting
from hpt.sweep.running.job import save_sweep_config
from hpt.sweep.running.monitor import format_best
from hpt.sweep.running.rounds import run_workers
from hpt.sweep.running.spec import HydraTask
from hpt.sweep.running.study import open_study
from hpt.sweep.running.trial import BAD_SETTING
from hpt.sweep.running.worker import A_STOP, STOP_RULE

__all__ = ["failure_lines", "run_sweep"]


def run_sweep(
    conf: Mapping[str, Any],
    arguments: list[str],
    *,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
) -> None:
    """Run the sweep to its end, as hydra-optuna-sweeper's ``sweep`` (its record: the study,
    ``sweep.json`` and ``optimization_results.yaml``), then hand over its model.

    Args:
        conf: The sweeper's settings (``hydra.sweeper``).
        arguments: The command line's sweep overrides (``key=EXPR``).
        hydra_context: Hydra's context, to run each trial's job.
        task_function: The task every trial runs.
        config: The run's composed config.

    Raises:
        UserError: A setting is wrong (exit code 2), found before anything runs.
        SweepAbortedError: The sweep stopped on its failures, or left trials unfinished.
        KeyboardInterrupt: The sweep was interrupted (``Terminated`` for SIGTERM).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)

    conf = {k: plain(v) for k, v in conf.items()}
    sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
    existed = sweep_dir.exists()
    try:
        plan = make_plan(conf, arguments, task_function, config, sweep_dir)
    except UserError:
        if not existed:  # refused before anything ran: no empty sweep dir is left behind
            with contextlib.suppress(OSError):
                sweep_dir.rmdir()
        raise
    if plan.settings.dry_run:
        dry_run(plan)
        return
    study = open_study(plan, sweep_dir, config)
    wspec = worker_spec(plan, sweep_dir)
    mask_config(config)  # trials are composed from it: no password reaches their .hydra/*.yaml
    task = HydraTask(hydra_context, task_function, config)
    if not plan.user_app:  # Hydra's settings once, not in every trial dir (hpt.sweep.running.job)
        save_sweep_config(config, sweep_dir)
    state = "KILLED"  # MLflow's word for a sweep interrupted, or ended by an error
    try:
        snap = run_workers(study, wspec, plan, task, sweep_dir)
        state = "FAIL"
        _report(study, snap, plan, sweep_dir, grace_period=plan.settings.grace_period)
        _hand_over(snap, plan, sweep_dir)
        state = "COMPLETE"
    finally:
        _end_tracker_runs(sweep_dir, state, OmegaConf.select(config, "logger.mlflow.tracking_uri"))


def _hand_over(snap: dict[str, Any], plan: Plan, sweep_dir: Path) -> None:
    """The model the sweep hands over (its refit, ``hpt.sweep.refit``) and its one test, and
    the last line: is the choice better than the base config?"""
    if not plan.user_app and len(plan.names) == 1:
        trial = handed_over(snap, plan.settings.select, plan.dirs[0] == "maximize")
        if trial is not None and trial is not snap["best"][0]:
            print(f"select=1se: the baseline (trial #{trial['number']}) is handed over")
        refit = plan.settings.refit
        refitted = refit is not False and _refit(sweep_dir, trial, forced=refit is True)
        if trial is not None and not refitted:
            _test(sweep_dir, trial)
    against = noise_line(snap, plan.names, plan.dirs)
    if against is not None:
        print(against)


def _refit(sweep_dir: Path, trial: dict[str, Any] | None, *, forced: bool) -> bool:
    """The handed-over trial's config trained on every training row into ``SWEEP/best/``
    (with ``refit=auto``: only when its trials were cross-validated); whether it was."""
    from hpt.sweep.refit import add_to_sweep_json, cross_validated, refit

    if trial is None or not (forced or cross_validated(sweep_dir, trial)):
        return False
    record = refit(sweep_dir, trial)
    if record is None:
        return False
    add_to_sweep_json(sweep_dir, record)
    print(f"best model: {sweep_dir / record['dir']}  {_metrics_line(record['test'])}")
    print(f"use it: hpt predict {sweep_dir} NEW.csv -o predictions.csv  (also eval, export)")
    return True


def _test(sweep_dir: Path, trial: dict[str, Any]) -> None:
    """The chosen trial's one test (``hpt.sweep.testing``), printed."""
    from hpt.sweep.testing import evaluate_handed_over

    record = evaluate_handed_over(sweep_dir, trial)
    if record is not None:
        print(
            f"test of the chosen model (trial #{trial['number']}): "
            f"{_metrics_line(record['metrics'])}"
        )


def _metrics_line(metrics: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v:.4g}" for k, v in metrics.items() if isinstance(v, float))


def _end_tracker_runs(sweep_dir: Path, state: str, uri: str | None) -> None:
    """A sweep logged to MLflow has a parent run: end it with the sweep's final state (a
    tracker failure here is one warning, never the sweep's exit status). ``uri``: the
    trials' tracking URI, with its password (their ``mlflow.json`` has it masked)."""
    if not (sweep_dir / "mlflow_parent.json").exists():
        return
    try:
        from hpt.loggers.mlflow_logger import end_parent

        end_parent(sweep_dir, state, str(uri) if uri else None)
    except Exception as exc:
        print(f"hpt sweep: warning: could not end the MLflow parent run: {exc}", file=sys.stderr)


def _report(
    study: Any, snap: dict[str, Any], plan: Plan, sweep_dir: Path, *, grace_period: float = 60.0
) -> None:
    """Print the best trial(s) and the sweep dir; a sweep stopped by its failure rate ends in
    ``SweepAbortedError`` carrying the failed trials' own errors."""
    local = plan.cluster is None  # else cluster workers may still be running their trials
    for line in format_best(snap, plan.names):
        print(line)
    print(f"sweep dir: {sweep_dir}")
    stopped = accounting.study_attr(study, A_STOP)
    lost = [  # a dead worker's trial that could not be re-queued (cluster workers and other
        # processes sharing a database study may still be running theirs: not lost)
        t.number
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        if local and accounting.counts(t) and accounting.is_stale(t, grace_period)
    ]
    if lost:  # every worker of this host has ended: nothing here runs these any more
        raise SweepAbortedError(
            f"trial(s) {lost} could not be finished (their worker died); "
            "rerun the same command to run them again"
        )
    if stopped and str(stopped).startswith(BAD_SETTING):  # the user's setting: exit 2
        raise UserError(str(stopped)[len(BAD_SETTING) + 2 :])
    if stopped and str(stopped).startswith(STOP_RULE):  # done early, as asked: not a failure
        print(f"sweep stopped early: {str(stopped)[len(STOP_RULE) + 2 :]}")
    elif stopped:
        errors = failure_lines(study.get_trials(deepcopy=False))
        raise SweepAbortedError("\n".join([f"sweep {stopped}", *errors]))
    elif local:
        _none_completed(study.get_trials(deepcopy=False), plan.settings.max_failure_rate)


def _none_completed(trials: list[Any], max_failure_rate: float) -> None:
    """A sweep that ran its budget with no trial completed and its failures over
    ``max_failure_rate`` has nothing to hand over: exit 1 with the errors, not 0 (the rate
    is checked during a sweep only while budget is left). ``max_failure_rate=1`` accepts it,
    as the old plugin did."""
    counted = [t for t in trials if accounting.counts(t) and t.state.is_finished()]
    failed = sum(t.state == TrialState.FAIL for t in counted)
    over = counted and failed / len(counted) > max_failure_rate
    if over and not any(t.state == TrialState.COMPLETE for t in counted):
        lines = [f"sweep ended with no completed trial: {failed} failed", *failure_lines(trials)]
        raise SweepAbortedError("\n".join(lines))


def failure_lines(trials: list[Any], most: int = 3) -> list[str]:
    """One line per distinct error of the failed trials, with the trials that raised it.

    What the user needs to fix, without a traceback through hpt.

    Args:
        trials: The study's trials.
        most: The most errors shown (a last line counts the others).

    Returns:
        The lines, each indented by two spaces.
    """
    by_error: dict[str, list[int]] = {}
    for t in trials:
        error = t.user_attrs.get("error")
        if t.state.name == "FAIL" and error and accounting.counts(t):
            by_error.setdefault(str(error), []).append(t.number)
    lines = []
    for error, numbers in list(by_error.items())[:most]:
        shown = ", ".join(f"#{n}" for n in numbers[:5]) + (", ..." if len(numbers) > 5 else "")
        lines.append(f"  trial {shown}: {error}")
    if len(by_error) > most:
        lines.append(
            f"  ... and {len(by_error) - most} other error(s); see each trial's result.json"
        )
    return lines
