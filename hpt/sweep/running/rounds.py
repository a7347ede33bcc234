"""The sweep's workers, run under the live monitor: in this process (``n_jobs=1``), as
cluster jobs (``hpt.sweep.running.cluster``), or as spawned processes in rounds; when workers die,
their trials are re-queued and a new round runs until the budget is done."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hpt.errors import Terminated, UserError, mark_reported, sigterm_as_interrupt
from hpt.sweep.planning.plan import Plan, who
from hpt.sweep.running import accounting
from hpt.sweep.running.monitor import Monitor
from hpt.sweep.running.process import TaskRef, spawned_worker
from hpt.sweep.running.spec import HydraTask, WorkerSpec
from hpt.sweep.running.worker import run_worker, should_stop


def run_workers(
    study: Any,
    wspec: WorkerSpec,
    plan: Plan,
    task: HydraTask,
    sweep_dir: Path,
) -> dict[str, Any]:
    """Run the workers under the live monitor until they stop.

    Ctrl-C and SIGTERM end the sweep with the study consistent.

    Args:
        study: The Optuna study.
        wspec: What every worker needs.
        plan: The sweep to run.
        task: What Hydra gave the sweeper.
        sweep_dir: The sweep's folder.

    Returns:
        The monitor's last snapshot.

    Raises:
        KeyboardInterrupt: The sweep was interrupted (``Terminated`` for SIGTERM), after
            saying that rerunning the command resumes it.
    """
    monitor = Monitor(study, sweep_dir, plan.meta, plan.n_trials)
    monitor.start()
    interrupted: KeyboardInterrupt | None = None
    previous = sigterm_as_interrupt()
    try:
        _dispatch(study, wspec, plan, task)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (hpt.errors.Terminated)
        interrupted = exc
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(Exception):  # the record must not hide the sweep's own ending
            accounting.recover_stale(study, plan.settings.grace_period, sweep_dir)
            accounting.reconcile(study, sweep_dir)
        snap = monitor.stop()
    if interrupted is not None:
        ended = "terminated" if isinstance(interrupted, Terminated) else "interrupted"
        print(
            f"{who(plan.user_app)}: {ended}; "
            f"the study is consistent, rerun the same command to resume ({sweep_dir})",
            file=sys.stderr,
        )
        raise mark_reported(interrupted)  # said once: hpt sweep adds no second line
    return snap


def _dispatch(study: Any, wspec: WorkerSpec, plan: Plan, task: HydraTask) -> None:
    """The workers where the settings put them: cluster jobs, this process, or processes."""
    s = plan.settings
    n_jobs = worker_count(s.n_jobs, s.per_gpu, plan.budget)
    if plan.cluster is not None:  # hydra/launcher=submitit_slurm|submitit_local
        from hpt.sweep.running.cluster import run_cluster

        run_cluster(
            study,
            wspec,
            task,
            n_jobs,
            plan.cluster,
            detach=s.detach,
            who=who(plan.user_app),
        )
    elif n_jobs == 1:
        run_worker(wspec, task.hydra_context, task.task_function, task.config, 0)
    else:
        run_processes(study, wspec, task, n_jobs, s.per_gpu)


def worker_count(n_jobs: int, per_gpu: int, n_trials: int) -> int:
    """How many workers the sweep runs.

    Args:
        n_jobs: ``hydra.sweeper.n_jobs`` (0: fill the visible GPUs).
        per_gpu: ``hydra.sweeper.per_gpu``: workers on each visible GPU with ``n_jobs=0``.
        n_trials: This invocation's budget.

    Returns:
        ``n_jobs`` (at most ``n_trials``); for ``n_jobs=0``, ``per_gpu`` workers on each
        visible GPU (at least one).
    """
    if n_jobs > 0:  # never more workers than trials: a 1-trial sweep starts one
        return min(n_jobs, n_trials or n_jobs)
    return max(1, gpu_count() * per_gpu)  # n_jobs=0: fill the visible GPUs


def gpu_count() -> int:
    """The GPUs torch sees (0 without CUDA, or without torch).

    Returns:
        The number of visible CUDA devices.
    """
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:
        return 0


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_processes(study: Any, spec: WorkerSpec, task: HydraTask, n_jobs: int, per_gpu: int) -> None:
    """Spawned workers, in rounds, until the budget is done or the sweep stops.

    When workers die (a signal, the OOM killer), their trials are re-queued and a new round
    runs; every counted trial ends with a final state. A trial whose retry dies too counts
    as failed, so rounds end.

    Args:
        study: The Optuna study.
        spec: What every worker needs.
        task: What Hydra gave the sweeper.
        n_jobs: Worker processes per round.
        per_gpu: Workers meant to share one GPU.

    Raises:
        KeyboardInterrupt: Every worker was interrupted.
        UserError: Every worker of the first round died before running a trial.
    """
    gpus = gpu_count()
    if gpus and n_jobs > gpus * per_gpu:
        print(
            f"{who(spec.user_app)}: {n_jobs} workers on {gpus} GPU(s) exceeds per_gpu={per_gpu}; "
            "they will share",
            file=sys.stderr,
        )
    # On CPUs this process is worker 0 itself: it has imported torch and composed the config
    # already, so it starts trials at once while the others start (one process start fewer).
    here = not gpus and not spec.user_app
    spawned = n_jobs - 1 if here else n_jobs
    print(
        f"{who(spec.user_app)}: starting {spawned} worker process{'es' if spawned > 1 else ''}"
        + (" beside this one" if here else ""),
        file=sys.stderr,
        flush=True,
    )
    for round_ in range(spec.n_trials + 1):
        codes = spawn_round(spec, task, n_jobs, gpus, round_, here=here)
        died = sorted({c for c in codes if c not in (0, None)})
        if not died:
            return
        recovered = accounting.recover_stale(study, spec.grace_period, Path(spec.sweep_dir))
        reason = should_stop(study, spec)
        print(
            f"{who(spec.user_app)}: {len(codes) - codes.count(0)} worker(s) died (exit code "
            f"{', '.join(map(str, died))})"
            + (f"; re-queued trial(s) {recovered}" if recovered else "")
            + ("" if reason else "; starting workers again"),
            file=sys.stderr,
        )
        if reason:
            return


def spawn_round(
    spec: WorkerSpec, task: HydraTask, n_jobs: int, gpus: int, round_: int, *, here: bool = False
) -> list[int | None]:
    """One round of ``n_jobs`` workers, joined: spawned, or worker 0 in this process (``here``).

    Args:
        spec: What every worker needs.
        task: What Hydra gave the sweeper.
        n_jobs: Worker processes.
        gpus: Visible GPUs (the workers are spread over them).
        round_: The round's number (0: the first).
        here: Run worker 0 in this process (its exit code is 0: it returned).

    Returns:
        The workers' exit codes.

    Raises:
        KeyboardInterrupt: Every worker that failed was interrupted (exit code 130), or
            this process was.
        UserError: In the first round, every worker died before running a trial.
    """
    ctx = multiprocessing.get_context("spawn")
    started = [ctx.Value("b", 0) for _ in range(n_jobs)]
    procs = _start(spec, task, range(1 if here else 0, n_jobs), gpus, started)
    try:
        if here:
            _run_here(spec, task, n_jobs)
            started[0].value = 1
        for p in procs:
            p.join()
    except KeyboardInterrupt:
        _interrupt(procs)
        raise
    codes = ([0] if here else []) + [p.exitcode for p in procs]
    failed = [c for c in codes if c not in (0, None)]
    if failed and all(code == 130 for code in failed):
        raise KeyboardInterrupt
    if round_ == 0 and not any(flag.value for flag in started):
        raise UserError(
            f"every worker process died on start (exit code "
            f"{', '.join(map(str, sorted(set(failed))))}) "
            "before running a trial: with n_jobs > 1 the workers re-import the script, so it must "
            'call its @hydra.main function under `if __name__ == "__main__":`; run with '
            "hydra.sweeper.n_jobs=1 to see the error"
        )
    return codes


def _run_here(spec: WorkerSpec, task: HydraTask, n_jobs: int) -> None:
    """Worker 0 in this process, with its share of the CPU cores."""
    from hpt.training.precision import share_cores

    previous = share_cores(max(1, (os.cpu_count() or 1) // n_jobs))
    try:
        run_worker(spec, task.hydra_context, task.task_function, task.config, 0)
    finally:
        share_cores(previous)


def _start(
    spec: WorkerSpec, task: HydraTask, workers: range, gpus: int, started: list[Any]
) -> list[Any]:
    """The worker processes started, each with its share of the CPU cores and one GPU."""
    threads = max(1, (os.cpu_count() or 1) // workers.stop)  # no oversubscription of cores
    ctx = multiprocessing.get_context("spawn")
    procs = []
    for i in workers:
        env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        if gpus:
            visible = os.environ.get("CUDA_VISIBLE_DEVICES")
            ids = visible.split(",") if visible else [str(g) for g in range(gpus)]
            env["CUDA_VISIBLE_DEVICES"] = ids[i % len(ids)]
        with _env(env), _signals_held():
            p = ctx.Process(
                target=spawned_worker,
                args=(
                    spec,
                    task.hydra_context,
                    TaskRef.of(task.task_function),
                    task.config,
                    i,
                    started[i],
                    os.getpid(),
                ),
                name=f"hpt-worker-{i}",
            )
            p.start()
        procs.append(p)
    return procs


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM blocked while a worker is spawned. The child inherits the block and
    lifts it in ``spawned_worker``, where an interrupt ends it quietly (exit 130); one that
    came while it was still importing torch would otherwise print a traceback from
    multiprocessing's start-up. Here, a signal that came meanwhile is delivered on exit."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _interrupt(procs: list[Any]) -> None:
    """Pass an interrupt on to the workers and wait for them (30 s), then end them."""
    # The terminal sent SIGINT to them too; a `kill -INT` of this process did not.
    for p in procs:
        if p.is_alive() and p.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGINT)
    deadline = time.time() + 30
    for p in procs:
        p.join(timeout=max(0.1, deadline - time.time()))
        if p.is_alive():
            p.terminate()
