"""The value and epoch axes of the report's charts, chosen so one bad trial cannot flatten them.

A diverged trial (a loss of 25,000 beside good trials at 0.2) would stretch a linear axis until
every good trial lies on one line. A loss-like metric spanning more than 10x gets a log axis;
what still lies far outside the bulk of the values (3 interquartile ranges, in log units on a
log axis) is left off the axis range and marked at its edge, its value in the hover text.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_LOSS_WORDS = ("loss", "mse", "mae", "rmse", "error", "nll", "perplexity")
_FENCE = 3.0  # interquartile ranges beyond the quartiles before a value is off the chart


@dataclass(frozen=True)
class ValueAxis:
    """A y axis: log or linear, and the range in data units (None: the plot's own).

    Attributes:
        log: A log axis.
        lo: The lowest value shown; values below are drawn at this edge.
        hi: The highest value shown; values above are drawn at this edge.
    """

    log: bool = False
    lo: float | None = None
    hi: float | None = None

    def side(self, value: float) -> str | None:
        """``above`` or ``below`` for a value off the chart, else None."""
        if self.hi is not None and value > self.hi:
            return "above"
        if self.lo is not None and value < self.lo:
            return "below"
        return None

    def edge(self, side: str) -> float:
        """The value at which an off-chart point is drawn: just inside that end of the axis
        (a marker exactly on the end is culled by plotly)."""
        assert self.lo is not None and self.hi is not None
        if self.log:
            lo, hi = math.log10(self.lo), math.log10(self.hi)
            return 10 ** (hi - 0.015 * (hi - lo) if side == "above" else lo + 0.015 * (hi - lo))
        inset = 0.015 * (self.hi - self.lo)
        return self.hi - inset if side == "above" else self.lo + inset

    def layout(self, title: str) -> dict[str, Any]:
        """The plotly ``yaxis`` settings (a log axis takes its range in log10 units)."""
        axis: dict[str, Any] = {"title": {"text": title}, "type": "log" if self.log else "linear"}
        if self.lo is not None and self.hi is not None:
            ends = (self.lo, self.hi)
            axis["range"] = [math.log10(v) for v in ends] if self.log else list(ends)
        return axis


def is_loss(metric: str) -> bool:
    """Whether a metric is a loss or an error (lower is better, often spanning decades)."""
    return any(word in metric.lower() for word in _LOSS_WORDS)


def value_axis(values: Iterable[Any], metric: str) -> ValueAxis:
    """The y axis for these values of ``metric``.

    Args:
        values: Every value the chart draws (non-finite ones are ignored).
        metric: The metric's name (losses may get a log axis).

    Returns:
        The axis: log for a positive loss spanning more than 10x, and a clipped range when
        some values lie beyond 3 interquartile ranges of the quartiles.
    """
    finite = sorted(float(v) for v in values if _finite(v))
    if len(finite) < 3:
        return ValueAxis()
    log = is_loss(metric) and finite[0] > 0 and finite[-1] / finite[0] > 10
    ts = [math.log10(v) for v in finite] if log else finite
    q1, _, q3 = statistics.quantiles(ts, n=4, method="inclusive")
    floor = 0.5 if log else 0.05 * max(abs(q1), abs(q3))  # identical values are not outliers
    spread = max(q3 - q1, floor, 1e-12)
    low_fence, high_fence = q1 - _FENCE * spread, q3 + _FENCE * spread
    inside = [t for t in ts if low_fence <= t <= high_fence]
    if len(inside) == len(ts):
        return ValueAxis(log=log)
    pad = 0.06 * ((inside[-1] - inside[0]) or spread)
    lo = ts[0] - pad if ts[0] >= low_fence else inside[0] - pad
    hi = ts[-1] + pad if ts[-1] <= high_fence else inside[-1] + pad
    if log:
        return ValueAxis(log=True, lo=10**lo, hi=10**hi)
    return ValueAxis(lo=lo, hi=hi)


def epoch_axis(last_epoch: float) -> dict[str, Any]:
    """The x axis of per-epoch charts: every epoch labelled up to 10 epochs; beyond, plotly
    picks whole-number ticks for the chart's width (labels never overlap).

    Args:
        last_epoch: The highest epoch drawn.

    Returns:
        The plotly ``xaxis`` settings.
    """
    axis: dict[str, Any] = {"title": {"text": "epoch"}, "tickformat": "d"}
    if last_epoch <= 10:
        axis["dtick"] = 1
    else:
        axis["nticks"] = 12
    return axis


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
