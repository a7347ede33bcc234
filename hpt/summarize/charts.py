"""The HTML report's interactive charts: one plotly figure each, None when empty.

Parallel coordinates (log axes for log-searched settings), importance (with the number of
trials it rests on), the Pareto front of multi-objective sweeps and a worker timeline; the
charts of the trials' progress (history, learning curves) are ``hpt.summarize.curves``.
plotly is imported only when a figure is drawn.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.rundir import MANIFEST, read_json
from hpt.summarize import analysis
from hpt.summarize.columns import OBJECTIVE_PREFIX, PARAM_PREFIX
from hpt.summarize.query import is_missing, primary_objective
from hpt.summarize.render import fmt

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from plotly.graph_objects import Figure

STATE_COLORS = {
    "COMPLETE": "#1f77b4",
    "PRUNED": "#d62728",
    "FAIL": "#7f7f7f",
    "RUNNING": "#2ca02c",
    "RETRIED": "#ff7f0e",
}
_MAX_AXES = 8  # parallel-coordinate axes besides the objective


def plotly_go() -> Any:
    import plotly.graph_objects as go

    return go


def layout(fig: Figure, **kwargs: Any) -> Figure:
    """hpt's look (white template, margins), then ``kwargs``."""
    fig.update_layout(template="plotly_white", margin={"l": 70, "r": 30, "t": 40, "b": 60})
    fig.update_layout(**kwargs)
    return fig


