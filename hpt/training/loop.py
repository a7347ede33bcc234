"""The training loop: plain arguments, no config objects (its settings:
``hpt.training.loop_types``).

Per step: slice a batch, augment on the device, forward under autocast, backward, clip,
step. Losses accumulate on the device; the host reads them once per epoch, so there is
no per-step synchronisation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hpt.data import Dataset, Split, augment, loader_batches, tensor_batches
from hpt.schedulers import Schedule
from hpt.selection import better, tie_rule
from hpt.training.loop_types import Callbacks, EpochPlan, FitResult, LoopSettings, Metrics, Parts
from hpt.training.precision import autocast, grad_scaler
from hpt.training.reporter import NullReporter
from hpt.training.resume import LastCheckpoint, Progress


def batches(
    split: Split, batch_size: int, s: LoopSettings, *, train: bool, gen: torch.Generator | None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The ``(x, y)`` batches of a split on the device: slices of device tensors, or a
    DataLoader's when off the device. ``train``: shuffle (by ``gen`` on the device; None: torch's
    default generator) and drop a last smaller batch; ``s``: where the data is, workers, seed."""
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
    """Loss and task metric over a split; sums stay on the device until the end.

    Args:
        model: The model (in eval mode while it runs; back in train mode after).
        split: The rows.
        loss_fn: The loss.
        s: The loop's settings.
        prefix: ``val``, ``test``...: the metrics are named ``<prefix>/loss`` and so on.

    Returns:
        ``<prefix>/loss`` and ``<prefix>/acc``, or ``/mse``, ``/rmse``, ``/mae`` and ``/r2``
        for regression.
    """
    model.eval()
    sums = torch.zeros(6, device=s.device)  # loss, correct, |err|, err^2, y, y^2
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
            yu = y if target_std is None else y * target_std  # the mean shift cancels in R²
            sums[4] += yu.sum()
            sums[5] += (yu**2).sum()
    model.train()
    n = len(split)
    loss, correct, abs_err, sq_err, y_sum, y_sq = sums.tolist()  # the one host sync
    metrics = {f"{prefix}/loss": loss / n}
    if s.problem == "regression":
        # Whatever the loss, MSE, RMSE, MAE and R² (as scikit-learn's r2_score) in target units.
        metrics[f"{prefix}/mse"] = sq_err / n
        metrics[f"{prefix}/rmse"] = math.sqrt(sq_err / n)
        metrics[f"{prefix}/mae"] = abs_err / n
        total = y_sq - y_sum * y_sum / n  # summed over columns of a multi-output target
        metrics[f"{prefix}/r2"] = 1.0 - sq_err / total if total > 0 else float("nan")
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


def run_epochs(
    model: nn.Module,
    epoch_fn: EpochFn,
    plan: EpochPlan,
    calls: Callbacks | None = None,
    *,
    checkpoint: LastCheckpoint | None = None,
    start: Progress | None = None,
) -> FitResult:
    """The epoch driver: ``epoch_fn(epoch)`` trains one epoch and returns its validation metrics.

    Around it: timing, the per-epoch hook, the non-finite check, best-epoch selection on
    ``plan.objective`` (validation only), the pruning report and early stopping.

    Args:
        model: The model ``epoch_fn`` trains; its best epoch's weights are kept.
        epoch_fn: Trains epoch ``epoch`` (1-based) and returns its metrics.
        plan: The last epoch, the objective and its direction, and early stopping.
        calls: The reporter (it may prune the run) and the per-epoch hook (None: neither).
        checkpoint: Saved after every epoch but the last (``checkpoints/last.pt``), for
            ``--resume``.
        start: The state of a resumed run: continue after its last saved epoch.

    Returns:
        The outcome, the history of every epoch and the best epoch's weights.
    """
    calls = calls or Callbacks()
    reporter, on_epoch, objective = calls.reporter, calls.on_epoch, plan.objective
    reporter = reporter or NullReporter()
    track = _Track()
    if start is not None:  # resumed (hpt.training.resume): continue after the last saved epoch
        track = _Track(start.history, start.best, start.best_value, start.best_state, start.stale)
        for m in track.history:  # a retried sweep trial reports the epochs it carries over
            reporter.report(int(m["epoch"]), m[objective], m)
    for epoch in range(len(track.history) + 1, plan.epochs + 1):
        t0 = time.perf_counter()
        metrics: Metrics = {"epoch": epoch, **epoch_fn(epoch)}
        metrics["time/epoch_s"] = time.perf_counter() - t0
        track.history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
        error = _non_finite(metrics, epoch)
        if error is not None:
            return track.result("FAIL", error, "nan")
        value = metrics[objective]  # select, prune, stop
        track.select(model, metrics, value, plan)
        if checkpoint is not None and epoch < plan.epochs:  # for hpt train --resume; after
            checkpoint.save(track.progress(epoch))  # the last epoch nothing is left to resume
        if reporter.report(epoch, value, metrics):
            return track.result("PRUNED")
        if plan.patience is not None and track.stale >= plan.patience:
            return track.result("COMPLETE", stopped_early=True)
    return track.result("COMPLETE")


