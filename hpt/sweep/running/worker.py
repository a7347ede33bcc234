"""A sweep worker: ask the study for a trial when free, run it, tell the result. No batches.

Several workers (processes, possibly on several hosts) run this loop against one storage;
each trial is composed by Hydra from the base config plus the sampled overrides and run
by Hydra's ``run_job`` in its own directory (``trial_NNNN``, or a user app's
``hydra.sweep.subdir``: ``hpt.sweep.running.trial``). A spawned
worker process enters through ``hpt.sweep.running.process``; heartbeats and the orphan check are in
``hpt.sweep.running.liveness``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import optuna
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig
from optuna.trial import TrialState

from hpt.errors import JobEnded
from hpt.storage import open_storage
from hpt.sweep import optuna_internals as internals
from hpt.sweep.planning.pruning import build_pruner
from hpt.sweep.planning.samplers import build_sampler
from hpt.sweep.running import accounting
from hpt.sweep.running.compose import TrialComposer
from hpt.sweep.running.liveness import parent_alive
from hpt.sweep.running.spec import HydraTask, WorkerSpec
from hpt.sweep.running.trial import run_trial

A_STOP = "hpt:stopped"


def should_stop(study: optuna.Study, spec: WorkerSpec) -> str | None:
    """Why no new trial should start (deadline, a stop, the budget spoken for), or None.

    Args:
        study: The Optuna study.
        spec: What every worker needs (deadline and budget).

    Returns:
        ``timeout``, the study's stop reason, ``budget``, or None.
    """
    if spec.deadline is not None and time.time() >= spec.deadline:
        return "timeout"
    stopped = accounting.study_attr(study, A_STOP)
    if stopped:
        return str(stopped)
    trials = study.get_trials(deepcopy=False)
    if accounting.budget_used(trials) >= spec.n_trials and not any(
        t.state == TrialState.WAITING for t in trials if accounting.counts(t)
    ):
        return "budget"
    return None


def _check_failure_rate(study: optuna.Study, spec: WorkerSpec) -> None:
    done = accounting.finished(study.get_trials(deepcopy=False))
    if len(done) >= spec.n_trials:
        return  # the budget is done: nothing is left to stop (the counts show the failures)
    failed = sum(1 for t in done if t.state == TrialState.FAIL)
    if done and failed >= spec.min_failures and failed / len(done) > spec.max_failure_rate:
        reason = (
            f"stopped: {failed} of {len(done)} finished trials failed "
            f"(max_failure_rate={spec.max_failure_rate})"
        )
        accounting.set_study_attr(study, A_STOP, reason)


STOP_RULE = "stop rule"  # a reason starting so is a sweep that is done, not aborted


def check_stop_rules(study: optuna.Study, spec: WorkerSpec) -> None:
    """``stop.target`` (the objective reached) and ``stop.stagnation`` (no new best in N
    finished trials): the sweep stops for every worker, with the reason in the study.

    Args:
        study: The Optuna study.
        spec: What every worker needs (``target``, ``stagnation``).
    """
    if len(study.directions) != 1 or (spec.target is None and not spec.stagnation):
        return
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    done = sorted(
        accounting.finished(study.get_trials(deepcopy=False)),
        key=lambda t: t.datetime_complete or 0,
    )
    best, since, reason = None, 0, None
    for t in done:
        improves = t.state == TrialState.COMPLETE and t.values and accounting.feasible(t)
        if improves and (best is None or sign * t.values[0] > sign * best):
            best, since = t.values[0], 0
            if spec.target is not None and sign * best >= sign * spec.target:
                reason = (
                    f"{STOP_RULE}: trial {t.number} reached the target {spec.target:g} ({best:.6g})"
                )
                break
            continue
        since += 1
    if reason is None and spec.stagnation and best is not None and since >= spec.stagnation:
        reason = (
            f"{STOP_RULE}: no new best in the last {since} finished trials "
            f"(stagnation={spec.stagnation})"
        )
    if reason and not accounting.study_attr(study, A_STOP):
        accounting.set_study_attr(study, A_STOP, reason)


def run_worker(
    spec: WorkerSpec,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    worker: int,
    parent: int = 0,
) -> int:
    """Run trials until the budget, the deadline or a stop.

    Args:
        spec: What every worker needs.
        hydra_context: Hydra's context, to run each trial's job.
        task_function: The task every trial runs.
        config: The run's composed config.
        worker: The worker's index.
        parent: The sweep process's id, when this worker is a process it spawned (0: none).

    Returns:
        How many trials this worker ran.

    Raises:
        KeyboardInterrupt: The worker was interrupted (its trial re-queued first).
    """
    os.environ.update(spec.env)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = _load_study(spec)
    sweep_dir = Path(spec.sweep_dir)
    composer = TrialComposer(hydra_context.config_loader, config)
    task = HydraTask(hydra_context, task_function, config)
    ran = 0
    while True:
        if parent and not parent_alive(parent):
            break  # the sweep that started this worker is gone: never start a trial for nobody
        # Before the budget check: a dead worker's trial counts towards the budget until it
        # is re-queued, so checking first would end the sweep one trial short.
        accounting.recover_stale(study, spec.grace_period, sweep_dir)
        if should_stop(study, spec) is not None:
            break
        trial = study.ask()
        try:  # from the ask on: an interrupt anywhere must not leave the trial RUNNING
            if not accounting.claim(study, trial, spec.n_trials):
                continue
            accounting.mark_owner(study, trial)
            ran += 1
            reason = run_trial(study, trial, spec, task, sweep_dir, parent, composer)
        except KeyboardInterrupt as exc:
            _release(study, trial, exc, sweep_dir)
            raise
        if reason is not None:  # every next trial would fail the same way: stop, resumable
            accounting.set_study_attr(study, A_STOP, reason)
            break
        _check_failure_rate(study, spec)
        check_stop_rules(study, spec)
    return ran


def _load_study(spec: WorkerSpec) -> optuna.Study:
    """The study, with this worker's own sampler and pruner."""
    storage = open_storage(spec.storage)
    sampler = build_sampler(spec.sampler, spec.space)  # seeded per trial: any worker, any host
    return optuna.load_study(
        study_name=spec.study_name,
        storage=storage,
        sampler=sampler,
        pruner=build_pruner(spec.pruner),
    )


def _release(
    study: optuna.Study, trial: optuna.Trial, exc: KeyboardInterrupt, sweep_dir: Path
) -> None:
    """An interrupted trial re-queued (retried), with why it stopped."""
    frozen = internals.frozen(study, trial)
    reason = (
        "its worker job was cancelled, preempted or reached its time limit"
        if isinstance(exc, JobEnded)
        else "interrupted by the user"
    )
    accounting.retry(study, frozen, reason, sweep_dir)
