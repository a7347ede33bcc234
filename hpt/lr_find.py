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
import csv
import io
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from hpt.data import Dataset, Split, augment
from hpt.errors import UserError
from hpt.loop import LoopSettings, Update, batch_loss, batches, l1_weights, unwrap
from hpt.rundir import atomic_write_bytes, atomic_write_json, atomic_write_text

CSV_NAME, PNG_NAME, JSON_NAME = "lr_find.csv", "lr_find.png", "lr_find.json"
RUN_DIR = "hydra.run.dir=outputs/lr_find/${now:%Y-%m-%d_%H-%M-%S-%f}"


@dataclass
class Curve:
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]  # zero-lag smoothing: the plotted curve and the suggestion's basis
    running: list[float]  # the causal average the stop rule used
    suggestion: float
    min_loss_lr: float  # the lr at the smoothed loss's minimum
    diverged: (
        bool  # stopped early: the smoothed loss passed diverge x its minimum (or went non-finite)
    )
    start: float
    end: float
    steps: int  # planned steps (len(lrs) <= steps)


def _endless_batches(
    split: Split, s: LoopSettings, gen: torch.Generator | None
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled training batches, epoch after epoch, for as many steps as the test needs."""
    while True:
        yield from batches(split, s.batch_size, s, train=True, gen=gen)


def ema(values: list[float], beta: float) -> list[float]:
    """Bias-corrected exponential moving average (the first values are not pulled to zero)."""
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def zero_lag(values: list[float], beta: float) -> list[float]:
    """The average run forwards then backwards: smooth, and centred on each point."""
    return ema(ema(values, beta)[::-1], beta)[::-1]


def suggest(lrs: list[float], smoothed: list[float], skip_start: int | None = None) -> float:
    """The lr of steepest descent of ``smoothed`` against log10(lr), before its minimum.

    ``skip_start`` leading points are ignored (the average is still settling there); the
    result always lies within ``[lrs[0], lrs[-1]]``.
    """
    if not lrs:
        raise ValueError("no points to suggest from")
    n = len(lrs)
    skip = min(10, n // 10) if skip_start is None else skip_start
    stop = int(np.argmin(smoothed)) + 1  # descent ends at the minimum
    if stop - skip < 3:  # too little descent to differentiate: a tenth of the lr at the minimum
        return float(min(max(lrs[stop - 1] / 10, lrs[0]), lrs[-1]))
    x = np.log10(np.asarray(lrs[:stop]))
    slope = np.gradient(np.asarray(smoothed[:stop]), x)
    return float(lrs[skip + int(np.argmin(slope[skip:]))])


def lr_range_test(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Dataset,
    loss_fn: nn.Module,
    s: LoopSettings,
    *,
    start: float = 1e-7,
    end: float = 10.0,
    steps: int = 200,
    beta: float = 0.9,
    diverge: float = 4.0,
) -> Curve:
    """Run the range test; ``model`` and ``optimizer`` are returned to their state at entry."""
    if not 0 < start < end:
        raise UserError(f"lr_find needs 0 < start < end, got start={start}, end={end}")
    if steps < 5 or not 0 <= beta < 1 or diverge <= 1:
        raise UserError(
            f"lr_find needs steps >= 5, 0 <= beta < 1 and diverge > 1 (got {steps}, {beta}, {diverge})"
        )
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(optimizer.state_dict())
    update = Update(optimizer, s.precision, s.device, grad_clip_norm=s.grad_clip_norm)
    gen = torch.Generator(device=s.device).manual_seed(s.seed) if s.data_on_device else None
    weights = l1_weights(model, s.l1)
    ratio = (end / start) ** (1 / (steps - 1))
    lrs: list[float] = []
    losses: list[float] = []
    running: list[float] = []
    avg, best, diverged = 0.0, math.inf, False
    model.train()
    try:
        train_batches = _endless_batches(data.train, s, gen)
        for i in range(steps):
            lr = start * ratio**i
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = next(train_batches)
            if s.augment:
                x = augment(x, **s.augment)
            loss = update.step(batch_loss, model, loss_fn, x, y, s, weights)
            value = float(loss.item())  # one sync per step: the stop rule needs the value now
            if not math.isfinite(value):
                diverged = True
                break
            avg = beta * avg + (1 - beta) * value
            smooth = avg / (1 - beta ** (i + 1))
            lrs.append(lr)
            losses.append(value)
            running.append(smooth)
            best = min(best, smooth)
            if i >= 10 and smooth > diverge * best:
                diverged = True
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        optimizer.zero_grad(set_to_none=True)
    if len(lrs) < 2:
        raise UserError(
            f"lr_find: the loss was not finite from lr={start:g} on; lower lr_find.start"
        )
    smoothed = zero_lag(losses, beta)
    lr_at_min = lrs[int(np.argmin(smoothed))]
    return Curve(
        lrs,
        losses,
        smoothed,
        running,
        suggest(lrs, smoothed),
        lr_at_min,
        diverged,
        start,
        end,
        steps,
    )


def write_csv(curve: Curve, path: Path) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["step", "lr", "loss", "smoothed_loss", "running_loss"])
    rows = zip(curve.lrs, curve.losses, curve.smoothed, curve.running)
    for i, (lr, loss, smooth, running) in enumerate(rows):
        w.writerow([i, f"{lr:.6g}", f"{loss:.6g}", f"{smooth:.6g}", f"{running:.6g}"])
    atomic_write_text(path, buf.getvalue())


def plot(curve: Curve, path: Path, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(curve.lrs, curve.losses, color="0.75", lw=0.8, label="loss")
    ax.plot(curve.lrs, curve.smoothed, color="C0", lw=2, label="smoothed loss")
    at = int(np.argmin(np.abs(np.log(curve.lrs) - math.log(curve.suggestion))))
    ax.axvline(curve.suggestion, color="C3", ls="--", lw=1)
    ax.plot(
        [curve.suggestion],
        [curve.smoothed[at]],
        "o",
        color="C3",
        label=f"suggestion {curve.suggestion:.3g}",
    )
    ax.set_xscale("log")
    low, high = min(curve.smoothed), max(curve.smoothed[: max(10, len(curve.smoothed) // 10)])
    ax.set_ylim(
        low - 0.1 * (high - low + 1e-12), high + 0.6 * (high - low + 1e-12)
    )  # the divergence spike off-scale
    ax.set(
        xlabel="learning rate (log scale)",
        ylabel="training loss",
        title=title or "learning-rate range test",
    )
    ax.legend(loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=110, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


@dataclass
class LrFindResult:
    run_dir: str
    suggestion: float
    curve: Curve


def run(cfg: DictConfig, run_dir: Path) -> LrFindResult:
    """Build the run's objects as ``hpt train`` would, run the range test, write its files."""
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
        start=float(conf.get("start", 1e-7)),
        end=float(conf.get("end", 10.0)),
        steps=int(conf.get("steps", 200)),
        beta=float(conf.get("beta", 0.9)),
        diverge=float(conf.get("diverge", 4.0)),
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
    from hpt.app import run_hydra

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
        f"lr range test: {len(c.lrs)} steps, lr {c.lrs[0]:.3g} to {c.lrs[-1]:.3g} ({how}); smoothed loss lowest at lr={c.min_loss_lr:.3g}"
    )
    print(f"run dir: {result.run_dir}  ({CSV_NAME}, {PNG_NAME})")
    print("suggestion (steepest descent of the smoothed loss), to paste after `hpt train`:")
    print(override_line(result.suggestion))
    return 0
