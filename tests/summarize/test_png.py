"""``--plots`` PNGs say what the HTML report says: named objective, pruned trials, searched
axes with log scales where the sweep searched on one, importance with its trial count."""

from __future__ import annotations

from pathlib import Path

from helpers.summarize_fixtures import write_run, write_sweep

from hpt.summarize import plots
from hpt.summarize.analysis import Importance
from hpt.summarize.collect import collect_runs
from hpt.summarize.columns import tuned_params


def _sweep(path: Path) -> Path:
    sweep = write_sweep(
        path,
        search_space={
            "optimizer.lr": "tag(log, interval(1e-4, 1e-1))",
            "model.hidden": "choice(64, 128)",
            "regularization.dropout": "interval(0.001, 0.5)",  # wide, but linear
        },
    )
    for i in range(6):
        write_run(
            sweep / f"trial_{i:04d}",
            trial=i,
            status="PRUNED" if i == 4 else "COMPLETE",
            value=0.8 + i / 100,
            params={
                "optimizer.lr": 10.0 ** -(1 + i / 2),
                "model.hidden": 64 * (1 + i % 2),
                "regularization.dropout": 0.001 + i / 12,
                "optimizer.dampening": 0.1 * (i % 3),  # follows a choice, not searched
            },
        )
    return sweep


def test_png_parallel_axes_are_searched_with_log_only_where_searched(tmp_path: Path) -> None:
    frame = collect_runs([_sweep(tmp_path / "s")]).frame
    fig = plots.parallel_plot(frame, tuned_params(frame), {"val/acc": "maximize"})
    assert fig is not None
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["optimizer.lr (log)", "model.hidden", "regularization.dropout", "val/acc"]


def test_png_history_names_the_objective_and_keeps_pruned_trials(tmp_path: Path) -> None:
    frame = collect_runs([_sweep(tmp_path / "s")]).frame
    fig = plots.history_plot(frame, {"val/acc": "maximize"})
    assert fig is not None
    ax = fig.axes[0]
    assert ax.get_ylabel() == "val/acc (maximize)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["complete", "pruned (value where pruned)", "best so far"]


def test_png_importance_title_says_how_many_trials(tmp_path: Path) -> None:
    fig = plots.importance_plot(Importance("table", {"optimizer.lr": 0.7, "x": 0.3}, n=6))
    assert fig.axes[0].get_title().startswith("Hyperparameter importance (n=6, rough)")
