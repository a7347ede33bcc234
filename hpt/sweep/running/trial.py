"""One trial's lifecycle: its directory, its sampled params and composed config, the run by
Hydra's ``run_job`` under a heartbeat and time limit, and the verdict told to the study
(``hpt.sweep.running.verdict``)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import optuna
from hydra.core.utils import JobReturn, JobStatus, run_job
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from hpt.cli.hydra_internals import job_failure, mask_saved_configs
from hpt.errors import environment_failure, one_line
from hpt.rundir import RESULT, read_json
from hpt.storage import mask_config
from hpt.sweep import optuna_internals as internals
from hpt.sweep.planning.overrides import to_overrides
from hpt.sweep.planning.samplers import apply_custom_space
from hpt.sweep.planning.space import SearchSpace, on_step
from hpt.sweep.running import accounting
from hpt.sweep.running.compose import TrialComposer
from hpt.sweep.running.job import run_own_job
from hpt.sweep.running.liveness import heartbeat, time_limit
from hpt.sweep.running.objective import verdict_of
from hpt.sweep.running.spec import HydraTask, WorkerSpec
from hpt.sweep.running.verdict import Verdict, conclude, mark_user_running
from hpt.training import reporter as reporting

__all__ = [
    "A_EPOCH",
    "OptunaReporter",
    "job_dir",
    "resume_override",
    "run_trial",
    "suggest",
    "trial_dir",
]

A_EPOCH = "hpt:epoch"


class OptunaReporter:
    """Reports the objective per epoch; answers Optuna's pruner. Multi-objective never prunes."""

    def __init__(self, study: optuna.Study, trial: optuna.Trial) -> None:
        self.study, self.trial = study, trial
        self.multi = len(study.directions) > 1

    def report(self, epoch: int, value: float, metrics: Any) -> bool:
        """Report the epoch's objective value to the trial.

        Args:
            epoch: The epoch (Optuna's step).
            value: The objective's value.
            metrics: The epoch's metrics (not used here).

        Returns:
            Whether the pruner says to stop the trial now.
        """
        if self.multi or not math.isfinite(value):
            # Optuna cannot prune multi-objective trials; record the epoch for the live view.
            tid = internals.trial_id(self.trial)
            internals.set_trial_system_attr(self.study, tid, A_EPOCH, epoch)
            return False
        self.trial.report(value, epoch)
        return self.trial.should_prune()


def suggest(trial: optuna.Trial, space: SearchSpace) -> dict[str, Any]:
    """Define-by-run: a conditional dimension is suggested only when its parent matches.

    Args:
        trial: The trial.
        space: The search space.

    Returns:
        The sampled params, by name.
    """
    chosen: dict[str, Any] = {}
    for dim in space.dims:
        if dim.when is None or chosen.get(dim.when[0]) == dim.when[1]:
            # the app gets 2.3 where Optuna's stepped float is 0 + 23 * 0.1 = 2.3000000000000003
            chosen[dim.name] = on_step(dim.dist, internals.suggest(trial, dim.name, dim.dist))
    return chosen


def trial_dir(sweep_dir: Path, number: int) -> str:
    """Create the trial directory atomically; never reuse one that exists.

    Args:
        sweep_dir: The sweep's folder.
        number: The trial's number.

    Returns:
        The folder's name: ``trial_NNNN``, or ``trial_NNNN-HOST-PID`` when that exists.
    """
    name = f"trial_{number:04d}"
    try:
        (sweep_dir / name).mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        name = f"{name}-{accounting.HOST}-{accounting.PID}"
        (sweep_dir / name).mkdir(parents=True, exist_ok=False)
    return name


