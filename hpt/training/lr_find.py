"""``hpt lr-find``: the learning-rate range test (L. Smith, "Cyclical Learning Rates", 2015).

Train from the run's initial weights while the learning rate grows exponentially from
``lr_find.start`` to ``lr_find.end`` over ``lr_find.steps`` optimizer steps, one batch per
step, and record the loss. The scan stops once a running (causal, bias-corrected)
exponential moving average of the loss exceeds ``lr_find.diverge`` times its minimum.

After the scan the loss is smoothed again without lag (the same average run forwards, then
backwards): a causal average trails the raw curve by about beta/(1-beta) steps, which at
beta=0.98 and 200 steps over 8 decades would shift every feature by two decades. The
suggestion is the lr where that smoothed loss falls fastest per decade, searched only up to
its minimum (past it, the noise of a diverging run can look like descent).

The config is composed exactly as for ``hpt train`` (same overrides; the command adds
``+lr_find=default`` and a run dir under ``outputs/lr_find/``), and the objects come from
``hpt.build.build``. The test runs on its own copy of everything: it is a separate process,
and ``lr_range_test`` also restores the model's and optimizer's state when it ends.

Writes ``lr_find.csv`` (step, lr, loss, smoothed_loss, running_loss), ``lr_find.png`` and
``lr_find.json`` (the suggestion and the scan's bounds) into the run dir.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from hpt.config.rules import lr_find_problems
from hpt.data import Dataset, Split, augment
from hpt.errors import UserError
from hpt.rundir import atomic_write_json
from hpt.training.loop import Update, batch_loss, batches, l1_weights, unwrap
from hpt.training.loop_types import LoopSettings
from hpt.training.lr_curve import Curve, plot, suggest, write_csv, zero_lag

__all__ = ["LrFindResult", "Scan", "lr_find_main", "lr_range_test", "override_line", "run", "task"]

CSV_NAME, PNG_NAME, JSON_NAME = "lr_find.csv", "lr_find.png", "lr_find.json"
RUN_DIR = "hydra.run.dir=outputs/lr_find/${now:%Y-%m-%d_%H-%M-%S-%f}"


def _endless_batches(
    split: Split, s: LoopSettings, gen: torch.Generator | None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled training batches, epoch after epoch, for as many steps as the test needs."""
    while True:
        yield from batches(split, s.batch_size, s, train=True, gen=gen)


@dataclass(frozen=True)
class Scan:
    """The range test's plan: the lr grows from ``start`` to ``end`` over ``steps`` steps.

    The loss is averaged with ``beta``; the scan stops once that average exceeds ``diverge``
    times its minimum.
    """

    start: float = 1e-7
    end: float = 10.0
    steps: int = 200
    beta: float = 0.9
    diverge: float = 4.0

    def check(self) -> None:
        """Raise a ``UserError`` naming the settings when the plan cannot run (the ranges of
        ``lr_find.*`` in ``hpt.config.rules``, which ``hpt lr-find`` checks first)."""
        found = lr_find_problems(asdict(self))
        if found:
            raise UserError("; ".join(found))


@dataclass
class _Points:
    """What the scan recorded: one lr, loss and running average per step taken."""

    lrs: list[float]
    losses: list[float]
    running: list[float]
    diverged: bool = False


def lr_range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Dataset,
    loss_fn: nn.Module,
    s: LoopSettings,
    scan: Scan = Scan(),
) -> Curve:
    """Run the range test; ``model`` and ``optimizer`` are returned to their state at entry.

    Args:
        model: The model, on ``s.device``.
        optimizer: Its optimizer; its lr is set at every step.
        data: The splits; only the training split is used.
        loss_fn: The training loss.
        s: The loop's settings (batch size, precision, device, augmentation, L1, clipping).
        scan: The plan: the first and last lr (if the loss never diverges), the optimizer
            steps between them (one batch each), the loss average's decay, and how far above
            its minimum that average may go before the scan stops.

    Returns:
        The recorded curve and the suggested lr.

    Raises:
        UserError: A bad setting, or a loss that was never finite.
    """
    scan.check()
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(optimizer.state_dict())
    update = Update(optimizer, s.precision, s.device, grad_clip_norm=s.grad_clip_norm)
    gen = torch.Generator(device=s.device).manual_seed(s.seed) if s.data_on_device else None
    model.train()
    try:
        points = _scan(model, update, _endless_batches(data.train, s, gen), loss_fn, s, scan)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        optimizer.zero_grad(set_to_none=True)
    return _curve(points, scan)


def _curve(points: _Points, scan: Scan) -> Curve:
    """The recorded points smoothed without lag, and the suggestion."""
    lrs = points.lrs
    if len(lrs) < 2:
        raise UserError(
            f"lr_find: the loss was not finite from lr={scan.start:g} on; lower lr_find.start"
        )
    smoothed = zero_lag(points.losses, scan.beta)
    lr_at_min = lrs[int(np.argmin(smoothed))]
    return Curve(
        lrs,
        points.losses,
        smoothed,
        points.running,
        suggest(lrs, smoothed),
        lr_at_min,
        points.diverged,
        scan.start,
        scan.end,
        scan.steps,
    )


