"""The report's charts of the trials' progress: the optimisation history and the learning
curves, the best trial highlighted in both, on axes one diverged trial cannot flatten
(``hpt.summarize.axes``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hpt.summarize import analysis
from hpt.summarize.axes import ValueAxis, epoch_axis, value_axis
from hpt.summarize.charts import STATE_COLORS, layout, number, plotly_go
from hpt.summarize.collect import metric_history
from hpt.summarize.query import primary_objective, rank_runs, score
from hpt.summarize.render import fmt

if TYPE_CHECKING:
    import pandas as pd
    from plotly.graph_objects import Figure

BEST_COLOR = "#ff9f1c"  # no state has it: the best trial stands out from every other line
_MAX_CURVES = 60  # learning curves drawn (best ranked first); more is unreadable


def best_run(frame: pd.DataFrame) -> str | None:
    """The run dir of the best-ranked finished run (the one the report's tables put first).

    Args:
        frame: The selected runs.

    Returns:
        Its ``run`` path, or None when no run finished.
    """
    done = analysis.finished(frame)
    return None if done.empty else str(rank_runs(done).iloc[0]["run"])


def _trial_axis(frame: pd.DataFrame) -> tuple[list[float], str]:
    if frame["trial"].notna().all():
        return frame["trial"].astype(float).tolist(), "trial"
    return [float(i) for i in range(len(frame))], "run (discovery order)"


def _last_metric(run: str, metric: str) -> float:
    records = [r for r in metric_history(run) if metric in r]
    return number(records[-1][metric]) if records else math.nan


def _off_chart(fig: Figure, axis: ValueAxis, points: list[tuple[float, float, str]]) -> None:
    """Values beyond the axis range, drawn as triangles at its edge, the value in the hover."""
    go = plotly_go()
    for side, symbol in (("above", "triangle-up"), ("below", "triangle-down")):
        part = [(x, y, name) for x, y, name in points if axis.side(y) == side]
        if not part:
            continue
        fig.add_trace(
            go.Scatter(
                x=[x for x, _, _ in part],
                y=[axis.edge(side)] * len(part),
                mode="markers",
                name=f"off the chart ({side})",
                hovertext=[f"{name}: {fmt(y)}" for _, y, name in part],
                marker={"symbol": symbol, "size": 11, "color": "#444"},
                cliponaxis=False,
            )
        )


def history_figure(frame: pd.DataFrame, directions: Mapping[str, str]) -> Figure | None:
    """COMPLETE and PRUNED runs per trial, with the best-so-far line and the best trial starred.

    A pruned run is drawn at the objective where it stopped (its last reported epoch).

    Args:
        frame: The selected runs.
        directions: Objective name -> ``maximize`` or ``minimize``.

    Returns:
        The figure, or None when no run is COMPLETE or PRUNED.
    """
    objective = primary_objective(frame) or "objective"
    direction = directions.get(objective, "maximize")
    shown = frame[frame["status"].isin(("COMPLETE", "PRUNED"))].copy()
    if shown.empty:
        return None
    shown["y"] = [
        number(row["value"])
        if math.isfinite(number(row["value"]))
        else _last_metric(row["run"], objective)
        for _, row in shown.iterrows()
    ]
    if shown["trial"].notna().all():
        shown = shown.sort_values("trial")
    shown["x"], xlabel = _trial_axis(shown)
    axis = value_axis(shown["y"], objective)
    go = plotly_go()
    fig = go.Figure()
    for state in ("COMPLETE", "PRUNED"):
        part = shown[(shown["status"] == state) & ~shown["y"].map(lambda y: bool(axis.side(y)))]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["x"],
                y=part["y"],
                mode="markers",
                name=state.lower() + (" (value where pruned)" if state == "PRUNED" else ""),
                text=part["name"],
                marker={
                    "color": STATE_COLORS[state],
                    "symbol": "x" if state == "PRUNED" else "circle",
                    "size": 8,
                },
            )
        )
    _best_so_far(fig, shown, direction)
    _best_star(fig, shown, best_run(frame))
    _off_chart(fig, axis, list(zip(shown["x"], shown["y"], shown["name"])))
    return layout(fig, xaxis_title=xlabel, yaxis=axis.layout(f"{objective} ({direction})"))


def _best_so_far(fig: Figure, shown: pd.DataFrame, direction: str) -> None:
    done = shown[(shown["status"] == "COMPLETE") & shown["y"].map(math.isfinite)]
    best: list[float] = []
    for y in done["y"].tolist():
        best.append(y if not best or score(y, direction) > score(best[-1], direction) else best[-1])
    if best:
        go = plotly_go()
        fig.add_trace(
            go.Scatter(x=done["x"], y=best, mode="lines", name="best so far", line={"shape": "hv"})
        )


def _best_star(fig: Figure, shown: pd.DataFrame, run: str | None) -> None:
    row = shown[shown["run"] == run]
    if row.empty:
        return
    name = str(row["name"].iloc[0])
    fig.add_trace(
        plotly_go().Scatter(
            x=row["x"],
            y=row["y"],
            mode="markers",
            name=f"best: {name}",
            hovertext=[f"best: {name} ({fmt(row['y'].iloc[0])})"],
            marker={"symbol": "star", "size": 16, "color": BEST_COLOR, "line": {"width": 1}},
        )
    )


def curves_figure(frame: pd.DataFrame) -> Figure | None:
    """The objective per epoch of the best-ranked runs; the best run bold, on top; pruned
    runs end in a red ``x``; values off a diverged run's scale marked at the axis edge.

    Args:
        frame: The selected runs (their ``metrics.jsonl`` files are read).

    Returns:
        The figure, or None when no run has recorded the objective.
    """
    objective = primary_objective(frame) or "val/loss"
    best = best_run(frame)
    curves = []
    for _, row in rank_runs(frame).head(_MAX_CURVES).iterrows():
        records = [r for r in metric_history(row["run"]) if objective in r]
        if records:
            epochs = [number(r.get("epoch", i)) for i, r in enumerate(records)]
            curves.append((row, epochs, [number(r[objective]) for r in records]))
    if not curves:
        return None
    axis = value_axis([v for _, _, values in curves for v in values], objective)
    fig = plotly_go().Figure()
    legend: set[str] = set()
    off: list[tuple[float, float, str]] = []
    for row, epochs, values in sorted(curves, key=lambda c: c[0]["run"] == best):
        _curve(fig, row, epochs, values, best=row["run"] == best, legend=legend)
        outside = [(x, y) for x, y in zip(epochs, values) if axis.side(y)]
        off += [(x, y, str(row["name"])) for x, y in outside[:1]]  # where it leaves the chart
    _off_chart(fig, axis, off)
    last = max(max(epochs) for _, epochs, _ in curves)
    return layout(fig, xaxis=epoch_axis(last), yaxis=axis.layout(objective))


def _curve(
    fig: Figure,
    row: Any,
    epochs: list[float],
    values: list[float],
    *,
    best: bool,
    legend: set[str],
) -> None:
    """One run's line (the best one bold and labelled), a pruned one ending in an ``x``."""
    go = plotly_go()
    state = str(row["status"])
    color = BEST_COLOR if best else STATE_COLORS.get(state, "#9467bd")
    group = "best" if best else state
    fig.add_trace(
        go.Scatter(
            x=epochs,
            y=values,
            mode="lines",
            name=f"best: {row['name']}" if best else state.lower(),
            legendgroup=group,
            showlegend=group not in legend,
            hovertext=str(row["name"]),
            line={
                "color": color,
                "width": 4 if best else 1.5,
                "dash": "dot" if state == "PRUNED" else None,
            },
            opacity=1.0 if best else 0.6,
        )
    )
    legend.add(group)
    if state == "PRUNED":
        fig.add_trace(
            go.Scatter(
                x=[epochs[-1]],
                y=[values[-1]],
                mode="markers",
                name="pruned here",
                legendgroup="pruned-here",
                showlegend="pruned-here" not in legend,
                hovertext=f"{row['name']} pruned after epoch {epochs[-1]:g}",
                marker={"symbol": "x", "size": 10, "color": color},
            )
        )
        legend.add("pruned-here")