def job_dir(sweep_dir: Path, number: int, user_app: bool, config: DictConfig | None = None) -> str:
    """The trial's folder, made atomically: never one that exists.

    A user's app gets Hydra's ``hydra.sweep.subdir`` resolved for the trial (its default
    ``${hydra.job.num}`` gives ``0/``, ``1/``, ...; ``${hydra.job.override_dirname}`` the
    trial's overrides), as its scripts expect; ``NAME-N`` when that exists (two trials with
    the same overrides), then ``NAME-N-HOST-PID``. hpt's own task keeps ``trial_NNNN``.

    Args:
        sweep_dir: The sweep's folder.
        number: The trial's number.
        user_app: The sweep runs a user's own task function.
        config: The trial's composed config (None: its subdir could not be composed).

    Returns:
        The folder's path relative to ``sweep_dir``.
    """
    if not user_app:
        return trial_dir(sweep_dir, number)
    wanted = str(number)
    if config is not None:
        wanted = str(OmegaConf.select(config, "hydra.sweep.subdir", default=None) or number)
    tail = f"-{number}"
    for name in (wanted, wanted + tail, f"{wanted}{tail}-{accounting.HOST}-{accounting.PID}"):
        try:
            (sweep_dir / name).mkdir(parents=True, exist_ok=False)
            return name
        except FileExistsError:
            continue
    raise FileExistsError(f"{sweep_dir / wanted}: every name for trial {number} exists")


def run_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    spec: WorkerSpec,
    task: HydraTask,
    sweep_dir: Path,
    parent: int,
    composer: TrialComposer,
) -> str | None:
    """Run one claimed trial to its end and tell the study; only an interrupt escapes.

    Args:
        study: The Optuna study.
        trial: The trial, claimed by this worker.
        spec: What every worker needs.
        task: What Hydra gave the sweeper.
        sweep_dir: The sweep's folder (the trial's runs in a new folder under it).
        parent: The sweep process's id, for the heartbeat's orphan check (0: none).
        composer: Composes each trial's config from the sweep's.

    Returns:
        Why the sweep should stop after this trial (``stop_reason``), or None.

    Raises:
        KeyboardInterrupt: The trial was interrupted (the caller re-queues it).
    """
    tid = internals.trial_id(trial)
    composed = _compose(study, trial, spec, task.config, composer, sweep_dir)
    if composed is None:
        return None
    params, sweep_config, name = composed
    reporting.set_current(
        OptunaReporter(study, trial), {"number": trial.number, "study_name": study.study_name}
    )
    started = time.time()
    if spec.user_app:  # from now on its directory says what became of it, whatever dies
        mark_user_running(study, trial, spec, params, sweep_dir / name)
    try:
        with (
            heartbeat(study, tid, spec.heartbeat_interval, parent),
            time_limit(spec.trial_timeout),
        ):
            if spec.user_app or sweep_config.hydra.job.chdir:
                ret = _run_job(task.hydra_context, task.task_function, sweep_config)
            else:  # hpt's own task: the parts of run_job a trial needs (hpt.sweep.running.job)
                ret = run_own_job(task.hydra_context, task.task_function, sweep_config)
    finally:
        reporting.set_current(None)
    verdict = verdict_of(ret, len(study.directions), spec.user_app)
    conclude(study, trial, spec, verdict, sweep_dir / name, time.time() - started)
    return stop_reason(job_failure(ret) or _recorded(ret), spec, sweep_dir / name, trial.number)


BAD_SETTING = "bad setting"  # a stop reason starting so is the user's setting: exit 2
_MISSING = 1e300  # hpt.sweep.running.baseline.constraint_values' value for a metric not recorded


def stop_reason(
    failure: BaseException | None, spec: WorkerSpec, run_dir: Path, number: int
) -> str | None:
    """Why no trial after this one should run, or None: a disk error (no space left,
    read-only) would fail them all, and a constraint on a metric this finished trial did not
    record would make them all infeasible."""
    broken = environment_failure(failure)
    if broken is not None:
        where = f": {broken.filename}" if broken.filename else ""
        return (
            f"stopped: trial {number} failed on the disk ({broken.strerror}{where}); every "
            "trial would; free space or make the sweep dir writable, then rerun the same "
            "command to resume"
        )
    result = read_json(run_dir / RESULT) if spec.constraints else None
    if not result or result.get("status") != "COMPLETE":
        return None
    missing = sorted(k for k, v in (result.get("constraints") or {}).items() if v >= _MISSING)
    if not missing:
        return None
    return (
        f"{BAD_SETTING}: hydra.sweeper.constraints names {missing[0]}, which trial {number} "
        "did not record, so no trial could be feasible: name a metric of its result.json "
        "(a best or test metric, or section/key such as model/n_params)"
    )


