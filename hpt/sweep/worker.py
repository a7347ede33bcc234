"""A sweep worker: ask the study for a trial when free, run it, tell the result. No batches.

Several workers (processes, possibly on several hosts) run this loop against one storage;
each trial is composed by Hydra from the base config plus the sampled overrides and run
by Hydra's ``run_job`` in its own ``trial_NNNN`` directory.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobStatus, run_job
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict
from optuna.trial import TrialState

from hpt import reporter as reporting
from hpt.errors import TrialTimeoutError, error_kind, one_line
from hpt.loggers import final_metrics
from hpt.rundir import RESULT, atomic_write_json
from hpt.storage import is_url, mask_config, open_storage
from hpt.sweep import accounting
from hpt.sweep.compose import TrialComposer
from hpt.sweep.objective import Verdict, judge, result_record
from hpt.sweep.samplers import apply_custom_space, build_pruner, build_sampler
from hpt.sweep.space import SearchSpace, to_overrides

A_EPOCH, A_STOP = "hpt:epoch", "hpt:stopped"


@dataclass
class WorkerSpec:
    """Everything a worker needs, picklable so it can cross into a spawned process."""

    storage: str
    study_name: str
    space: SearchSpace
    n_trials: int
    sweep_dir: str
    sampler: Any  # a config dict (with _target_) or None
    pruner: Any
    sampler_seed_offset: int = 0
    deadline: float | None = None
    trial_timeout: float | None = None
    max_failure_rate: float = 0.5
    min_failures: int = 3
    heartbeat_interval: float = 5.0
    grace_period: float = 60.0
    custom_search_space: str | None = None
    extra_overrides: list[str] = field(default_factory=list)
    user_app: bool = False  # a user's own task function: the objective is its return value
    objective_names: list[str] = field(default_factory=list)
    directions: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


class OptunaReporter:
    """Reports the objective per epoch; answers Optuna's pruner. Multi-objective never prunes."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial) -> None:
        self.study, self.trial = study, trial
        self.multi = len(study.directions) > 1

    def report(self, epoch: int, value: float, metrics: Any) -> bool:
        if self.multi or not math.isfinite(value):
            # Optuna cannot prune multi-objective trials; record the epoch for the live view.
            self.study._storage.set_trial_system_attr(self.trial._trial_id, A_EPOCH, epoch)
            return False
        self.trial.report(value, epoch)
        return self.trial.should_prune()


def _parent_alive(parent: int) -> bool:
    """Whether the sweep process that spawned this worker still runs. A worker is re-parented
    when its parent dies, so comparing the parent pid works on every platform."""
    return parent <= 1 or os.getppid() == parent


