"""The PNG figures of ``--plots`` (matplotlib, headless), drawn from the runs table.

The history names its objective and keeps pruned trials, the parallel coordinates have one
axis per searched setting (log axes for wide positive ranges), the importance says how many
finished trials it rests on, and the intermediate values need no legend. Learning curves
come from the runs' ``metrics.jsonl``. ``hpt.summarize.plots`` writes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpt.summarize import analysis
from hpt.summarize.axes import value_axis
from hpt.summarize.collect import metric_history
from hpt.summarize.columns import OBJECTIVE_PREFIX, PARAM_PREFIX, log_searched
from hpt.summarize.query import is_missing, primary_objective, rank_runs, score
from hpt.summarize.render import fmt

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend.

    Returns:
        The ``matplotlib.pyplot`` module.
    """
    import matplotlib

    matplotlib.use("Agg")  # headless: never needs a display or browser
    import matplotlib.pyplot as plt

    return plt


def history_plot(frame: pd.DataFrame, directions: Mapping[str, str]) -> Figure | None:
    """Objective per trial, with the best-so-far line.

    COMPLETE runs are dots; PRUNED ones (when every run has a trial number) are red crosses
    at the value where they stopped.

    Args:
        frame: The selected runs.
        directions: Objective name -> direction.

    Returns:
        The figure, or None without any COMPLETE run.
    """
    done = analysis.finished(frame)
    if done.empty:
        return None
    plt = pyplot()
    objective = primary_objective(frame) or "objective"
    direction = directions.get(objective, "maximize")
    pruned = frame[frame["status"] == "PRUNED"]
    by_trial = done["trial"].notna().all() and pruned["trial"].notna().all()
    if by_trial:
        done = done.sort_values("trial")
        xs = done["trial"].astype(float).tolist()
        xlabel = "trial"
    else:
        xs = list(range(len(done)))
        xlabel = "run (discovery order)"
    ys = done["value"].astype(float).tolist()
    best: list[float] = []
    for y in ys:
        best.append(y if not best or score(y, direction) > score(best[-1], direction) else best[-1])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(xs, ys, s=18, label="complete")
    if by_trial and not pruned.empty:
        stopped = [_stopped_at(row, objective) for _, row in pruned.iterrows()]
        ax.scatter(
            pruned["trial"].astype(float),
            stopped,
            s=30,
            marker="x",
            color="tab:red",
            label="pruned (value where pruned)",
        )
    ax.step(xs, best, where="post", color="tab:green", label="best so far")
    _fit_y(ax, list(zip(xs, ys)), objective)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"{objective} ({direction})")
    ax.set_title("Optimization history")
    ax.legend(fontsize=8)
    return fig


def _fit_y(ax: Any, points: list[tuple[float, float]], metric: str, mark: bool = True) -> None:
    """The y axis of ``hpt.summarize.axes``: log for losses spanning decades, far outliers
    left off the range (with ``mark``: drawn as triangles at its edge)."""
    axis = value_axis([y for _, y in points], metric)
    if axis.log:
        ax.set_yscale("log")
    if axis.lo is None or axis.hi is None:
        return
    ax.set_ylim(axis.lo, axis.hi)
    for side, marker in (("above", "^"), ("below", "v")) if mark else ():
        off = [x for x, y in points if axis.side(y) == side]
        if off:
            edge = [axis.edge(side)] * len(off)
            ax.scatter(
                off, edge, marker=marker, color="black", clip_on=False, label="off the chart"
            )


def _stopped_at(row: pd.Series, objective: str) -> float:
    """A pruned run's objective: its result's value, else its last reported epoch's."""
    value = _num(row["value"])
    if math.isfinite(value):
        return value
    records = [r for r in metric_history(row["run"]) if objective in r]
    return _num(records[-1][objective]) if records else math.nan


