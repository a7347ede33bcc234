"""The HTML report's interactive charts: one plotly figure each, None when empty.

Optimisation history (pruned trials included), parallel coordinates (log axes for
log-searched settings), importance (with the number of trials it rests on), learning
curves (pruned runs marked where they stopped), the Pareto front of multi-objective sweeps
and a worker timeline. plotly is imported only when a figure is drawn.
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
from hpt.summarize.collect import OBJECTIVE_PREFIX, PARAM_PREFIX, metric_history
from hpt.summarize.query import is_missing, primary_objective, rank_runs, score
from hpt.summarize.render import fmt

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from plotly.graph_objects import Figure

_STATE_COLORS = {
    "COMPLETE": "#1f77b4",
    "PRUNED": "#d62728",
    "FAIL": "#7f7f7f",
    "RUNNING": "#2ca02c",
    "RETRIED": "#ff7f0e",
}
_MAX_CURVES = 60  # learning curves drawn (best ranked first); more is unreadable
_MAX_AXES = 8  # parallel-coordinate axes besides the objective


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def _layout(fig: Figure, **kwargs: Any) -> Figure:
    fig.update_layout(template="plotly_white", margin={"l": 70, "r": 30, "t": 40, "b": 60})
    fig.update_layout(**kwargs)
    return fig


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _trial_axis(frame: pd.DataFrame) -> tuple[list[float], str]:
    if frame["trial"].notna().all():
        return frame["trial"].astype(float).tolist(), "trial"
    return [float(i) for i in range(len(frame))], "run (discovery order)"


def history_figure(frame: pd.DataFrame, directions: Mapping[str, str]) -> Figure | None:
    """COMPLETE and PRUNED runs per trial, with the best-so-far line.

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
    # A pruned run's value is the objective where it stopped (its last reported epoch).
    shown["y"] = [
        _num(row["value"])
        if math.isfinite(_num(row["value"]))
        else _last_metric(row["run"], objective)
        for _, row in shown.iterrows()
    ]
    if shown["trial"].notna().all():
        shown = shown.sort_values("trial")
    xs, xlabel = _trial_axis(shown)
    shown["x"] = xs
    go = _go()
    fig = go.Figure()
    for state in ("COMPLETE", "PRUNED"):
        part = shown[shown["status"] == state]
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
                    "color": _STATE_COLORS[state],
                    "symbol": "x" if state == "PRUNED" else "circle",
                    "size": 8,
                },
            )
        )
    done = shown[(shown["status"] == "COMPLETE") & shown["y"].map(math.isfinite)]
    best: list[float] = []
    for y in done["y"].tolist():
        best.append(y if not best or score(y, direction) > score(best[-1], direction) else best[-1])
    if best:
        fig.add_trace(
            go.Scatter(x=done["x"], y=best, mode="lines", name="best so far", line={"shape": "hv"})
        )
    return _layout(fig, xaxis_title=xlabel, yaxis_title=f"{objective} ({direction})")


def _last_metric(run: str, metric: str) -> float:
    records = [r for r in metric_history(run) if metric in r]
    return _num(records[-1][metric]) if records else math.nan


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
    go = _go()
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
    return _layout(fig, margin={"l": 80, "r": 80, "t": 120, "b": 40}, height=480)


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
    go = _go()
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[k for k, _ in items], orientation="h"))
    return _layout(
        fig,
        xaxis_title="importance (normalized)",
        height=max(260, 32 * len(items) + 120),
        yaxis={"automargin": True},  # long setting names stay readable
    )


def curves_figure(frame: pd.DataFrame) -> Figure | None:
    """The objective per epoch of the best-ranked runs; pruned runs end in a red ``x``.

    Args:
        frame: The selected runs (their ``metrics.jsonl`` files are read).

    Returns:
        The figure, or None when no run has recorded the objective.
    """
    objective = primary_objective(frame) or "val/loss"
    go = _go()
    fig = go.Figure()
    legend: set[str] = set()
    for _, row in rank_runs(frame).head(_MAX_CURVES).iterrows():
        records = [r for r in metric_history(row["run"]) if objective in r]
        if not records:
            continue
        state = str(row["status"])
        epochs = [r.get("epoch", i) for i, r in enumerate(records)]
        values = [_num(r[objective]) for r in records]
        color = _STATE_COLORS.get(state, "#9467bd")
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=values,
                mode="lines",
                name=state.lower(),
                legendgroup=state,
                showlegend=state not in legend,
                hovertext=str(row["name"]),
                line={"color": color, "width": 1.5, "dash": "dot" if state == "PRUNED" else None},
                opacity=0.7,
            )
        )
        legend.add(state)
        if state == "PRUNED":
            fig.add_trace(
                go.Scatter(
                    x=[epochs[-1]],
                    y=[values[-1]],
                    mode="markers",
                    name="pruned here",
                    legendgroup="pruned-here",
                    showlegend="pruned-here" not in legend,
                    hovertext=f"{row['name']} pruned after epoch {epochs[-1]}",
                    marker={"symbol": "x", "size": 10, "color": color},
                )
            )
            legend.add("pruned-here")
    if not fig.data:
        return None
    return _layout(fig, xaxis_title="epoch", yaxis_title=objective, xaxis={"dtick": 1})


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
    go = _go()
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
    return _layout(fig, xaxis_title=names[0], yaxis_title=names[1])


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
        duration = _num(row["duration_s"])
        if start is None or not math.isfinite(duration):
            continue
        host = str(manifest.get("hostname") or "?")
        pid = manifest.get("pid")
        worker = f"{host}:{pid}" if pid is not None else host
        rows.append((worker, start, duration, str(row["status"]), str(row["name"])))
    if not rows:
        return None
    go = _go()
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
                marker={"color": _STATE_COLORS.get(state, "#9467bd")},
            )
        )
    workers = len({r[0] for r in rows})
    return _layout(
        fig,
        barmode="overlay",
        xaxis={"type": "date", "title": "time"},
        yaxis_title="worker",
        height=max(220, 40 * workers + 140),
    )