def _non_finite(metrics: Metrics, epoch: int) -> str | None:
    """The error of an epoch with a non-finite loss, else None."""
    bad = [k for k, v in metrics.items() if "loss" in k and not math.isfinite(v)]
    if not bad:
        return None
    return f"non-finite loss at epoch {epoch} ({bad[0]}={metrics[bad[0]]})"


@dataclass
class _Track:
    """The epoch driver's state: the epochs so far, the best one and its weights."""

    history: list[Metrics] = field(default_factory=list)
    best: Metrics | None = None
    best_value: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    stale: int = 0  # epochs since the last improvement

    def select(self, model: nn.Module, metrics: Metrics, value: float, plan: EpochPlan) -> None:
        """Keep this epoch and its weights when it beats the best (``hpt.selection.better``)."""
        key = metrics.get(plan.tie_break) if plan.tie_break else None
        best = None
        if self.best_value is not None:
            best_key = self.best.get(plan.tie_break) if self.best and plan.tie_break else None
            best = (self.best_value, best_key)
        if plan.keep_last or (
            math.isfinite(value)
            and better(value, key, best, plan.maximize, plan.tie, plan.min_delta)
        ):
            self.best_value, self.best, self.stale = value, dict(metrics), 0
            state = unwrap(model).state_dict()
            self.best_state = {k: v.detach().clone() for k, v in state.items()}
        else:
            self.stale += 1

    def progress(self, epoch: int) -> Progress:
        """What ``checkpoints/last.pt`` saves after ``epoch``."""
        return Progress(
            epoch, self.history, self.best, self.best_value, self.best_state, self.stale
        )

    def result(
        self,
        status: str,
        error: str | None = None,
        error_kind: str | None = None,
        *,
        stopped_early: bool = False,
    ) -> FitResult:
        """The fit's result with ``status``."""
        return FitResult(
            status, self.history, self.best, self.best_state, error, error_kind, stopped_early
        )


def batch_loss(
    model: nn.Module,
    loss_fn: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    s: LoopSettings,
    weights: list[torch.Tensor],
) -> torch.Tensor:
    """The supervised training loss of one batch, with the L1 penalty on ``weights``."""
    out = model(_prepare(x, s)).float()
    if out.dim() == 3:  # an ensemble's members (TabM): the mean of their losses, as it trains
        out, y = out.flatten(0, 1), y.repeat_interleave(out.shape[1], dim=0)
    loss = loss_fn(out, y)
    if weights:
        loss = loss + s.l1 * sum(w.abs().sum() for w in weights)
    return loss


def l1_weights(model: nn.Module, l1: float) -> list[torch.Tensor]:
    """The weights the L1 penalty applies to (matrices and kernels, not biases or norms)."""
    return [p for p in model.parameters() if p.dim() > 1] if l1 > 0 else []


