"""Sweep workers as cluster jobs: ``hydra/launcher=submitit_slurm`` (or ``submitit_local``).

The sweep submits its ``n_jobs`` workers as one job array through submitit, with the
launcher's own settings (``partition``, ``timeout_min``, ``cpus_per_task``, ``gpus_per_node``,
``mem_gb``, ``array_parallelism``, ``additional_parameters``, ``setup``, ...) as
hydra-submitit-launcher passes them. Each array task runs the same ask -> run -> tell worker
loop as a local worker process, against the shared study: there are no batches. The
submitting command follows the sweep from the storage; when a worker job ends early
(``scancel``, time limit, preemption, node loss) its trial is found stale, re-queued, and a
new array is submitted while the budget is not done. Ctrl-C or SIGTERM of the submitting
command cancels the array. hydra-submitit-launcher is the extra ``hpt[slurm]``, imported
only here.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hpt.errors import JobEnded, UserError
from hpt.sweep.running import accounting
from hpt.sweep.running.spec import HydraTask, WorkerSpec

# submitit's executor-independent parameters
_BASE = {
    "timeout_min",
    "cpus_per_task",
    "gpus_per_node",
    "tasks_per_node",
    "mem_gb",
    "nodes",
    "name",
    "stderr_to_stdout",
}


def cluster_kind(config: DictConfig) -> str | None:
    """Which cluster the launcher submits to.

    Args:
        config: The run's composed config (``hydra.launcher``).

    Returns:
        ``slurm`` or ``local`` for hydra-submitit-launcher's launchers, else None (local
        workers).
    """
    target = str(OmegaConf.select(config, "hydra.launcher._target_") or "")
    if "hydra_submitit_launcher" not in target:
        return None
    return "slurm" if target.endswith("SlurmLauncher") else "local"


def check_storage(spec: str) -> None:
    """Every node must reach the study: a journal in the (shared) sweep dir or a database.

    Args:
        spec: The storage spec (a URL or a journal path).

    Raises:
        UserError: The storage is SQLite or in memory.
    """
    if spec.startswith("sqlite") or ":memory:" in spec:
        raise UserError(
            f"hydra.sweeper.storage={spec}: a cluster sweep needs a storage every node reaches "
            "safely: leave it unset (a journal file in the shared sweep dir) or give a "
            "postgresql:// or mysql:// URL (SQLite is unsafe on network file systems)"
        )


def _executor(config: DictConfig, kind: str) -> Any:
    try:
        import submitit
    except ImportError:  # pragma: no cover - the extra is installed where it is selected
        raise UserError(
            "hydra/launcher=submitit_*: pip install 'hpt[slurm]' (from a checkout: '.[slurm]')"
        ) from None
    params = OmegaConf.to_container(config.hydra.launcher, resolve=True)
    assert isinstance(params, dict)
    params.pop("_target_", None)
    init: dict[str, Any] = {"folder": params.pop("submitit_folder")}
    if "max_num_timeout" in params:
        init[f"{kind}_max_num_timeout"] = params.pop("max_num_timeout")
    executor = submitit.AutoExecutor(cluster=kind, **init)
    named = {str(k): v for k, v in params.items()}
    executor.update_parameters(
        **{(k if k in _BASE else f"{kind}_{k}"): v for k, v in named.items()}
    )
    return executor


def cluster_worker(
    spec: WorkerSpec,
    hydra_context: HydraContext,
    task_function: TaskFunction,
    config: DictConfig,
    worker: int,
    singleton_state: Any,
) -> int:
    """One array task: Hydra's global state restored (as hydra-submitit-launcher does), then
    the worker loop.

    Args:
        spec: What every worker needs.
        hydra_context: Hydra's context, to run each trial's job.
        task_function: The task every trial runs.
        config: The run's composed config.
        worker: The worker's index in the array.
        singleton_state: Hydra's global state in the submitting process.

    Returns:
        How many trials it ran; -1 when the job was told to end (its trial released).
    """
    from hydra.core.singleton import Singleton
    from hydra.core.utils import JobRuntime, setup_globals

    from hpt.sweep.running.worker import run_worker

    Singleton.set_state(singleton_state)
    setup_globals()
    JobRuntime.instance().set("name", str(config.hydra.job.name))

    def job_ends(signum: int, frame: Any) -> None:
        # scancel and preemption send SIGTERM, the time limit SLURM's warning (USR1, see
        # signal_delay_s) first: stop the trial now and release it for another worker, before
        # SLURM's SIGKILL. (submitit's own handlers would let the trial run into the kill.)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        raise JobEnded

    signal.signal(signal.SIGTERM, job_ends)
    signal.signal(signal.SIGUSR1, job_ends)
    try:
        return run_worker(spec, hydra_context, task_function, config, worker)
    except JobEnded:
        return -1


def run_cluster(
    study: Any,
    spec: WorkerSpec,
    task: HydraTask,
    n_jobs: int,
    kind: str,
    *,
    detach: bool,
    who: str,
) -> None:
    """Submit the workers as job arrays until the budget is done.

    Ctrl-C/SIGTERM cancels what is queued or running.

    Args:
        study: The Optuna study.
        spec: What every worker needs.
        task: What Hydra gave the sweeper (its config names the launcher's settings).
        n_jobs: Worker jobs per array.
        kind: ``slurm`` or ``local`` (``cluster_kind``).
        detach: Return as soon as the first array is submitted.
        who: The name messages start with.

    Raises:
        UserError: The storage is not one every node reaches, or submitit is not installed.
        KeyboardInterrupt: The sweep was interrupted (the arrays are cancelled first).
    """
    from hpt.sweep.running.worker import should_stop

    check_storage(spec.storage)
    executor = _executor(task.config, kind)
    for round_ in range(spec.n_trials + 1):
        jobs = _submit(executor, spec, task, n_jobs)
        array = str(jobs[0].job_id).split("_")[0]
        print(
            f"{who}: submitted {n_jobs} workers as {kind} job array {array}",
            file=sys.stderr,
            flush=True,
        )
        if detach:
            print(
                f"{who}: detached; follow it with: hpt summarize {spec.sweep_dir}"
                + (f"  (squeue -j {array}; scancel {array} to stop it)" if kind == "slurm" else ""),
                file=sys.stderr,
            )
            return
        _follow(jobs, kind)
        recovered = accounting.recover_stale(study, spec.grace_period, Path(spec.sweep_dir))
        reason = should_stop(study, spec)
        if reason:
            return
        ended = [j for j in jobs if not _succeeded(j)]
        print(
            f"{who}: {len(ended) or len(jobs)} worker job(s) ended before the budget was done"
            + (f"; re-queued trial(s) {recovered}" if recovered else "")
            + ("" if reason else "; submitting workers again"),
            file=sys.stderr,
        )
        if reason or round_ == spec.n_trials:
            return


def _submit(executor: Any, spec: WorkerSpec, task: HydraTask, n_jobs: int) -> list[Any]:
    """One job array of ``n_jobs`` workers, with Hydra's global state as it is now."""
    from hydra.core.singleton import Singleton

    state = Singleton.get_state()
    return executor.map_array(
        cluster_worker,
        [spec] * n_jobs,
        [task.hydra_context] * n_jobs,
        [task.task_function] * n_jobs,
        [task.config] * n_jobs,
        list(range(n_jobs)),
        [state] * n_jobs,
    )


def _follow(jobs: list[Any], kind: str) -> None:
    """Wait for the array's jobs to end; an interrupt cancels them (and waits for that)."""
    try:
        while not _all_finished(jobs, kind):
            time.sleep(1.0)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (hpt.errors.Terminated)
        for j in jobs:
            j.cancel(check=False)
        _wait_cancelled(jobs, kind)
        raise


def _succeeded(job: Any) -> bool:
    """The worker returned (submitit wrote its result): not cancelled, killed or timed out."""
    path = job.paths.result_pickle
    if not path.exists():
        return False
    try:
        return bool(job.result() >= 0)  # -1: told to stop (JobEnded), its trial released
    except Exception:
        return False


def _all_finished(jobs: list[Any], kind: str) -> bool:
    """Every job has a result, or has left the queue (a cancelled or killed job writes none,
    and without SLURM accounting submitit cannot tell its state)."""
    pending = [j for j in jobs if not j.paths.result_pickle.exists()]
    if not pending:
        return True
    if kind != "slurm":
        return all(_done(j) for j in pending)
    queued = _squeue(str(pending[0].job_id).split("_")[0])
    return queued is not None and not any(str(j.job_id) in queued for j in pending)


def _done(job: Any) -> bool:
    try:
        return bool(job.done())
    except Exception:  # the scheduler did not answer this time: ask again next second
        return False


def _squeue(array: str) -> set[str] | None:
    """The ids (``ARRAY_TASK``, and ``ARRAY_[a-b]`` while pending) still in SLURM's queue."""
    import subprocess

    try:
        out = subprocess.run(
            ["squeue", "-h", "-j", array, "-o", "%i"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    ids: set[str] = set()
    for line in out.split():
        if "[" in line:  # pending array tasks: ARRAY_[0-3] or ARRAY_[1,3]
            base, rng = line.rstrip("]").split("_[", 1)
            rng = rng.split("%", 1)[0]  # ARRAY_[0-3%2]: at most 2 at a time
            for part in rng.split(","):
                lo, _, hi = part.partition("-")
                ids.update(f"{base}_{i}" for i in range(int(lo), int(hi or lo) + 1))
        else:
            ids.add(line)
    return ids


def _wait_cancelled(jobs: list[Any], kind: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and not _all_finished(jobs, kind):
        time.sleep(0.5)