def _axis_values(series: pd.Series, log: bool | None = None) -> tuple[list[float], list[str], bool]:
    """Values scaled to [0, 1] for one parallel-coordinates axis, end labels, log or not.

    ``log``: whether the sweep searched the setting on a log scale (None: unknown, then a
    positive range wider than 100x is drawn on a log axis).
    """
    import pandas as pd

    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().all() and not series.map(lambda v: isinstance(v, bool)).any():
        values = numeric.astype(float)
        lo, hi = float(values.min()), float(values.max())
        wide = hi / lo > 100 if lo > 0 else False
        log = lo > 0 and (wide if log is None else log)
        if log:
            values = values.map(math.log10)
            lo, hi = math.log10(lo), math.log10(hi)
        span = hi - lo or 1.0
        labels = [format(float(numeric.min()), ".3g"), format(float(numeric.max()), ".3g")]
        return [(v - lo) / span for v in values], labels, log
    text = series.map(lambda v: "-" if is_missing(v) else fmt(v))
    levels = sorted(set(text))
    step = 1.0 / max(len(levels) - 1, 1)
    return [levels.index(t) * step for t in text], [levels[0], levels[-1]], False


def parallel_plot(
    frame: pd.DataFrame, params: list[str], directions: Mapping[str, str]
) -> Figure | None:
    """One line per COMPLETE run across the varying params, colored by the objective.

    Args:
        frame: The selected runs.
        params: The ``params.*`` columns to draw as axes (the first 8).
        directions: Objective name -> direction.

    Returns:
        The figure, or None when there is no COMPLETE run or no parameter.
    """
    done = analysis.finished(frame)
    if done.empty or not params:
        return None
    plt = pyplot()
    objective = primary_objective(frame) or "objective"
    axes = params[:8]
    # 2.2 inches per axis: the names (rotated) and the range ends never overlap
    fig, ax = plt.subplots(figsize=(max(6.5, 2.2 * (len(axes) + 1)), 5))
    logs = log_searched(frame)
    columns = [_axis_values(done[p], None if logs is None else p in logs) for p in axes]
    target = done["value"].astype(float)
    lo, hi = float(target.min()), float(target.max())
    span = hi - lo or 1.0
    # the best runs drawn last, darkest and on top (viridis_r: never near-white)
    reverse = directions.get(objective) == "minimize"
    cmap = plt.get_cmap("viridis_r")
    order = sorted(range(len(target)), key=lambda i: target.iloc[i], reverse=reverse)
    for i in order:
        value = float(target.iloc[i])
        shade = (value - lo) / span
        ys = [c[0][i] for c in columns] + [shade]
        ax.plot(range(len(ys)), ys, color=cmap(1 - shade if reverse else shade), alpha=0.8, lw=1.4)
    names = [_axis_name(p, c) for p, c in zip(axes, columns)] + [objective]
    ax.set_xticks(range(len(names)), names, rotation=15, ha="right", fontsize=9)
    ax.set_yticks([])
    ax.set_ylim(-0.12, 1.12)
    ends = [c[1] for c in columns] + [[format(lo, ".4g"), format(hi, ".4g")]]
    for x, (low, high) in enumerate(ends):
        ax.text(x, -0.04, low, ha="center", va="top", fontsize=8)
        ax.text(x, 1.04, high, ha="center", va="bottom", fontsize=8)
        ax.axvline(x, color="grey", lw=0.6)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"Parallel coordinates ({directions.get(objective, '')} {objective})", pad=12)
    return fig


def _axis_name(column: str, axis: tuple[list[float], list[str], bool]) -> str:
    name = column[len(PARAM_PREFIX) :]
    return f"{name} (log)" if axis[2] else name


def importance_plot(importance: analysis.Importance) -> Figure:
    """Horizontal bars, most important on top; the method is in the title.

    Args:
        importance: The importance to draw (the 15 most important).

    Returns:
        The figure.
    """
    plt = pyplot()
    items = list(importance.values.items())[:15][::-1]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.35 * len(items) + 1)))
    ax.barh([k for k, _ in items], [v for _, v in items], color="tab:blue")
    ax.set_xlabel("importance (normalized)")
    basis = importance.basis()
    title = f"Hyperparameter importance ({basis})" if basis else "Hyperparameter importance"
    ax.set_title(f"{title}\n{importance.method}", fontsize=9)
    return fig


