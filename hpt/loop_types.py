"""What the training loop takes and gives: its plain settings and a fit's result.

Importable from ``hpt.loop`` as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

Metrics = dict[str, float]


@dataclass
class LoopSettings:
    """The loop's settings, resolved from a run's config (``hpt.build.loop_settings``)."""

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
