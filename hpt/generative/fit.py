"""The epoch driver shared by the GAN and the VAE: timing, NaN check, best-epoch selection, pruning.

The task supplies ``epoch_fn`` (train one epoch, evaluate on validation, return the metrics);
this module does what hpt's supervised loop does around it, with the same ``FitResult``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import nn

from hpt.loop import FitResult, Metrics
from hpt.reporter import NullReporter, Reporter

EpochFn = Callable[[int], Metrics]


def _improved(value: float, best: float | None, maximize: bool) -> bool:
    if best is None:
        return True
    return value > best if maximize else value < best


def fit_epochs(
    model: nn.Module,
    epoch_fn: EpochFn,
    epochs: int,
    objective: str,
    maximize: bool,
    reporter: Reporter | None = None,
    on_epoch: Callable[[Metrics], None] | None = None,
) -> FitResult:
    """Run ``epoch_fn`` for each epoch; keep the weights of the best epoch on the validation objective."""
    reporter = reporter or NullReporter()
    history: list[Metrics] = []
    best: Metrics | None = None
    best_value: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    for epoch in range(1, epochs + 1):
        t0 = time.perf_counter()
        metrics: Metrics = {"epoch": epoch, **epoch_fn(epoch)}
        metrics["time/epoch_s"] = time.perf_counter() - t0
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
        bad = [k for k, v in metrics.items() if "loss" in k and not math.isfinite(v)]
        if bad:
            return FitResult(
                "FAIL",
                history,
                best,
                best_state,
                f"non-finite loss at epoch {epoch} ({bad[0]}={metrics[bad[0]]})",
                "nan",
            )
        value = metrics[objective]
        if math.isfinite(value) and _improved(value, best_value, maximize):
            best_value, best = value, dict(metrics)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if reporter.report(epoch, value, metrics):
            return FitResult("PRUNED", history, best, best_state)
    return FitResult("COMPLETE", history, best, best_state)