def number(value: Any) -> float:
    """The value as a float, NaN when it is none."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _dimension(series: pd.Series, label: str, log: bool) -> dict[str, Any]:
    """One parcoords axis: numbers (log10 with decade ticks when log) or categories."""
    import pandas as pd

    numeric = pd.to_numeric(series, errors="coerce")
    is_bool = series.map(lambda v: isinstance(v, bool)).any()
    if numeric.notna().all() and not is_bool:
        values = numeric.astype(float)
        if log and (values > 0).all():
            logs = values.map(math.log10)
            lo, hi = math.floor(logs.min()), math.ceil(logs.max())
            ticks = list(range(lo, hi + 1))
            return {
                "label": f"{label} (log)",
                "values": logs.tolist(),
                "range": [lo, hi],
                "tickvals": ticks,
                "ticktext": [f"1e{t}" for t in ticks],
            }
        return {"label": label, "values": values.tolist()}
    text = series.map(lambda v: "-" if is_missing(v) else fmt(v))
    levels = sorted(set(text))
    return {
        "label": label,
        "values": [levels.index(t) for t in text],
        "tickvals": list(range(len(levels))),
        "ticktext": [t if len(t) <= 16 else t[:15] + "…" for t in levels],
        "range": [-0.25, len(levels) - 0.75] if len(levels) > 1 else [-1, 1],
    }


def parallel_figure(
    frame: pd.DataFrame, params: list[str], directions: Mapping[str, str], log: set[str]
) -> Figure | None:
    """One line per COMPLETE run across the searched/varying params, colored by objective.

    Args:
        frame: The selected runs.
        params: The ``params.*`` columns to draw as axes (the first 8).
        directions: Objective name -> direction (the best runs get the bright color).
        log: The columns searched on a log scale (drawn as log10 with decade ticks).

    Returns:
        The figure, or None without COMPLETE runs or params.
    """
    done = analysis.finished(frame)
    if done.empty or not params:
        return None
    objective = primary_objective(frame) or "objective"
    dims = [_dimension(done[p], p[len(PARAM_PREFIX) :], p in log) for p in params[:_MAX_AXES]]
    target = done["value"].astype(float)
    dims.append({"label": objective, "values": target.tolist()})
    go = plotly_go()
    reverse = directions.get(objective) == "minimize"  # the best runs get the bright color
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            line={
                "color": target.tolist(),
                "colorscale": "Viridis",
                "reversescale": reverse,
                "showscale": True,
                "colorbar": {"title": {"text": objective}},
            },
            labelangle=-15,  # long setting names neither overlap nor hide the range ends
            labelside="top",
            labelfont={"size": 12},
            tickfont={"size": 10},
        )
    )
    return layout(fig, margin={"l": 80, "r": 80, "t": 120, "b": 40}, height=480)


def importance_figure(importance: analysis.Importance) -> Figure | None:
    """Horizontal bars, most important on top (the 20 most important).

    Args:
        importance: The importance the report shows.

    Returns:
        The figure, or None when there is nothing to draw.
    """
    items = list(importance.values.items())[:20][::-1]
    if not items:
        return None
    go = plotly_go()
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
    return layout(
        fig,
        xaxis_title="importance (normalized)",
        height=max(260, 32 * len(items) + 120),
        yaxis={"automargin": True},  # long setting names stay readable
    )


def pareto_figure(
    frame: pd.DataFrame, directions: Mapping[str, str], study: optuna.Study | None
) -> Figure | None:
    """Optuna's Pareto-front plot from the study, else the first two objectives' scatter.

    Args:
        frame: The selected runs.
        directions: Objective name -> direction.
        study: The sweep's study, when one is loaded.

    Returns:
        The figure, or None for a single-objective selection.
    """
    columns = analysis.objective_columns(frame)
    if len(columns) < 2:
        return None
    names = [c[len(OBJECTIVE_PREFIX) :] for c in columns]
    if study is not None and len(study.directions) == len(names):
        try:
            import optuna.visualization as vis

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return vis.plot_pareto_front(study, target_names=names)
        except Exception:
            pass  # drawn from the table below
    done = frame[frame["status"] == "COMPLETE"]
    front = analysis.pareto_front(frame, directions)
    x, y = columns[0], columns[1]
    go = plotly_go()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=done[x].astype(float),
            y=done[y].astype(float),
            mode="markers",
            name="runs",
            text=done["name"],
            marker={"color": "#9e9e9e"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=front[x].astype(float),
            y=front[y].astype(float),
            mode="markers",
            name="Pareto set",
            text=front["name"],
            marker={"color": "#d62728", "size": 10},
        )
    )
    return layout(fig, xaxis_title=names[0], yaxis_title=names[1])


def _start(manifest: Mapping[str, Any]) -> dt.datetime | None:
    text = manifest.get("start_time")
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def timeline_figure(frame: pd.DataFrame) -> Figure | None:
    """One bar per run from its start to its end, one row per worker (host:pid).

    Args:
        frame: The selected runs (their ``manifest.json`` files are read).

    Returns:
        The figure, or None when no run has a start time and a duration.
    """
    rows: list[tuple[str, dt.datetime, float, str, str]] = []
    for _, row in frame.iterrows():
        manifest = read_json(Path(row["run"]) / MANIFEST) or {}
        start = _start(manifest)
        duration = number(row["duration_s"])
        if start is None or not math.isfinite(duration):
            continue
        host = str(manifest.get("hostname") or "?")
        pid = manifest.get("pid")
        worker = f"{host}:{pid}" if pid is not None else host
        rows.append((worker, start, duration, str(row["status"]), str(row["name"])))
    if not rows:
        return None
    go = plotly_go()
    fig = go.Figure()
    for state in dict.fromkeys(r[3] for r in rows):
        part = [r for r in rows if r[3] == state]
        fig.add_trace(
            go.Bar(
                orientation="h",
                base=[r[1].isoformat() for r in part],
                x=[r[2] * 1000.0 for r in part],  # a date axis counts milliseconds
                y=[r[0] for r in part],
                name=state.lower(),
                hovertext=[f"{r[4]}: {r[2]:.1f}s" for r in part],
                marker={"color": STATE_COLORS.get(state, "#9467bd")},
            )
        )
    workers = len({r[0] for r in rows})
    return layout(
        fig,
        barmode="overlay",
        xaxis={"type": "date", "title": "time"},
        yaxis_title="worker",
        height=max(220, 40 * workers + 140),
    )