def fit(
    run: Parts,
    calls: Callbacks | None = None,
    *,
    last: Path | None = None,
    resume_from: Mapping[str, Any] | None = None,
) -> FitResult:
    """Train ``run.model`` for ``run.settings.epochs`` epochs; select the best on validation only.

    Args:
        run: The model (on the settings' device), its optimizer, lr schedule
            (``hpt.schedulers``), data, training loss and the loop's settings: a built
            ``hpt.build.Run``, or ``Parts``.
        calls: The reporter (it may prune the run), the per-epoch and per-step hooks.
        last: Save ``checkpoints/last.pt`` there after every epoch (None: do not).
        resume_from: A state loaded from one (``hpt.training.resume.load``) to continue from.

    Returns:
        The outcome, the history of every epoch and the best epoch's weights.
    """
    model, optimizer, schedule, s = run.model, run.optimizer, run.schedule, run.settings
    update = Update(
        optimizer, s.precision, s.device, grad_clip_norm=s.grad_clip_norm, schedule=schedule
    )
    gen = torch.Generator(device=s.device).manual_seed(s.seed) if s.data_on_device else None
    checkpoint: LastCheckpoint | None = None
    if last is not None:
        stateful = {"model": unwrap(model), "optimizer": optimizer, "scheduler": schedule.scheduler}
        checkpoint = LastCheckpoint(last, {**stateful, "scaler": update.scaler}, {"data": gen})
    start = checkpoint.restore(resume_from) if checkpoint and resume_from else None
    epoch_fn = _TrainEpoch(
        model=model,
        loss_fn=run.loss_fn,
        data=run.data,
        s=s,
        update=update,
        schedule=schedule,
        gen=gen,
        weights=l1_weights(model, s.l1),
        on_step=calls.on_step if calls is not None else None,
    )
    tie, tie_break = tie_rule(s.objective, len(run.data.val))
    plan = replace(s.plan, tie=tie, tie_break=tie_break)
    return run_epochs(model, epoch_fn, plan, calls, checkpoint=checkpoint, start=start)


@dataclass(frozen=True, eq=False, kw_only=True)
class _TrainEpoch:
    """One supervised epoch: train on every batch, then evaluate on the validation split."""

    model: nn.Module
    loss_fn: nn.Module
    data: Dataset
    s: LoopSettings
    update: Update
    schedule: Schedule
    gen: torch.Generator | None
    weights: list[torch.Tensor]  # what the L1 penalty applies to (``l1_weights``)
    on_step: Callable[[int], None] | None

    def __call__(self, epoch: int) -> Metrics:
        """Train one epoch; returns its training loss, validation metrics, lr and throughput."""
        # the batch loop reads locals only: no attribute lookups added per step
        model, loss_fn, s, update = self.model, self.loss_fn, self.s, self.update
        weights, on_step = self.weights, self.on_step
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=s.device)
        steps = 0
        model.train()
        # forward, backward, update
        for x, y in batches(self.data.train, s.batch_size, s, train=True, gen=self.gen):
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
            **evaluate(model, self.data.val, loss_fn, s, "val"),
        }
        metrics["lr"] = update.optimizer.param_groups[0]["lr"]
        metrics["throughput/samples_per_s"] = steps * s.batch_size / max(train_time, 1e-9)
        # per-epoch schedules move after the epoch (plateau on the selection metric)
        scheduler = self.schedule.scheduler
        if scheduler is not None and self.schedule.interval == "metric":
            scheduler.step(metrics[s.objective])  # type: ignore[call-arg,arg-type]
        elif scheduler is not None and self.schedule.interval == "epoch":
            scheduler.step()
        return metrics


__all__ = [
    "EpochFn",
    "Update",
    "batch_loss",
    "batches",
    "evaluate",
    "fit",
    "l1_weights",
    "run_epochs",
    "unwrap",
]
