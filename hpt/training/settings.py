"""The training loop's plain settings (``LoopSettings``), resolved from a run's config: where
it computes (``Placement``), what selects the best epoch, and the rest of ``trainer.*`` and
``regularization.*`` the loop reads. ``hpt.build`` calls it once per run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig

from hpt.errors import UserError
from hpt.objectives import Objective
from hpt.training.loop_types import LoopSettings


@dataclass(frozen=True)
class Placement:
    """Where and how a run computes: resolved from ``trainer.*`` and the data's size."""

    device: torch.device
    precision: str
    channels_last: bool
    data_on_device: bool


def loop_settings(
    cfg: DictConfig,
    placement: Placement,
    problem: str,
    first: Objective,
    target_scale: tuple[list[float], list[float]] | None,
) -> LoopSettings:
    """The training loop's plain settings for a run.

    Args:
        cfg: The composed config (``trainer`` and ``regularization`` are read).
        placement: The resolved device, precision and memory layout.
        problem: classification, binary or regression.
        first: The first objective: it selects the best epoch.
        target_scale: A standardised regression target's ``(mean, std)``, else None.

    Returns:
        The loop's settings.

    Raises:
        UserError: The objective is not a validation metric of this problem.
    """
    t, r = cfg.trainer, cfg.regularization
    aug = r.augment
    augment = {
        "translate": int(aug.translate),
        "hflip": bool(aug.hflip),
        "noise_std": float(aug.noise_std),
    }
    settings = LoopSettings(
        epochs=int(t.epochs),
        batch_size=int(t.batch_size),
        eval_batch_size=int(t.eval_batch_size),
        precision=placement.precision,
        device=placement.device,
        problem=problem,
        objective=selection_metric(first.name),
        maximize=first.direction == "maximize",
        seed=int(t.seed),
        grad_clip_norm=r.grad_clip_norm,
        l1=float(r.l1),
        augment=augment if any(augment.values()) else {},
        patience=r.early_stopping.patience,
        min_delta=float(r.early_stopping.min_delta),
        channels_last=placement.channels_last,
        data_on_device=placement.data_on_device,
        num_workers=int(t.num_workers),
        target_scale=target_scale,
        refit=bool(t.get("refit", False)),
    )
    if settings.objective not in _known_metrics(problem):
        raise UserError(
            f"objective.metric={settings.objective!r} is not a validation metric of a {problem} "
            f"run: use one of {', '.join(_known_metrics(problem))}"
        )
    return settings


def selection_metric(name: str) -> str:
    """The validation metric that selects the best epoch for a first objective ``name``.

    ``compress/val_acc`` (the compressed model's accuracy, known only after training) selects
    epochs by ``val/acc``: the float model's best epoch is the one that gets compressed.
    """
    return f"val/{name[len('compress/val_') :]}" if name.startswith("compress/val_") else name


def _known_metrics(problem: str) -> tuple[str, ...]:
    base = ("val/loss", "train/loss")
    return (
        (*base, "val/acc")
        if problem in ("classification", "binary")
        else (*base, "val/mse", "val/rmse", "val/mae", "val/r2")
    )
