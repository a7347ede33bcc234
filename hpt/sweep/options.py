"""The typed options of hpt's sweeper: Optuna's samplers and pruners as Hydra config groups,
the stop rules, and the sweeper's own settings. A module with no optuna (and no hpt.sweep)
import, so both the Hydra plugin (``hydra_plugins/hpt_sweeper``) and ``hpt.sweep`` can read
it without importing each other.
"""

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING


# --- samplers (Optuna's own; seed them for reproducible searches) ---
# Only what hpt decides differently from Optuna is set here; every other argument is
# Optuna's own default (Optuna 5 tuned them, e.g. multivariate TPE), or what the user sets.
@dataclass
class TPESamplerConf:
    _target_: str = "optuna.samplers.TPESampler"
    seed: int | None = None
    constant_liar: bool = True  # workers in flight do not all sample the same point


@dataclass
class RandomSamplerConf:
    _target_: str = "optuna.samplers.RandomSampler"
    seed: int | None = None


@dataclass
class GridSamplerConf:
    _target_: str = "optuna.samplers.GridSampler"
    seed: int | None = None  # the grid itself comes from the search space


@dataclass
class CmaEsSamplerConf:
    _target_: str = "optuna.samplers.CmaEsSampler"
    seed: int | None = None
    warn_independent_sampling: bool = False  # a warning per categorical per trial otherwise


@dataclass
class GPSamplerConf:
    _target_: str = "optuna.samplers.GPSampler"
    seed: int | None = None


@dataclass
class QMCSamplerConf:
    _target_: str = "optuna.samplers.QMCSampler"
    seed: int | None = None
    warn_independent_sampling: bool = False


@dataclass
class NSGAIISamplerConf:
    _target_: str = "optuna.samplers.NSGAIISampler"
    seed: int | None = None


@dataclass
class BruteForceSamplerConf:
    _target_: str = "optuna.samplers.BruteForceSampler"
    seed: int | None = None


# --- pruners (Optuna's own) ---
@dataclass
class NopPrunerConf:
    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MedianPrunerConf:
    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 4
    n_warmup_steps: Any = "auto"  # epochs before a trial can be pruned (hpt.sweep.pruning)
    interval_steps: int = 1
    n_min_trials: int = 1


@dataclass
class PercentilePrunerConf:
    _target_: str = "optuna.pruners.PercentilePruner"
    percentile: float = 25.0
    n_startup_trials: int = 4
    n_warmup_steps: Any = "auto"
    interval_steps: int = 1
    n_min_trials: int = 1


@dataclass
class SuccessiveHalvingPrunerConf:
    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = "auto"  # epochs (hpt.sweep.pruning derives it from trainer.epochs)
    reduction_factor: int = 3
    min_early_stopping_rate: int = 0


@dataclass
class HyperbandPrunerConf:
    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: Any = "auto"  # epochs (hpt.sweep.pruning derives both from trainer.epochs)
    max_resource: Any = "auto"
    reduction_factor: int = 3


@dataclass
class WilcoxonPrunerConf:
    _target_: str = "optuna.pruners.WilcoxonPruner"
    p_threshold: float = 0.1
    n_startup_steps: int = 1


@dataclass
class StopConf:
    stagnation: int | None = None  # stop after this many finished trials without a new best
    target: float | None = None  # stop once the objective reaches this value


@dataclass
class HptSweeperConf:
    _target_: str = "hydra_plugins.hpt_sweeper.hpt_sweeper.HptSweeper"
    _recursive_: bool = False  # sampler/pruner are built by hpt.sweep once the space is known
    defaults: list[Any] = field(
        default_factory=lambda: ["_self_", {"sampler": "tpe"}, {"pruner": "none"}]
    )
    sampler: Any = MISSING  # group hydra/sweeper/sampler: tpe, random, grid, cmaes, gp, qmc, nsgaii, bruteforce
    pruner: Any = MISSING  # group hydra/sweeper/pruner: none, median, percentile, successive_halving, hyperband, wilcoxon
    # "maximize" / "minimize", a list of them for multi-objective, or null: the run's objective.
    direction: Any = None
    study_name: str | None = None  # default: the search config's name, else "hpt"
    storage: str | None = None  # default: a journal file in the sweep dir; or postgresql://...
    n_trials: int = 20  # the study's total budget, across workers, hosts and resumes
    n_jobs: int = 1  # asynchronous worker processes on this host
    per_gpu: int = 1  # workers sharing one GPU
    max_failure_rate: float = 0.5  # stop the sweep once this share of finished trials failed
    min_failures: int | None = (
        None  # ...and at least this many failed (null: 3 for hpt sweep, 0 for apps)
    )
    timeout: float | None = None  # seconds for the whole sweep (no new trials after it)
    trial_timeout: float | None = None  # seconds per trial; a slower trial fails with kind timeout
    params: dict[str, Any] | None = None
    search_space: Any = (
        None  # hydra-optuna-sweeper 1.1's form: refused with how to write it as params
    )
    conditional: dict[str, Any] | None = (
        None  # {"optimizer=sgd": {"optimizer.momentum": "interval(0.5, 0.99)"}}
    )
    custom_search_space: str | None = None  # "module.fn(cfg, trial) -> dict[str, Any]"
    enqueue: list[Any] = field(default_factory=list)  # known-good params to try first
    dry_run: bool = False
    detach: bool = (
        False  # with hydra/launcher=submitit_slurm: return once the workers are submitted
    )
    stop: StopConf = field(default_factory=StopConf)  # stop rules (single objective)
    # the base config (what a plain run with the same overrides trains) as a trial first
    baseline: bool = True
    # an earlier sweep dir or storage URL: its finished trials that fit this space seed the sampler
    warm_start: str | None = None
    # a recorded metric -> bound, e.g. {"model/n_params": "<=1e5"}: infeasible trials never win
    constraints: Any = None
    heartbeat_interval: float = 5.0
    grace_period: float = 60.0  # a RUNNING trial silent this long on another host is stale
