"""``--plots DIR``: PNG figures of a sweep, drawn from the runs table.

The figures show what the HTML report shows: the history names its objective and keeps
pruned trials, the parallel coordinates have one axis per searched setting (log axes for
wide positive ranges), the importance says how many finished trials it rests on, and the
intermediate values need no legend (the figures themselves are ``hpt.summarize.figures``).
Only the Pareto front of a multi-objective study comes from Optuna's matplotlib visualization
(the table draws it otherwise): Optuna's other matplotlib plots label the axis "Objective
Value", drop pruned trials and give every trial a legend entry. Learning curves come from the
runs' ``metrics.jsonl``. matplotlib runs headless (Agg): nothing opens a window.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpt.rundir import atomic_write_bytes
from hpt.summarize import analysis
from hpt.summarize.columns import tuned_params
from hpt.summarize.figures import (
    history_plot,
    importance_plot,
    intermediate_plot,
    learning_curves_plot,
    parallel_plot,
    pareto_plot,
    pyplot,
)
from hpt.summarize.query import primary_objective

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from matplotlib.figure import Figure

HISTORY = "optimization_history.png"
PARALLEL = "parallel_coordinates.png"
IMPORTANCE = "param_importances.png"
CURVES = "learning_curves.png"
INTERMEDIATE = "intermediate_values.png"
PARETO = "pareto_front.png"


def _save(fig: Figure, path: Path) -> Path:
    """Save atomically (``rundir.atomic_write_bytes``) so a reader never sees half a PNG."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    pyplot().close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _figure_of(result: Any) -> Figure:
    """Optuna returns an Axes or an array of them; both know their figure."""
    if hasattr(result, "figure"):
        return result.figure  # type: ignore[no-any-return]
    import numpy as np

    return np.asarray(result).ravel()[0].figure  # type: ignore[no-any-return]


# --- drawings from a study ---------------------------------------------------------------


def _study_plots(
    study: optuna.Study, objective: str, out: Path, warn: Callable[[str], None]
) -> dict[str, Path]:
    """Optuna's matplotlib Pareto front of a multi-objective study (None: the table's)."""
    if len(study.directions) < 2:
        return {}
    import optuna.visualization.matplotlib as vis

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ExperimentalWarning on every call
            return {PARETO: _save(_figure_of(vis.plot_pareto_front(study)), out / PARETO)}
    except Exception as exc:
        warn(
            f"optuna pareto_front plot failed ({str(exc).strip()[:120]}); drawing it from the table"
        )
        pyplot().close("all")
        return {}


def write_plots(
    out: str | os.PathLike[str],
    frame: pd.DataFrame,
    directions: Mapping[str, str],
    importance: analysis.Importance | None,
    study: optuna.Study | None = None,
    warn: Callable[[str], None] = lambda _: None,
) -> list[Path]:
    """Write every plot that applies into ``out`` (created if needed).

    Args:
        out: Output folder.
        frame: The runs (filtered); used for table-based plots and learning curves.
        directions: Objective name -> direction.
        importance: Importance to draw when there is no study.
        study: The sweep's study, when exactly one is available.
        warn: Called with a one-line message when a study plot falls back.

    Returns:
        Paths of the PNG files written, in a stable order (plots with nothing to show
        are left out).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    objective = primary_objective(frame) or "objective"
    written: dict[str, Path] = {}
    if study is not None:
        written.update(_study_plots(study, objective, folder, warn))
    table_jobs: dict[str, Callable[[], Figure | None]] = {
        HISTORY: lambda: history_plot(frame, directions),
        PARALLEL: lambda: parallel_plot(frame, tuned_params(frame), directions),
        IMPORTANCE: lambda: (
            importance_plot(importance) if importance and importance.values else None
        ),
        INTERMEDIATE: lambda: intermediate_plot(frame),
        PARETO: lambda: pareto_plot(frame, directions),
    }
    table_jobs[CURVES] = lambda: learning_curves_plot(frame)
    for name, job in table_jobs.items():
        if name in written:
            continue
        fig = job()  # None: nothing to draw (no COMPLETE run, no metrics.jsonl ...)
        if fig is not None:
            written[name] = _save(fig, folder / name)
    order = [HISTORY, PARALLEL, IMPORTANCE, CURVES, INTERMEDIATE, PARETO]
    return [written[n] for n in order if n in written]
