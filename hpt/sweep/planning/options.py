"""The typed options of hpt's sweeper: Optuna's samplers and pruners as Hydra config groups,
the stop rules, and the sweeper's own settings. A module with no optuna (and no hpt.sweep)
import, so both the Hydra plugin (``hydra_plugins/hpt_sweeper``) and ``hpt.sweep`` can read
it without importing each other.
"""

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from hpt.config.ranges import AUTO_BOOL, BOOL, Num, OneOf, ruled

# Each setting's allowed range sits beside its field (``ruled``); ``hpt.sweep.planning.validate``
# checks them all before anything runs, in the same language as every other setting
# (``hpt.config.rules``).
SEED = Num(0, integer=True, optional=True, text="an integer >= 0 (or null)")
SECONDS = Num(0, lo_open=True, optional=True, text="> 0 seconds (or null)")
REDUCTION = Num(
    2, optional=True, text=">= 2"
)  # Optuna's halving pruners keep 1/reduction_factor per rung


# --- samplers (Optuna's own; seed them for reproducible searches) ---
# Only what hpt decides differently from Optuna is set here; every other argument is
# Optuna's own default (Optuna 5 tuned them, e.g. multivariate TPE), or what the user sets.
@dataclass
class TPESamplerConf:
    _target_: str = "optuna.samplers.TPESampler"
    seed: int | None = ruled(None, SEED)
    constant_liar: bool = True  # workers in flight do not all sample the same point


@dataclass
class RandomSamplerConf:
    _target_: str = "optuna.samplers.RandomSampler"
    seed: int | None = ruled(None, SEED)


@dataclass
class GridSamplerConf:
    _target_: str = "optuna.samplers.GridSampler"
    seed: int | None = ruled(None, SEED)  # the grid itself comes from the search space


@dataclass
class CmaEsSamplerConf:
    _target_: str = "optuna.samplers.CmaEsSampler"
    seed: int | None = ruled(None, SEED)
    warn_independent_sampling: bool = False  # a warning per categorical per trial otherwise


@dataclass
class GPSamplerConf:
    _target_: str = "optuna.samplers.GPSampler"
    seed: int | None = ruled(None, SEED)


@dataclass
class QMCSamplerConf:
    _target_: str = "optuna.samplers.QMCSampler"
    seed: int | None = ruled(None, SEED)
    warn_independent_sampling: bool = False


@dataclass
class NSGAIISamplerConf:
    _target_: str = "optuna.samplers.NSGAIISampler"
    seed: int | None = ruled(None, SEED)


@dataclass
class MOTPESamplerConf:
    # hydra-optuna-sweeper 1.2/1.3's ``motpe``: Optuna 4 removed MOTPESampler, whose work
    # TPESampler now does for several objectives; hpt.sweep.planning.samplers runs TPE in its place
    _target_: str = "optuna.samplers.MOTPESampler"
    seed: int | None = ruled(None, SEED)


@dataclass
class BruteForceSamplerConf:
    _target_: str = "optuna.samplers.BruteForceSampler"
    seed: int | None = ruled(None, SEED)


# --- pruners (Optuna's own) ---
@dataclass
class NopPrunerConf:
    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MedianPrunerConf:
    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 4
    n_warmup_steps: Any = "auto"  # epochs before a trial can be pruned (hpt.sweep.planning.pruning)
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
    min_resource: Any = "auto"  # epochs (hpt.sweep.planning.pruning derives it from trainer.epochs)
    reduction_factor: int = ruled(3, REDUCTION)
    min_early_stopping_rate: int = 0


@dataclass
class HyperbandPrunerConf:
    _target_: str = "optuna.pruners.HyperbandPruner"
    # epochs (hpt.sweep.planning.pruning derives both from trainer.epochs)
    min_resource: Any = "auto"
    max_resource: Any = "auto"
    reduction_factor: int = ruled(3, REDUCTION)


@dataclass
class WilcoxonPrunerConf:
    _target_: str = "optuna.pruners.WilcoxonPruner"
    p_threshold: float = 0.1
    n_startup_steps: int = 1


@dataclass
class StopConf:
    # stop after this many finished trials without a new best
    stagnation: int | None = ruled(
        None, Num(1, integer=True, optional=True, text="an integer >= 1 (or null)")
    )
    # stop once the objective reaches this value
    target: float | None = ruled(None, Num(optional=True, text="a finite number (or null)"))