def _scan(
    model: nn.Module,
    update: Update,
    train_batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: nn.Module,
    s: LoopSettings,
    scan: Scan,
) -> _Points:
    """One step per lr, until the last or until the loss diverges."""
    weights = l1_weights(model, s.l1)
    ratio = (scan.end / scan.start) ** (1 / (scan.steps - 1))
    beta = scan.beta
    points = _Points([], [], [])
    avg, best = 0.0, math.inf
    for i in range(scan.steps):
        lr = scan.start * ratio**i
        for group in update.optimizer.param_groups:
            group["lr"] = lr
        x, y = next(train_batches)
        if s.augment:
            x = augment(x, **s.augment)
        loss = update.step(batch_loss, model, loss_fn, x, y, s, weights)
        value = float(loss.item())  # one sync per step: the stop rule needs the value now
        if not math.isfinite(value):
            points.diverged = True
            break
        avg = beta * avg + (1 - beta) * value
        smooth = avg / (1 - beta ** (i + 1))
        points.lrs.append(lr)
        points.losses.append(value)
        points.running.append(smooth)
        best = min(best, smooth)
        if i >= 10 and smooth > scan.diverge * best:
            points.diverged = True
            break
    return points


@dataclass
class LrFindResult:
    run_dir: str
    suggestion: float
    curve: Curve


def run(cfg: DictConfig, run_dir: Path) -> LrFindResult:
    """Build the run's objects as ``hpt train`` would, run the range test, write its files.

    Args:
        cfg: The composed config, with ``lr_find`` settings.
        run_dir: Where ``lr_find.csv``, ``.png`` and ``.json`` go.

    Returns:
        The run dir, the suggestion and the curve.
    """
    from hpt.build import build

    run_dir.mkdir(parents=True, exist_ok=True)
    built = build(cfg)
    conf: Any = cfg.get("lr_find") or {}
    curve = lr_range_test(
        unwrap(built.model),
        built.optimizer,
        built.data,
        built.loss_fn,
        built.settings,
        Scan(
            start=float(conf.get("start", 1e-7)),
            end=float(conf.get("end", 10.0)),
            steps=int(conf.get("steps", 200)),
            beta=float(conf.get("beta", 0.9)),
            diverge=float(conf.get("diverge", 4.0)),
        ),
    )
    write_csv(curve, run_dir / CSV_NAME)
    title = f"lr range test: {type(built.optimizer).__name__}, batch {built.settings.batch_size}"
    plot(curve, run_dir / PNG_NAME, title)
    record = {
        k: v for k, v in asdict(curve).items() if k not in ("lrs", "losses", "smoothed", "running")
    }
    record.update(
        points=len(curve.lrs), last_lr=curve.lrs[-1], override=override_line(curve.suggestion)
    )
    atomic_write_json(run_dir / JSON_NAME, record)
    return LrFindResult(str(run_dir), curve.suggestion, curve)


def override_line(lr: float) -> str:
    """What to paste after ``hpt train``: three significant digits, a Hydra float literal."""
    return f"optimizer.lr={float(f'{lr:.3g}')!r}"


def task(cfg: DictConfig) -> LrFindResult:
    """Hydra's task function for ``hpt lr-find``; returns the result."""
    from hydra.core.hydra_config import HydraConfig

    return run(cfg, Path(HydraConfig.get().runtime.output_dir))


def lr_find_main(argv: list[str]) -> int:
    """``hpt lr-find``: run the range test and print the suggestion; returns the exit code."""
    from hpt.cli.launch import run_hydra

    results: list[LrFindResult] = []

    def lr_find_task(cfg: DictConfig) -> LrFindResult:
        results.append(task(cfg))  # the task's return value, kept for the summary below
        return results[-1]

    extra = []
    if not any(a.startswith(("lr_find=", "+lr_find=", "++lr_find=")) for a in argv):
        extra.append("+lr_find=default")  # the settings group exists only for this command
    if not any(a.startswith("hydra.run.dir=") for a in argv):
        extra.append(RUN_DIR)
    code = run_hydra(lr_find_task, [*extra, *argv], prog="hpt lr-find")
    if code != 0 or not results:
        return code
    result = results[-1]
    c = result.curve
    how = "stopped where the loss diverged" if c.diverged else "reached lr_find.end"
    print(
        f"lr range test: {len(c.lrs)} steps, lr {c.lrs[0]:.3g} to {c.lrs[-1]:.3g} ({how}); "
        f"smoothed loss lowest at lr={c.min_loss_lr:.3g}"
    )
    print(f"run dir: {result.run_dir}  ({CSV_NAME}, {PNG_NAME})")
    print("suggestion (steepest descent of the smoothed loss), to paste after `hpt train`:")
    print(override_line(result.suggestion))
    return 0
