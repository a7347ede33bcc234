"""The pruner: built from its config block, its settings fitted to the trials (derived from
``trainer.epochs`` where left at ``auto``).

hpt's pruner options leave the settings that depend on a trial's length at ``auto``
(Hyperband's and successive halving's ``min_resource`` and Hyperband's ``max_resource``, the
median and percentile pruners' ``n_warmup_steps``). For hpt's own task the length is known,
``trainer.epochs``, and the values come from the replay benchmark (BENCHMARKS.md,
``benchmarks/replay.py``). A user app's trial length is unknown to the sweeper, so there
``auto`` means what it meant before: Optuna's own inference for ``max_resource`` and
successive halving's ``min_resource``, one epoch for the rest. A value the user sets is
always kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

AUTO = "auto"


def first_rung(epochs: int) -> int:
    """The fewest epochs a trial trains before a pruner may stop it, for ``epochs``-long trials.

    Chosen from the replay benchmark (BENCHMARKS.md), TPE with Hyperband over 20 seeds: for
    3-epoch trials, judging after epoch 2 reached random search's best in 50% of its time
    against 74% judging after epoch 1 (an epoch-1 ranking of a short trial drops slow starters
    that finish well); for 9-epoch trials epoch 1 was the better first look (32% against 44%).
    Between 4 and 8 epochs nothing was measured, and the cautious rung 2 is kept; 1- and
    2-epoch trials can only be judged after epoch 1.
    """
    return 2 if 3 <= epochs < 9 else 1


def fit_to_epochs(pruner: Mapping[str, Any] | None, epochs: int | None) -> dict[str, Any] | None:
    """The pruner block with its ``auto`` settings resolved.

    Args:
        pruner: the ``hydra.sweeper.pruner`` block (``None``: no pruner).
        epochs: the trials' length in epochs, or ``None`` when it is not known (a user app).

    Returns:
        A new block, or ``None`` when there is no pruner.
    """
    if pruner is None:
        return None
    conf = dict(pruner)
    target = str(conf.get("_target_", ""))
    rung = first_rung(epochs) if epochs else 1
    if target.endswith("HyperbandPruner"):
        if conf.get("min_resource") == AUTO:
            conf["min_resource"] = rung
        if conf.get("max_resource") == AUTO and epochs:
            conf["max_resource"] = epochs
    elif target.endswith("SuccessiveHalvingPruner") and conf.get("min_resource") == AUTO:
        if epochs:  # else Optuna's own "auto" (from the first trials' steps)
            conf["min_resource"] = rung
    elif (
        target.endswith(("MedianPruner", "PercentilePruner")) and conf.get("n_warmup_steps") == AUTO
    ):
        conf["n_warmup_steps"] = rung
    return conf


def trial_epochs(config: Any, space: Any) -> int | None:
    """The longest a trial of hpt's task trains: ``trainer.epochs``, or the top of its range
    when it is searched; ``None`` when the config has no plain epoch count."""
    from omegaconf import OmegaConf

    for dim in space.dims:
        if dim.name == "trainer.epochs":
            dist = dim.dist
            values = getattr(dist, "choices", None) or [getattr(dist, "high", None)]
            numbers = [int(v) for v in values if isinstance(v, int | float)]
            return max(numbers) if numbers else None
    epochs = OmegaConf.select(config, "trainer.epochs", default=None)
    return int(epochs) if isinstance(epochs, int) and epochs > 0 else None


def build_pruner(conf: Any) -> optuna.pruners.BasePruner:
    """Optuna's pruner from its config block (``None``: no pruning).

    Args:
        conf: ``hydra.sweeper.pruner`` as plain data, its ``auto`` settings fitted already.

    Returns:
        The pruner every worker's study judges its trials with.
    """
    import optuna

    from hpt.sweep.planning.samplers import instantiate

    return optuna.pruners.NopPruner() if conf is None else instantiate(dict(conf), "pruner")