@dataclass
class HptSweeperConf:
    _target_: str = "hydra_plugins.hpt_sweeper.hpt_sweeper.HptSweeper"
    _recursive_: bool = False  # sampler/pruner are built by hpt.sweep once the space is known
    defaults: list[Any] = field(
        default_factory=lambda: ["_self_", {"sampler": "tpe"}, {"pruner": "none"}]
    )
    # group hydra/sweeper/sampler: tpe, random, grid, cmaes, gp, qmc, nsgaii, bruteforce, motpe
    sampler: Any = MISSING
    # group hydra/sweeper/pruner: none, median, percentile, successive_halving, hyperband, wilcoxon
    pruner: Any = MISSING
    # "maximize" / "minimize", a list of them for multi-objective, or null: the run's objective.
    direction: Any = None
    study_name: str | None = None  # default: the search config's name, else "hpt"
    storage: str | None = None  # default: a journal file in the sweep dir; or postgresql://...
    # the study's total budget, across workers, hosts and resumes
    n_trials: int = ruled(20, Num(1, text=">= 1"))
    # asynchronous worker processes on this host
    n_jobs: int = ruled(1, Num(0, optional=True, text=">= 0 (0: one worker per GPU)"))
    per_gpu: int = ruled(1, Num(1, optional=True, text=">= 1"))  # workers sharing one GPU
    # stop the sweep once this share of finished trials failed
    max_failure_rate: float = ruled(0.5, Num(0, 1, optional=True, text="in [0, 1]"))
    # ...and at least this many failed (null: 3; 1 with max_failure_rate=0)
    min_failures: int | None = ruled(None, Num(0, optional=True, text=">= 0"))
    # seconds for the whole sweep (no new trials after it)
    timeout: float | None = ruled(None, SECONDS)
    # seconds per trial; a slower trial fails with kind timeout
    trial_timeout: float | None = ruled(None, SECONDS)
    params: dict[str, Any] | None = None
    search_space: Any = (
        None  # hydra-optuna-sweeper 1.1's form: refused with how to write it as params
    )
    conditional: dict[str, Any] | None = (
        None  # {"optimizer=sgd": {"optimizer.momentum": "interval(0.5, 0.99)"}}
    )
    custom_search_space: str | None = None  # "module.fn(cfg, trial) -> dict[str, Any]"
    enqueue: list[Any] = field(default_factory=list)  # known-good params to try first
    # switches are typed Any and ruled BOOL: a bool field would take 2 or "yes" as true
    dry_run: Any = ruled(False, BOOL)
    # with hydra/launcher=submitit_slurm: return once the workers are submitted
    detach: Any = ruled(False, BOOL)
    stop: StopConf = field(default_factory=StopConf)  # stop rules (single objective)
    # hpt's own task: train the chosen config on every training row into SWEEP/best/ at the end;
    # auto: when its trials were cross-validated (its own checkpoint is one fold's model)
    refit: Any = ruled("auto", AUTO_BOOL)
    # which trial the refit takes: best, or 1se (the baseline unless the best beats it by more
    # than one standard error; hpt.sweep.chosen.handed_over, BENCHMARKS.md "Tuning outcome")
    select: str = ruled("best", OneOf(("best", "1se")))
    # the base config (what a plain run with the same overrides trains) as a trial first;
    # null: on for hpt sweep, off for a user's app (the old plugin ran n_trials sampled points)
    baseline: Any = ruled(None, OneOf((True, False, None)))
    # a rerun into the same storage: "resume" runs up to n_trials in all, "extend" runs
    # n_trials more than had finished (hydra-optuna-sweeper's rerun with a kept storage)
    rerun: str = ruled("resume", OneOf(("resume", "extend")))
    # an earlier sweep dir or storage URL: its finished trials that fit this space seed the sampler
    warm_start: str | None = None
    # a recorded metric -> bound, e.g. {"model/n_params": "<=1e5"}: infeasible trials never win
    constraints: Any = None
    heartbeat_interval: float = ruled(5.0, Num(0, lo_open=True, optional=True, text="> 0 seconds"))
    # a RUNNING trial silent this long on another host is stale
    grace_period: float = ruled(60.0, Num(0, lo_open=True, optional=True, text="> 0 seconds"))


# A sampler's or pruner's schema by the ``_target_`` it builds: the chosen one's rules are
# checked whichever way it was chosen (``hydra/sweeper/sampler=gp`` or ``...sampler._target_=``).
OPTIONS: dict[str, type] = {
    c._target_: c
    for c in (
        TPESamplerConf,
        RandomSamplerConf,
        GridSamplerConf,
        CmaEsSamplerConf,
        GPSamplerConf,
        QMCSamplerConf,
        NSGAIISamplerConf,
        MOTPESamplerConf,
        BruteForceSamplerConf,
        NopPrunerConf,
        MedianPrunerConf,
        PercentilePrunerConf,
        SuccessiveHalvingPrunerConf,
        HyperbandPrunerConf,
        WilcoxonPrunerConf,
    )
}
