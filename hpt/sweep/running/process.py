"""A spawned worker process: its entry point, its signal handling, and how the task function
crosses the process boundary."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Any

from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from hpt.sweep.running.spec import WorkerSpec
from hpt.sweep.running.worker import run_worker


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
        """What a spawned worker is given for a task function.

        Args:
            fn: The task function.

        Returns:
            The function itself when pickle carries it, else a reference to it by name.
        """
        import pickle

        try:
            pickle.dumps(fn)
            return fn
        except Exception:
            return cls(fn.__module__, fn.__qualname__)

    def resolve(self) -> TaskFunction:
        """The task function, looked up again in the worker process.

        Returns:
            The function, unwrapped from Hydra's decorator.
        """
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
    started: Any = None,
    parent: int = 0,
) -> None:
    """Entry point of a worker process (multiprocessing spawn).

    Hydra's global state (resolvers, ConfigStore, plugins, the job's name) is rebuilt here
    rather than pickled: its resolvers are closures that the standard pickler cannot carry.
    ``started`` (a shared flag) tells the sweep that this process got past its start-up: a
    worker that dies before it (an unguarded script, a broken import) is reported as such.

    Args:
        spec: What every worker needs.
        hydra_context: Hydra's context, to run each trial's job.
        task_function: The task every trial runs, or a reference to it (``TaskRef``).
        config: The run's composed config.
        worker: The worker's index.
        started: A shared flag set once the process got past its start-up.
        parent: The sweep's pid as it gave it (0: the parent now, init if the sweep died).

    Raises:
        SystemExit: 130 when the worker was interrupted.
    """
    from hydra.core.plugins import Plugins
    from hydra.core.utils import JobRuntime, setup_globals

    from hpt.config.schema import register

    if started is not None:
        started.value = 1
    setup_globals()
    # Trials composed here read the app's name from JobRuntime (else "UNKNOWN_NAME").
    JobRuntime.instance().set("name", str(config.hydra.job.name))
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
        # the sweep spawned this process with Ctrl-C held (hpt.sweep.running.rounds): one that
        # came during its start-up is delivered here, where it ends the worker quietly
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        run_worker(
            spec, hydra_context, task_function, config, worker, parent=parent or os.getppid()
        )
    except KeyboardInterrupt:
        raise SystemExit(130) from None