def _metric_key(frame: pd.DataFrame) -> str:
    objective = primary_objective(frame)
    return objective if objective else "val/loss"


def learning_curves_plot(frame: pd.DataFrame, top: int = 5) -> Figure | None:
    """The objective metric and the losses per epoch for the ``top`` ranked runs.

    Args:
        frame: The selected runs (their ``metrics.jsonl`` files are read).
        top: How many of the best-ranked runs to draw.

    Returns:
        The figure, or None when none of them has a ``metrics.jsonl``.
    """
    histories = [
        (row, metric_history(row["run"])) for _, row in rank_runs(frame).head(top).iterrows()
    ]
    histories = [(row, records) for row, records in histories if records]
    if not histories:
        return None
    plt = pyplot()
    metric = _metric_key(frame)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for row, records in histories:
        epochs = [r.get("epoch", i) for i, r in enumerate(records)]
        label = str(row["name"])
        if any(metric in r for r in records):
            left.plot(epochs, [_num(r.get(metric)) for r in records], marker="o", ms=3, label=label)
        line = right.plot(epochs, [_num(r.get("val/loss")) for r in records], label=f"{label} val")
        right.plot(
            epochs,
            [_num(r.get("train/loss")) for r in records],
            ls="--",
            color=line[0].get_color(),
            label=f"{label} train",
        )
    left.set(xlabel="epoch", ylabel=metric, title=f"{metric} (top {top})")
    right.set(xlabel="epoch", ylabel="loss", title="loss (solid: val, dashed: train)")
    if left.get_legend_handles_labels()[0]:
        left.legend(fontsize=7)
    _integer_epochs(left, right)
    return fig


def _integer_epochs(*axes: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def intermediate_plot(frame: pd.DataFrame) -> Figure | None:
    """The objective metric per epoch of every run; pruned runs end in a red ``x``.

    Args:
        frame: The selected runs (their ``metrics.jsonl`` files are read).

    Returns:
        The figure, or None when no run has a ``metrics.jsonl``.
    """
    histories = [(row, metric_history(row["run"])) for _, row in frame.iterrows()]
    histories = [(row, records) for row, records in histories if records]
    if not histories:
        return None
    plt = pyplot()
    metric = _metric_key(frame)
    fig, ax = plt.subplots(figsize=(7, 4))
    drawn: list[tuple[float, float]] = []
    for row, records in histories:
        epochs = [r.get("epoch", i) for i, r in enumerate(records)]
        values = [_num(r.get(metric)) for r in records]
        drawn += [(float(x), y) for x, y in zip(epochs, values) if math.isfinite(y)]
        pruned = row["status"] == "PRUNED"
        ax.plot(epochs, values, color="tab:red" if pruned else "tab:blue", alpha=0.5, lw=1)
        if pruned:
            ax.plot(epochs[-1], values[-1], "x", color="tab:red", ms=8)
    ax.set(xlabel="epoch", ylabel=metric, title="Intermediate values (red x: pruned here)")
    _integer_epochs(ax)
    _fit_y(ax, drawn, metric, mark=False)  # a line leaving the chart shows where it goes
    return fig


def pareto_plot(frame: pd.DataFrame, directions: Mapping[str, str]) -> Figure | None:
    """First two objectives of COMPLETE runs; the Pareto set highlighted.

    Args:
        frame: The selected runs.
        directions: Objective name -> direction.

    Returns:
        The figure, or None for a single-objective selection.
    """
    columns = analysis.objective_columns(frame)
    if len(columns) < 2:
        return None
    plt = pyplot()
    done = frame[frame["status"] == "COMPLETE"]
    front = analysis.pareto_front(frame, directions)
    x, y = columns[0], columns[1]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(done[x].astype(float), done[y].astype(float), s=16, color="tab:grey", label="runs")
    ax.scatter(
        front[x].astype(float), front[y].astype(float), s=30, color="tab:red", label="Pareto set"
    )
    ax.set(
        xlabel=x[len(OBJECTIVE_PREFIX) :], ylabel=y[len(OBJECTIVE_PREFIX) :], title="Pareto front"
    )
    ax.legend()
    return fig