def _recorded(ret: JobReturn) -> BaseException | None:
    """What hpt's own task recorded as its failure instead of raising it (``Outcome.cause``)."""
    value = ret.return_value if ret.status == JobStatus.COMPLETED else None
    return getattr(value, "cause", None)


def _compose(
    study: optuna.Study,
    trial: optuna.Trial,
    spec: WorkerSpec,
    config: DictConfig,
    composer: TrialComposer,
    sweep_dir: Path,
) -> tuple[dict[str, Any], DictConfig, str] | None:
    """The trial's params sampled, its config composed and its folder made (the name is
    recorded in the study); None when that failed (the trial is then failed alone, with a
    result.json saying why). hpt's own task names its folder first, before composing, so a
    worker killed meanwhile leaves it named; a user app's is its composed subdir."""
    name = None if spec.user_app else _made_dir(study, trial, sweep_dir, False)
    try:
        params = suggest(trial, spec.space)
        if spec.custom_search_space:
            params.update(apply_custom_space(spec.custom_search_space, config, trial, params))
        overrides = [*spec.space.fixed, *to_overrides(params), *spec.extra_overrides]
        overrides += resume_override(study, trial, sweep_dir)
        cfg = composer.compose(overrides)
        _name_job(cfg, study, trial)
        name = name or _made_dir(study, trial, sweep_dir, True, cfg)
        with open_dict(cfg):
            cfg.hydra.sweep.subdir = name  # the folder made: Hydra's run_job goes there
        return params, cfg, name
    except Exception as exc:  # a sampled combination that does not compose fails alone
        name = name or _made_dir(study, trial, sweep_dir, spec.user_app)
        kind = (
            "config"
            if type(exc).__module__.startswith(("hydra", "omegaconf", "hpt"))
            else "exception"
        )
        error = f"{kind}: {type(exc).__name__}: {one_line(exc)}"
        conclude(
            study, trial, spec, Verdict("FAIL", error=error, error_kind=kind), sweep_dir / name
        )
        return None


def _made_dir(
    study: optuna.Study,
    trial: optuna.Trial,
    sweep_dir: Path,
    user_app: bool,
    config: DictConfig | None = None,
) -> str:
    """The trial's folder made (``job_dir``) and its name recorded in the study."""
    name = job_dir(sweep_dir, trial.number, user_app, config)
    internals.set_trial_user_attr(study, internals.trial_id(trial), "dir", name)
    return name


def _name_job(sweep_config: DictConfig, study: optuna.Study, trial: optuna.Trial) -> None:
    """The trial's job id and number in its config; no password left in it."""
    with open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{study.study_name}_{trial.number}"
        sweep_config.hydra.job.num = trial.number
    mask_config(sweep_config)  # a storage URL in a YAML file comes back with each composition


def _run_job(hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> Any:
    """Hydra's ``run_job``, with ``sys.exit`` inside the task read for what it is.

    Lightning (and other trainers) catch Ctrl-C/SIGTERM and call ``sys.exit(1)`` instead: the
    interrupt is still the ``SystemExit``'s context, so it is raised again and the sweep stops
    as interrupted (130/143, trial re-queued). Any other ``sys.exit`` fails this trial only.
    """
    mask_saved_configs()  # a user app's trials too: no URL password in their .hydra/*.yaml
    try:
        return run_job(
            hydra_context=hydra_context,
            task_function=task_function,
            config=config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
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


def resume_override(study: optuna.Study, trial: optuna.Trial, sweep_dir: Path) -> list[str]:
    """A retried trial continues from its crashed original's checkpoints/last.pt
    (hpt.training.resume).

    Args:
        study: The Optuna study.
        trial: The trial (a retry has the original's number in ``retry_of``).
        sweep_dir: The sweep's folder.

    Returns:
        The ``resume=`` override, or nothing when there is no checkpoint to resume.
    """
    original = trial.user_attrs.get("retry_of")
    for t in study.get_trials(deepcopy=False) if original is not None else []:
        name = t.user_attrs.get("dir")
        last = sweep_dir / str(name) / "checkpoints" / "last.pt"
        if t.number == original and isinstance(name, str) and last.is_file():
            return [f"resume='{(sweep_dir / name).resolve()}'"]
    return []