@contextlib.contextmanager
def _heartbeat(study: optuna.Study, trial_id: int, interval: float, parent: int) -> Iterator[None]:
    """Beat while the trial runs; end this worker if the sweep process that started it died."""
    stop = threading.Event()

    def loop() -> None:
        next_beat = time.monotonic() + interval
        while not stop.wait(min(interval, 1.0)):  # liveness each second, beats each interval
            if parent and not _parent_alive(parent):
                # Orphaned by kill -9 of the sweep: the trial will be recovered as stale.
                os._exit(1)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + interval
                with contextlib.suppress(Exception):
                    accounting.beat(study, trial_id)

    thread = threading.Thread(target=loop, daemon=True, name="hpt-heartbeat")
    thread.start()
    try:
        yield
    finally:
        stop.set()


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TrialTimeoutError(f"trial ran past trial_timeout={seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Define-by-run: a conditional dimension is suggested only when its parent matches."""
    chosen: dict[str, Any] = {}
    for dim in space.dims:
        if dim.when is None or chosen.get(dim.when[0]) == dim.when[1]:
            chosen[dim.name] = trial._suggest(dim.name, dim.dist)
    return chosen


def _trial_dir(sweep_dir: Path, number: int) -> str:
    """Create the trial directory atomically; never reuse one that exists."""
    name = f"trial_{number:04d}"
    try:
        (sweep_dir / name).mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        name = f"{name}-{accounting.HOST}-{accounting.PID}"
        (sweep_dir / name).mkdir(parents=True, exist_ok=False)
    return name


def _should_stop(study: optuna.Study, spec: WorkerSpec) -> str | None:
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
    failed = sum(1 for t in done if t.state == TrialState.FAIL)
    if done and failed >= spec.min_failures and failed / len(done) > spec.max_failure_rate:
        reason = f"stopped: {failed} of {len(done)} finished trials failed (max_failure_rate={spec.max_failure_rate})"
        accounting.set_study_attr(study, A_STOP, reason)


def run_worker(
    spec: WorkerSpec,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    worker: int,
    parent: int = 0,
) -> int:
    """Run trials until the budget, the deadline or a stop; returns how many this worker ran."""
    os.environ.update(spec.env)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(spec.storage)
    # Hosts sharing a study (a database, or a journal on a shared filesystem) start together:
    # never replay one another's seeds. The host part is stable, so a sweep on one machine
    # stays reproducible; processes joining a database also differ by pid.
    who = f"{accounting.HOST}:{accounting.PID}" if is_url(spec.storage) else accounting.HOST
    offset = spec.sampler_seed_offset + worker + zlib.crc32(who.encode()) % 2**24
    sampler = build_sampler(spec.sampler, spec.space, offset)
    study = optuna.load_study(
        study_name=spec.study_name,
        storage=storage,
        sampler=sampler,
        pruner=build_pruner(spec.pruner),
    )
    sweep_dir = Path(spec.sweep_dir)
    composer = TrialComposer(hydra_context.config_loader, config)
    ran = 0
    while _should_stop(study, spec) is None:
        if parent and not _parent_alive(parent):
            break  # the sweep that started this worker is gone: never start a trial for nobody
        accounting.recover_stale(study, spec.grace_period, sweep_dir)
        trial = study.ask()
        try:  # from the ask on: an interrupt anywhere must not leave the trial RUNNING
            if not accounting.claim(study, trial, spec.n_trials):
                continue
            accounting.mark_owner(study, trial)
            ran += 1
            _run_trial(
                study,
                trial,
                spec,
                hydra_context,
                task_function,
                config,
                sweep_dir,
                parent,
                composer,
            )
        except KeyboardInterrupt:
            frozen = study._storage.get_trial(trial._trial_id)
            accounting.retry(study, frozen, "interrupted by the user", sweep_dir)
            raise
        _check_failure_rate(study, spec)
    return ran


def _run_trial(
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
    storage = study._storage
    name = _trial_dir(sweep_dir, trial.number)
    storage.set_trial_user_attr(trial._trial_id, "dir", name)
    try:
        params = suggest(trial, spec.space)
        if spec.custom_search_space:
            params.update(apply_custom_space(spec.custom_search_space, config, trial, params))
        overrides = [*spec.space.fixed, *to_overrides(params), *spec.extra_overrides]
        overrides += _resume_override(study, trial, sweep_dir)
        sweep_config = composer.compose(overrides)
    except Exception as exc:  # a sampled combination that does not compose fails alone
        kind = (
            "config"
            if type(exc).__module__.startswith(("hydra", "omegaconf", "hpt"))
            else "exception"
        )
        _fail(
            study, trial, f"{kind}: {type(exc).__name__}: {one_line(exc)}", kind, sweep_dir / name
        )
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
    try:
        with (
            _heartbeat(study, trial._trial_id, spec.heartbeat_interval, parent),
            _time_limit(spec.trial_timeout),
        ):
            ret = run_job(hydra_context=hydra_context, task_function=task_function, config=sweep_config,
                          job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir")  # fmt: skip
    finally:
        reporting.set_current(None)
    if spec.user_app:
        _finish_user_trial(study, trial, spec, ret, sweep_dir / name, time.time() - started)
        return
    if ret.status != JobStatus.COMPLETED:
        failure = ret._return_value
        if isinstance(failure, optuna.TrialPruned):
            _tell(study, trial, state=TrialState.PRUNED)
            return
        _fail(
            study,
            trial,
            f"{type(failure).__name__}: {one_line(failure)}" if failure is not None else "failed",
            error_kind(failure) if failure is not None else "exception",
            sweep_dir / name,
        )
        return
    outcome = ret.return_value
    for key, value in final_metrics(sweep_dir / name).items():  # shown by optuna-dashboard
        storage.set_trial_user_attr(trial._trial_id, key, value)
    if outcome.status == "PRUNED":
        _tell(study, trial, state=TrialState.PRUNED)
    elif (
        outcome.status == "COMPLETE"
        and outcome.values
        and all(math.isfinite(v) for v in outcome.values)
    ):
        if len(outcome.values) != len(study.directions):
            _fail(
                study,
                trial,
                f"the run reported {len(outcome.values)} objective(s) but the study has {len(study.directions)}",
                "config",
            )
        else:
            _tell(study, trial, values=outcome.values)
    else:
        _fail(
            study,
            trial,
            outcome.error or "no finite objective value",
            outcome.error_kind or "exception",
        )


def _finish_user_trial(
    study: optuna.Study, trial: optuna.Trial, spec: WorkerSpec, ret: Any, run_dir: Path, took: float
) -> None:
    """A user app's trial: its return value is the objective; the sweeper writes result.json."""
    failure = ret._return_value if ret.status != JobStatus.COMPLETED else None
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
    frozen = study._storage.get_trial(trial._trial_id)
    atomic_write_json(run_dir / RESULT, result_record(
        status=verdict.status, names=spec.objective_names, directions=spec.directions,
        values=verdict.values if verdict.status == "COMPLETE" else None, params=frozen.params,
        trial={"number": trial.number, "study_name": study.study_name}, duration_s=took,
        error=verdict.error, error_kind=verdict.error_kind, intermediate=frozen.intermediate_values,
    ))  # fmt: skip
    if verdict.status == "PRUNED":
        _tell(study, trial, state=TrialState.PRUNED)
    elif verdict.status == "COMPLETE":
        _tell(study, trial, values=verdict.values)
    else:
        _fail(study, trial, verdict.error or "failed", verdict.error_kind or "exception")


def _resume_override(study: optuna.Study, trial: optuna.Trial, sweep_dir: Path) -> list[str]:
    """A retried trial continues from its crashed original's checkpoints/last.pt (hpt.resume)."""
    original = trial.user_attrs.get("retry_of")
    for t in study.get_trials(deepcopy=False) if original is not None else []:
        name = t.user_attrs.get("dir")
        last = sweep_dir / str(name) / "checkpoints" / "last.pt"
        if t.number == original and isinstance(name, str) and last.is_file():
            return [f"resume='{(sweep_dir / name).resolve()}'"]
    return []


def _fail(
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
    study._storage.set_trial_user_attr(trial._trial_id, "error", error[:1000])
    study._storage.set_trial_user_attr(trial._trial_id, "error_kind", kind)
    _tell(study, trial, state=TrialState.FAIL)


def _tell(
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


@dataclass(frozen=True)
class TaskRef:
    """A task function that pickle cannot carry by itself: ``@hydra.main`` replaces the
    function in its module with a wrapper, so pickling it by name fails the identity check.
    The spawned worker looks the name up again (``__main__`` is the user's script, re-imported
    by multiprocessing as ``__mp_main__``) and unwraps Hydra's decorator."""

    module: str
    qualname: str

    @classmethod
    def of(cls, fn: Any) -> Any:
        import pickle

        try:
            pickle.dumps(fn)
            return fn
        except Exception:
            return cls(fn.__module__, fn.__qualname__)

    def resolve(self) -> TaskFunction:
        import importlib
        import inspect
        import sys

        module = sys.modules.get(self.module) or importlib.import_module(self.module)
        obj: Any = module
        for part in self.qualname.split("."):
            obj = getattr(obj, part)
        return inspect.unwrap(obj)  # type: ignore[no-any-return]


def spawned_worker(
    spec: WorkerSpec,
    hydra_context: HydraContext,
    task_function: TaskFunction | TaskRef,
    config: DictConfig,
    worker: int,
) -> None:
    """Entry point of a worker process (multiprocessing spawn).

    Hydra's global state (resolvers, ConfigStore, plugins) is rebuilt here rather than
    pickled: its resolvers are closures that the standard pickler cannot carry.
    """
    from hydra.core.plugins import Plugins
    from hydra.core.utils import setup_globals

    from hpt.config import register

    setup_globals()
    register()
    Plugins.instance()  # imports hydra_plugins, which registers the sweeper's configs

    def interrupt_once(signum: int, frame: Any) -> None:
        # Ctrl-C reaches this worker from the terminal *and* forwarded by the sweep process:
        # the second SIGINT must not cut short the clean-up the first one started.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt_once)
    signal.signal(signal.SIGTERM, interrupt_once)  # `kill` of the process group: as Ctrl-C
    if isinstance(task_function, TaskRef):
        task_function = task_function.resolve()
    try:
        run_worker(spec, hydra_context, task_function, config, worker, parent=os.getppid())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
