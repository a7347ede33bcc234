"""The learning-rate range test's curve: its smoothing, the suggestion, and its files.

``hpt.training.lr_find`` runs the scan; this module turns the losses it recorded into the smoothed
curve and the suggested lr, and writes ``lr_find.csv`` and ``lr_find.png``. Its names are
importable from ``hpt.training.lr_find`` as well.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hpt.rundir import atomic_write_bytes, atomic_write_text


@dataclass
class Curve:
    """A range test's record: the raw, smoothed and running loss at each lr, and the suggestion."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]  # zero-lag smoothing: the plotted curve and the suggestion's basis
    running: list[float]  # the causal average the stop rule used
    suggestion: float
    min_loss_lr: float  # the lr at the smoothed loss's minimum
    # stopped early: the smoothed loss passed diverge x its minimum (or went non-finite)
    diverged: bool
    start: float
    end: float
    steps: int  # planned steps (len(lrs) <= steps)


def ema(values: list[float], beta: float) -> list[float]:
    """Bias-corrected exponential moving average (the first values are not pulled to zero).

    Args:
        values: The raw values, in order.
        beta: The decay, in [0, 1).

    Returns:
        The average after each value.
    """
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def zero_lag(values: list[float], beta: float) -> list[float]:
    """The average run forwards then backwards: smooth, and centred on each point.

    Args:
        values: The raw values, in order.
        beta: The decay, in [0, 1).

    Returns:
        The smoothed values, one per value.
    """
    return ema(ema(values, beta)[::-1], beta)[::-1]


def suggest(lrs: list[float], smoothed: list[float], skip_start: int | None = None) -> float:
    """The lr of steepest descent of ``smoothed`` against log10(lr), before its minimum.

    Args:
        lrs: The scan's learning rates, increasing.
        smoothed: The smoothed loss at each.
        skip_start: Leading points to ignore, where the average is still settling (None: a
            tenth of them, at most 10).

    Returns:
        The suggestion, always within ``[lrs[0], lrs[-1]]``.

    Raises:
        ValueError: No points.
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


def write_csv(curve: Curve, path: Path) -> None:
    """``lr_find.csv``: step, lr, loss, smoothed_loss and running_loss, one row per step.

    Args:
        curve: The scan.
        path: Where the CSV goes.
    """
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["step", "lr", "loss", "smoothed_loss", "running_loss"])
    rows = zip(curve.lrs, curve.losses, curve.smoothed, curve.running)
    for i, (lr, loss, smooth, running) in enumerate(rows):
        w.writerow([i, f"{lr:.6g}", f"{loss:.6g}", f"{smooth:.6g}", f"{running:.6g}"])
    atomic_write_text(path, buf.getvalue())


def plot(curve: Curve, path: Path, title: str = "") -> None:
    """``lr_find.png``: the raw and smoothed loss against the lr, and the suggestion.

    Args:
        curve: The scan.
        path: Where the PNG goes.
        title: The plot's title (default: ``learning-rate range test``).
    """
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
