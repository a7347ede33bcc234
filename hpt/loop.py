"""The training loop: one readable function, plain arguments, no config objects.

Per step: slice a batch, augment on the device, forward under autocast, backward, clip,
step. Losses accumulate on the device; the host reads them once per epoch, so there is
no per-step synchronisation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpt.data import Dataset, Split, augment, loader_batches, tensor_batches
from hpt.precision import autocast, grad_scaler
from hpt.reporter import NullReporter, Reporter
from hpt.resume import LastCheckpoint, Progress
from hpt.schedulers import Schedule

Metrics = dict[str, float]


@dataclass
class LoopSettings:
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
    status: str  # COMPLETE | PRUNED | FAIL
    history: list[Metrics]
    best: Metrics | None
    best_state: dict[str, torch.Tensor] | None
    error: str | None = None
    error_kind: str | None = None
    stopped_early: bool = False


def batches(
    split: Split, batch_size: int, s: LoopSettings, *, train: bool, gen: torch.Generator | None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    if s.data_on_device:
        return tensor_batches(split, batch_size, shuffle=train, generator=gen, drop_last=train)
    return loader_batches(
        split, batch_size, shuffle=train, device=s.device, num_workers=s.num_workers, seed=s.seed
    )


def _prepare(x: torch.Tensor, s: LoopSettings) -> torch.Tensor:
    return (
        x.contiguous(memory_format=torch.channels_last) if s.channels_last and x.dim() == 4 else x
    )


@torch.no_grad()
def evaluate(
    model: nn.Module, split: Split, loss_fn: nn.Module, s: LoopSettings, prefix: str
) -> Metrics:
    """Loss and task metric over a split; sums stay on the device until the end."""
    model.eval()
    sums = torch.zeros(4, device=s.device)  # loss, correct, |err|, err^2
    target_std = (  # a standardised regression target: errors are reported in its units
        torch.tensor(s.target_scale[1], device=s.device)
        if s.target_scale is not None and s.problem == "regression"
        else None
    )
    for x, y in batches(split, s.eval_batch_size, s, train=False, gen=None):
        with autocast(s.precision, s.device):
            out = model(_prepare(x, s))
        out = out.float()
        sums[0] += loss_fn(out, y) * len(y)
        if s.problem == "classification":
            sums[1] += (out.argmax(1) == y).sum()
        elif s.problem == "binary":
            sums[1] += ((out > 0).float() == y).sum()
        else:
            err = out - y if target_std is None else (out - y) * target_std
            sums[2] += err.abs().sum()
            sums[3] += (err**2).sum()
    model.train()
    n = len(split)
    loss, correct, abs_err, sq_err = sums.tolist()  # the one host sync of the evaluation
    metrics = {f"{prefix}/loss": loss / n}
    if s.problem == "regression":
        # The loss may be L1 or SmoothL1: report MSE and MAE whatever it is.
        metrics[f"{prefix}/mse"] = sq_err / n
        metrics[f"{prefix}/mae"] = abs_err / n
    else:
        metrics[f"{prefix}/acc"] = correct / n
    return metrics


def unwrap(model: nn.Module) -> nn.Module:
    """The module under ``torch.compile``, whose state_dict keys carry no ``_orig_mod.`` prefix."""
    inner = getattr(model, "_orig_mod", model)
    return inner if isinstance(inner, nn.Module) else model


class Update:
    """One optimizer's step: forward under autocast, scaled backward, clip, step, schedule.

    Every loop in hpt (supervised, lr-find, GAN, VAE, compression fine-tuning) updates its
    weights through this. ``step`` returns the detached loss and never reads it on the host.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        precision: str,
        device: torch.device,
        *,
        grad_clip_norm: float | None = None,
        schedule: Schedule | None = None,
    ) -> None:
        self.optimizer, self.precision, self.device = optimizer, precision, device
        self.scaler = grad_scaler(precision, device)  # a no-op unless fp16; one per optimizer
        self.grad_clip_norm = grad_clip_norm
        self.params = [p for group in optimizer.param_groups for p in group["params"]]
        # Schedules of interval "step" move after every update; the others once per epoch.
        self.scheduler = schedule.scheduler if schedule and schedule.interval == "step" else None

    def step(self, loss_of: Callable[..., torch.Tensor], *args: Any) -> torch.Tensor:
        """Update on the loss ``loss_of(*args)``, computed under autocast; returns it detached."""
        with autocast(self.precision, self.device):
            loss = loss_of(*args)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.grad_clip_norm:
            self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(self.params, self.grad_clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        return loss.detach()


EpochFn = Callable[[int], Metrics]


def _improved(value: float, best: float | None, maximize: bool, min_delta: float) -> bool:
    if best is None:
        return True
    return value > best + min_delta if maximize else value < best - min_delta


def run_epochs(
    model: nn.Module,
    epoch_fn: EpochFn,
    epochs: int,
    objective: str,
    maximize: bool,
    reporter: Reporter | None = None,
    on_epoch: Callable[[Metrics], None] | None = None,
    *,
    patience: int | None = None,
    min_delta: float = 0.0,
    checkpoint: LastCheckpoint | None = None,
    start: Progress | None = None,
) -> FitResult:
    """The epoch driver: ``epoch_fn(epoch)`` trains one epoch and returns its validation metrics.

    Around it: timing, the per-epoch hook ``on_epoch`` (the metrics.jsonl row, progress), the
    non-finite check, best-epoch selection on ``objective`` (validation only), the pruning
    report and early stopping after ``patience`` epochs without an improvement of ``min_delta``.
    """
    reporter = reporter or NullReporter()
    history: list[Metrics] = []
    best: Metrics | None = None
    best_value: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    if start is not None:  # resumed (hpt.resume): continue after the last saved epoch
        history, best, best_value = start.history, start.best, start.best_value
        best_state, stale = start.best_state, start.stale
        for m in history:  # a retried sweep trial reports the epochs it carries over
            reporter.report(int(m["epoch"]), m[objective], m)
    for epoch in range(len(history) + 1, epochs + 1):
        t0 = time.perf_counter()
        metrics: Metrics = {"epoch": epoch, **epoch_fn(epoch)}
        metrics["time/epoch_s"] = time.perf_counter() - t0
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
        bad = [k for k, v in metrics.items() if "loss" in k and not math.isfinite(v)]
        if bad:
            error = f"non-finite loss at epoch {epoch} ({bad[0]}={metrics[bad[0]]})"
            return FitResult("FAIL", history, best, best_state, error, "nan")
        # select, prune, stop
        value = metrics[objective]
        if math.isfinite(value) and _improved(value, best_value, maximize, min_delta):
            best_value, best, stale = value, dict(metrics), 0
            best_state = {k: v.detach().clone() for k, v in unwrap(model).state_dict().items()}
        else:
            stale += 1
        if checkpoint is not None:  # checkpoints/last.pt, for hpt train --resume
            checkpoint.save(Progress(epoch, history, best, best_value, best_state, stale))
        if reporter.report(epoch, value, metrics):
            return FitResult("PRUNED", history, best, best_state)
        if patience is not None and stale >= patience:
            return FitResult("COMPLETE", history, best, best_state, stopped_early=True)
    return FitResult("COMPLETE", history, best, best_state)


def batch_loss(
    model: nn.Module,
    loss_fn: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    s: LoopSettings,
    weights: list[torch.Tensor],
) -> torch.Tensor:
    """The supervised training loss of one batch, with the L1 penalty on ``weights``."""
    loss = loss_fn(model(_prepare(x, s)).float(), y)
    if weights:
        loss = loss + s.l1 * sum(w.abs().sum() for w in weights)
    return loss


def l1_weights(model: nn.Module, l1: float) -> list[torch.Tensor]:
    """The weights the L1 penalty applies to (matrices and kernels, not biases or norms)."""
    return [p for p in model.parameters() if p.dim() > 1] if l1 > 0 else []


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: Schedule,
    data: Dataset,
    loss_fn: nn.Module,
    s: LoopSettings,
    reporter: Reporter | None = None,
    on_epoch: Callable[[Metrics], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    *,
    last: Path | None = None,
    resume_from: Mapping[str, Any] | None = None,
) -> FitResult:
    """Train for ``s.epochs`` epochs; select the best epoch on validation only.

    ``last``: save ``checkpoints/last.pt`` there after every epoch; ``resume_from``: a state
    loaded from one (``hpt.resume.load``) to continue from.
    """
    update = Update(
        optimizer, s.precision, s.device, grad_clip_norm=s.grad_clip_norm, schedule=schedule
    )
    gen = torch.Generator(device=s.device).manual_seed(s.seed) if s.data_on_device else None
    weights = l1_weights(model, s.l1)
    stateful = {"model": unwrap(model), "optimizer": optimizer, "scheduler": schedule.scheduler}
    checkpoint = (
        LastCheckpoint(last, {**stateful, "scaler": update.scaler}, {"data": gen})
        if last is not None
        else None
    )
    start = checkpoint.restore(resume_from) if checkpoint and resume_from else None

    def epoch_fn(epoch: int) -> Metrics:
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=s.device)
        steps = 0
        model.train()
        # forward, backward, update
        for x, y in batches(data.train, s.batch_size, s, train=True, gen=gen):
            if s.augment:
                x = augment(x, **s.augment)
            loss_sum += update.step(batch_loss, model, loss_fn, x, y, s, weights)
            steps += 1
            if on_step is not None:
                on_step(steps)
        train_loss = loss_sum.item() / max(steps, 1)  # one host sync per epoch
        train_time = time.perf_counter() - t0
        # evaluate on the validation split
        metrics: Metrics = {
            "train/loss": train_loss,
            **evaluate(model, data.val, loss_fn, s, "val"),
        }
        metrics["lr"] = optimizer.param_groups[0]["lr"]
        metrics["throughput/samples_per_s"] = steps * s.batch_size / max(train_time, 1e-9)
        # per-epoch schedules move after the epoch (plateau on the selection metric)
        if schedule.scheduler is not None and schedule.interval == "metric":
            schedule.scheduler.step(metrics[s.objective])  # type: ignore[call-arg,arg-type]
        elif schedule.scheduler is not None and schedule.interval == "epoch":
            schedule.scheduler.step()
        return metrics

    return run_epochs(
        model,
        epoch_fn,
        s.epochs,
        s.objective,
        s.maximize,
        reporter,
        on_epoch,
        patience=s.patience,
        min_delta=s.min_delta,
        checkpoint=checkpoint,
        start=start,
    )
