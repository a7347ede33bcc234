"""What a sweep worker is given: plain, picklable settings, and the Hydra task it runs.

Its own module so the worker loop (``hpt.sweep.running.worker``) and one trial's lifecycle
(``hpt.sweep.running.trial``) both take it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hpt.sweep.planning.space import SearchSpace

if TYPE_CHECKING:
    from hydra.types import HydraContext, TaskFunction
    from omegaconf import DictConfig


@dataclass(frozen=True)
class HydraTask:
    """What Hydra gave the sweeper, and every trial is run with: they travel together."""

    hydra_context: HydraContext
    task_function: TaskFunction
    config: DictConfig  # the sweep's composed config; each trial's is composed from it


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
    stagnation: int | None = None  # stop rule: finished trials without a new best
    target: float | None = None  # stop rule: the objective reached this value
    constraints: dict[str, str] = field(default_factory=dict)  # metric -> "<=1e5" / ">=0.9"
