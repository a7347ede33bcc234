"""What the training loop takes and gives: its plain settings, what it fits, what it tells
the outside as it goes, and a fit's result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from torch import nn

    from hpt.data import Dataset
    from hpt.schedulers import Schedule
    from hpt.training.reporter import Reporter

Metrics = dict[str, float]


@dataclass(frozen=True)
class EpochPlan:
    """When the epoch driver stops and which epoch it keeps."""

    epochs: int  # the last epoch
    objective: str  # the metric that selects the best epoch (validation only)
    maximize: bool
    patience: int | None = None  # stop after this many epochs without an improvement
    min_delta: float = 0.0  # the least change that counts as an improvement
    # Values of the objective within ``tie`` of each other are a tie, broken by ``tie_break``
    # (minimized): an accuracy moves in steps of one validation row, so two epochs often
    # share it while one of them fits the rows far better (``hpt.selection.tie_rule``).
    tie: float = 0.0
    tie_break: str | None = None
    keep_last: bool = False  # a refit: no selection, the last epoch is the model


@dataclass
class Callbacks:
    """What the loop tells the outside as it goes; each one optional."""

    reporter: Reporter | None = None  # told each epoch's objective; it may prune the run
    on_epoch: Callable[[Metrics], None] | None = None  # each epoch's metrics (jsonl, progress)
    on_step: Callable[[int], None] | None = None  # the step count after each training step


@dataclass
class LoopSettings:
    """The loop's settings, resolved from a run's config
    (``hpt.training.settings.loop_settings``)."""

    epochs: int
    batch_size: int
    eval_batch_size: int
    precision: str
    device: torch.device
    problem: str  # classification | binary | regression
    objective: str  # e.g. "val/acc"
    maximize: bool
    seed: int = 0
    grad_clip_norm: float | None = None
    l1: float = 0.0
    augment: Mapping[str, Any] = field(default_factory=dict)
    patience: int | None = None
    min_delta: float = 0.0
    channels_last: bool = False
    data_on_device: bool = True
    num_workers: int = 0
    # regression on a standardised target (data.target_scaling): its (mean, std), so that
    # val/mse and val/mae are in the target's own units; the loss stays the training loss
    target_scale: tuple[list[float], list[float]] | None = None
    refit: bool = False  # trainer.refit: every epoch runs and the last one is kept

    @property
    def plan(self) -> EpochPlan:
        """The epoch driver's stopping and selection rule."""
        if self.refit:
            return EpochPlan(self.epochs, self.objective, self.maximize, keep_last=True)
        return EpochPlan(self.epochs, self.objective, self.maximize, self.patience, self.min_delta)


@dataclass
class Parts:
    """What ``hpt.training.loop.fit`` trains: a model, how it is optimised, on what, with which
    settings.

    ``hpt.build.Run`` is one, with what the rest of a run needs besides.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    data: Dataset
    loss_fn: nn.Module
    settings: LoopSettings


@dataclass
class FitResult:
    """A fit's outcome: its status, every epoch's metrics and the best epoch's weights."""

    status: str  # COMPLETE | PRUNED | FAIL
    history: list[Metrics]
    best: Metrics | None
    best_state: dict[str, torch.Tensor] | None
    error: str | None = None
    error_kind: str | None = None
    stopped_early: bool = False
