"""The small protocol a kind of run (supervised, GAN, VAE, or a user's own) supplies to
``hpt.train.run``, hpt's one run flow, and how the config chooses it: ``task._target_``.

The flow owns what every run shares (loggers, the run record, the build-error record, the
progress display, the guard that records a failure, result.json); a ``Task`` owns what
differs: its params, objectives, objects, how it fits, and what it keeps of the best epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from omegaconf import DictConfig

from hpt.errors import UserError

if TYPE_CHECKING:
    import torch

    from hpt.data import Dataset
    from hpt.objectives import Objective
    from hpt.record import Outcome, RunRecord
    from hpt.training.loop_types import FitResult, Metrics
    from hpt.training.progress import RunProgress
    from hpt.training.reporter import Reporter

# conf/task/supervised.yaml names it too; a config without a task node (a user's own root
# config composed before the task group existed) runs supervised.
DEFAULT = "hpt.supervised.Supervised"


class Settings(Protocol):
    """What the flow reads of a run's plain settings (``LoopSettings``, ``GenSettings``)."""

    @property
    def seed(self) -> int: ...
    @property
    def device(self) -> torch.device: ...
    @property
    def precision(self) -> str: ...
    @property
    def epochs(self) -> int: ...
    @property
    def batch_size(self) -> int: ...


class Built(Protocol):
    """What the flow reads of a run's built objects (``build.Run``, ``GenerativeRun``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def data(self) -> Dataset: ...
    @property
    def objectives(self) -> list[Objective]: ...
    @property
    def n_params(self) -> int: ...


@dataclass
class Hooks:
    """What the flow hands a task's ``fit``: where the run lives and what to call as it goes."""

    run_dir: Path
    reporter: Reporter  # the sweep's pruner (or a no-op outside a sweep)
    on_epoch: Callable[[Metrics], None]  # records, logs and shows one epoch's metrics
    on_step: Callable[[int], None]  # moves the progress bar
    resume_from: Mapping[str, Any] | None = None  # ``last.pt`` of ``resume=RUN`` (resumable)
    quiet: bool = False


class Task(Protocol):
    """A kind of run. One instance serves one run; it keeps no state between its calls."""

    progress: type[RunProgress]  # the display, with the metrics worth a glance per epoch
    resumable: bool  # whether ``resume=RUN`` continues it (it writes checkpoints/last.pt)

    def params(self, cfg: DictConfig, choices: dict[str, Any] | None) -> dict[str, Any]:
        """The flattened hyperparameters recorded for the run."""
        ...

    def objectives(self, cfg: DictConfig) -> list[Objective]:
        """The run's objectives (raises on a bad ``objective.*``)."""
        ...

    def build(self, cfg: DictConfig) -> Built:
        """The run's objects (raises ``UserError`` on a setting that cannot be built)."""
        ...

    def info(self, cfg: DictConfig, built: Any) -> dict[str, Any]:
        """Facts for result.json known once built; may print what is about to run."""
        ...

    def fit(
        self, cfg: DictConfig, built: Any, hooks: Hooks, extra: dict[str, Any]
    ) -> tuple[FitResult, Built]:
        """Train; returns the result and the objects whose best weights the run keeps."""
        ...

    def images(self, run_dir: Path, epoch: int) -> list[tuple[str, Path]]:
        """Image files an epoch wrote, as (tag, path), for the loggers."""
        ...

    def keep_best(
        self,
        cfg: DictConfig,
        built: Any,
        fitted: FitResult,
        record: RunRecord,
        extra: dict[str, Any],
        cwd: str | None,
    ) -> Outcome | None:
        """Save and test the best weights; an ``Outcome`` when that stage fails."""
        ...

    def derived(self, fitted: FitResult, built: Any, extra: dict[str, Any]) -> dict[str, float]:
        """Values computed after training (``n_params``, ``time_to_best``, ...)."""
        ...


def task_of(cfg: DictConfig) -> Task:
    """The run's kind, the class named by ``task._target_`` (``hpt.supervised.Supervised``).

    Args:
        cfg: The composed config.

    Returns:
        A new instance of that class.

    Raises:
        UserError: ``task._target_`` cannot be imported.
    """
    from hpt.targets import locate

    node = cfg.get("task")
    target = str(node.get("_target_") or DEFAULT) if isinstance(node, DictConfig) else DEFAULT
    cls = locate(target, "task._target_")
    if not isinstance(cls, type):
        raise UserError(f"task._target_={target} is not a class (the hpt.task.Task protocol)")
    task: Task = cls()
    return task


def safe_objectives(task: Task, cfg: DictConfig) -> list[Objective]:
    """The objectives, for the record of a run that could not be built (none if they are bad)."""
    try:
        return task.objectives(cfg)
    except Exception:
        return []
