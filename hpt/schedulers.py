"""Learning-rate schedules. Each config is a partial of one of these factories; the builder
completes it with the run's length, so YAML never has to repeat epochs or steps per epoch.

The builder passes every factory ``steps_per_epoch``, ``epochs`` and ``maximize`` (the
objective's direction), keyword-only; each uses what it needs.

Every factory returns a ``Schedule``: the torch scheduler and when the loop steps it
(after every optimizer step, after every epoch, or after every epoch with the val metric).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from torch.optim import Optimizer, lr_scheduler

Interval = Literal["step", "epoch", "metric"]


@dataclass
class Schedule:
    scheduler: lr_scheduler.LRScheduler | lr_scheduler.ReduceLROnPlateau | None
    interval: Interval


def constant(
    optimizer: Optimizer, *, steps_per_epoch: int, epochs: int, maximize: bool = False
) -> Schedule:
    """The learning rate unchanged throughout (``scheduler=none``)."""
    return Schedule(None, "epoch")


def step(
    optimizer: Optimizer,
    *,
    steps_per_epoch: int,
    epochs: int,
    maximize: bool = False,
    step_size: int = 2,
    gamma: float = 0.5,
) -> Schedule:
    """The learning rate times ``gamma`` every ``step_size`` epochs."""
    return Schedule(lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma), "epoch")


def multistep(
    optimizer: Optimizer,
    *,
    steps_per_epoch: int,
    epochs: int,
    maximize: bool = False,
    milestones: Sequence[int] = (3, 6),
    gamma: float = 0.1,
) -> Schedule:
    """The learning rate times ``gamma`` at each epoch in ``milestones``."""
    return Schedule(
        lr_scheduler.MultiStepLR(optimizer, milestones=list(milestones), gamma=gamma), "epoch"
    )


def exponential(
    optimizer: Optimizer,
    *,
    steps_per_epoch: int,
    epochs: int,
    maximize: bool = False,
    gamma: float = 0.9,
) -> Schedule:
    """The learning rate times ``gamma`` every epoch."""
    return Schedule(lr_scheduler.ExponentialLR(optimizer, gamma=gamma), "epoch")


def cosine(
    optimizer: Optimizer,
    *,
    steps_per_epoch: int,
    epochs: int,
    maximize: bool = False,
    eta_min: float = 0.0,
) -> Schedule:
    """Cosine decay to ``eta_min`` over the whole run, stepped every optimizer step."""
    total = max(1, steps_per_epoch * epochs)
    return Schedule(lr_scheduler.CosineAnnealingLR(optimizer, T_max=total, eta_min=eta_min), "step")


def plateau(
    optimizer: Optimizer,
    *,
    steps_per_epoch: int,
    epochs: int,
    maximize: bool = False,
    **options: Any,
) -> Schedule:
    """Cut the lr by ``factor`` when the objective stalls, checked once per epoch.

    Args:
        optimizer: The optimizer whose lr is cut.
        steps_per_epoch: Unused (every schedule factory takes it).
        epochs: Unused (every schedule factory takes it).
        maximize: The objective's direction: ``mode`` when ``options`` leave it unset.
        **options: ``ReduceLROnPlateau``'s own (conf/scheduler/plateau.yaml: ``factor``,
            ``patience``, ``threshold``, ``min_lr``, ``mode``); hpt's defaults are a faster
            ``factor`` 0.5 and ``patience`` 1 than torch's, for short runs.

    Returns:
        The schedule, stepped on the selection metric after each epoch.
    """
    options = {"factor": 0.5, "patience": 1, **options}
    if options.get("mode") is None:
        options["mode"] = "max" if maximize else "min"
    return Schedule(lr_scheduler.ReduceLROnPlateau(optimizer, **options), "metric")


def onecycle(
    optimizer: Optimizer,
    *,
    steps_per_epoch: int,
    epochs: int,
    maximize: bool = False,
    max_lr_factor: float = 10.0,
    pct_start: float = 0.25,
    anneal_strategy: Literal["cos", "linear"] = "cos",
) -> Schedule:
    """Smith's one-cycle policy: up to ``lr * max_lr_factor`` over ``pct_start`` of the run,
    then annealed, stepped every optimizer step."""
    max_lr = [group["lr"] * max_lr_factor for group in optimizer.param_groups]
    sched = lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=max_lr,
        total_steps=max(2, steps_per_epoch * epochs),
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
    )
    return Schedule(sched, "step")


def warmup_decay(
    optimizer: Optimizer,
    *,
    steps_per_epoch: int,
    epochs: int,
    maximize: bool = False,
    warmup_fraction: float = 0.1,
    final_lr_factor: float = 0.0,
    decay: Literal["cosine", "linear"] = "cosine",
) -> Schedule:
    """Linear warmup from 0 to lr, then cosine or linear decay to ``final_lr_factor * lr``."""
    total = max(1, steps_per_epoch * epochs)
    warmup = int(total * warmup_fraction)

    def factor(i: int) -> float:
        if i < warmup:
            return (i + 1) / warmup
        progress = min(1.0, (i - warmup) / max(1, total - warmup))
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if decay == "cosine" else 1 - progress
        return final_lr_factor + (1 - final_lr_factor) * shape

    return Schedule(lr_scheduler.LambdaLR(optimizer, factor), "step")
