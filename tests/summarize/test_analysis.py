"""Pareto set, seed groups, marginals, failure groups, config diff and table importance."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from helpers.summarize_fixtures import synthetic_sweep, write_run, write_sweep

from hpt.summarize import analysis
from hpt.summarize.collect import collect_runs
from hpt.summarize.columns import varying_params
from hpt.summarize.query import rank_runs


def _multi(tmp_path: Path):
    """Crafted (acc ↑, n_params ↓) points with a known Pareto set."""
    sweep = write_sweep(
        tmp_path / "mo",
        directions=["maximize", "minimize"],
        objectives=["val/acc", "model/n_params"],
    )
    points = {
        "trial_0000": (0.90, 1000.0, "COMPLETE"),  # front: smallest model
        "trial_0001": (0.95, 5000.0, "COMPLETE"),  # front
        "trial_0002": (0.97, 20000.0, "COMPLETE"),  # front: most accurate
        "trial_0003": (0.94, 6000.0, "COMPLETE"),  # dominated by 0001
        "trial_0004": (0.90, 2000.0, "COMPLETE"),  # dominated by 0000 (tie in acc)
        "trial_0005": (0.99, 100.0, "PRUNED"),  # would dominate all, but not COMPLETE
        "trial_0006": (0.95, 5000.0, "COMPLETE"),  # equal to 0001: neither dominates
        "trial_0007": (float("nan"), 10.0, "COMPLETE"),  # not comparable
    }
    for i, (name, (acc, size, status)) in enumerate(points.items()):
        write_run(
            sweep / name,
            status=status,
            trial=i,
            objectives=[("val/acc", acc, "maximize"), ("model/n_params", size, "minimize")],
        )
    return collect_runs([sweep])


def test_pareto_front_exact_membership(tmp_path: Path) -> None:
    collection = _multi(tmp_path)
    front = analysis.pareto_front(collection.frame, collection.directions)
    assert sorted(front["name"]) == ["trial_0000", "trial_0001", "trial_0002", "trial_0006"]


def test_pareto_front_flips_with_directions(tmp_path: Path) -> None:
    collection = _multi(tmp_path)
    # Maximizing both: the biggest, most accurate model wins alone among COMPLETE runs.
    front = analysis.pareto_front(
        collection.frame, {"val/acc": "maximize", "model/n_params": "maximize"}
    )
    assert sorted(front["name"]) == ["trial_0002"]


def test_single_objective_has_no_pareto_front(tmp_path: Path) -> None:
    write_run(tmp_path / "a", value=0.9)
    collection = collect_runs([tmp_path])
    assert analysis.pareto_front(collection.frame, collection.directions).empty


def test_seed_groups_mean_std_count(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "s")
    values = {(0.01, 0): 0.90, (0.01, 1): 0.92, (0.01, 2): 0.94, (0.1, 0): 0.80, (0.1, 1): 0.82}
    for i, ((lr, seed), value) in enumerate(values.items()):
        write_run(
            sweep / f"trial_{i:04d}",
            value=value,
            trial=i,
            params={"optimizer.lr": lr, "trainer.seed": seed},
        )
    write_run(sweep / "trial_0009", value=0.5, trial=9, params={"optimizer.lr": 0.5})  # alone
    frame = collect_runs([sweep]).frame
    groups = analysis.seed_groups(frame, varying_params(frame))
    assert [(g.params, g.count) for g in groups] == [
        ({"optimizer.lr": 0.01}, 3),
        ({"optimizer.lr": 0.1}, 2),
    ]
    assert groups[0].mean == pytest.approx(0.92)
    assert groups[0].std == pytest.approx(0.02)
    assert sorted(groups[0].seeds) == [0, 1, 2]
    assert groups[1].mean == pytest.approx(0.81)


def test_group_by_marginals(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "s")
    specs = [("adamw", 0.9), ("adamw", 0.94), ("sgd", 0.8), ("sgd", 0.82), ("sgd", 0.84)]
    for i, (opt, value) in enumerate(specs):
        write_run(sweep / f"trial_{i:04d}", value=value, trial=i, params={"optimizer.name": opt})
    write_run(sweep / "trial_0009", status="FAIL", value=None, params={"optimizer.name": "adam"})
    frame = collect_runs([sweep]).frame
    marginals = analysis.group_by(frame, "params.optimizer.name")
    assert [(m.value, m.count) for m in marginals] == [("adamw", 2), ("sgd", 3)]
    assert marginals[0].mean == pytest.approx(0.92)
    assert marginals[0].best == pytest.approx(0.94)
    assert marginals[1].std == pytest.approx(0.02)


def test_group_by_bins_continuous_params(tmp_path: Path) -> None:
    sweep = synthetic_sweep(tmp_path / "s", 60)
    frame = collect_runs([sweep]).frame
    marginals = analysis.group_by(frame, "params.optimizer.lr")
    assert 2 <= len(marginals) <= 5
    assert sum(m.count for m in marginals) == len(analysis.finished(frame))
    assert all(m.value.startswith("[") for m in marginals)


def test_failure_groups_by_kind_and_message(tmp_path: Path) -> None:
    tb = "Traceback (most recent call last):\n  File x\nRuntimeError: CUDA out of memory"
    write_run(tmp_path / "a", status="FAIL", value=None, error=tb, error_kind="oom")
    write_run(tmp_path / "b", status="FAIL", value=None, error=tb, error_kind="oom")
    write_run(tmp_path / "c", status="FAIL", value=None, error="loss is NaN", error_kind="nan")
    write_run(tmp_path / "d", status="FAIL", value=None, error=None, error_kind=None)
    write_run(tmp_path / "e", value=0.9)
    groups = analysis.failure_groups(collect_runs([tmp_path]).frame)
    assert [(g.kind, g.count, g.message) for g in groups] == [
        ("oom", 2, "RuntimeError: CUDA out of memory"),
        ("nan", 1, "loss is NaN"),
        ("unknown", 1, "(no message)"),
    ]
    assert sorted(groups[0].runs) == ["a", "b"]


def test_state_counts_always_lists_contract_statuses(tmp_path: Path) -> None:
    write_run(tmp_path / "a", value=0.9)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "result.json").write_text("{")
    counts = analysis.state_counts(collect_runs([tmp_path]).frame)
    assert counts == {"COMPLETE": 1, "PRUNED": 0, "FAIL": 0, "RUNNING": 0, "CORRUPT": 1}


def test_best_config_diff_against_most_common_values(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "s", search_space={"optimizer.lr": "log"})
    for i in range(4):
        write_run(
            sweep / f"trial_{i:04d}",
            value=0.8 + i * 0.01,
            trial=i,
            params={"optimizer.lr": 0.1 * (i + 1), "model.hidden": 256 if i == 3 else 128},
        )
    collection = collect_runs([sweep])
    best = rank_runs(collection.frame).iloc[0]
    assert best["name"] == "trial_0003"
    diffs = {
        d.param: d
        for d in analysis.best_config_diff(best, collection.frame, {"optimizer.lr": "log"})
    }
    assert set(diffs) == {"model.hidden", "optimizer.lr"}
    assert (diffs["model.hidden"].best, diffs["model.hidden"].typical) == (256, 128)
    assert diffs["model.hidden"].share == 0.75
    assert diffs["optimizer.lr"].searched and diffs["optimizer.lr"].typical is None  # all distinct


def test_table_importance_finds_the_parameter_that_matters(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "s")
    for i in range(30):
        lr = 10 ** (-4 + 3 * i / 29)
        noise = ["a", "b", "c"][i % 3]
        write_run(
            sweep / f"trial_{i:04d}",
            value=0.99 - 0.1 * abs(math.log10(lr) + 4),  # monotone in lr
            trial=i,
            params={"optimizer.lr": lr, "model.name": noise},
        )
    frame = collect_runs([sweep]).frame
    result = analysis.table_importance(frame, varying_params(frame))
    assert list(result.values) == ["optimizer.lr", "model.name"]
    assert result.values["optimizer.lr"] > 0.9
    assert sum(result.values.values()) == pytest.approx(1.0)
    assert "Spearman" in result.method


def test_table_importance_needs_data(tmp_path: Path) -> None:
    write_run(tmp_path / "a", value=0.9)
    result = analysis.table_importance(collect_runs([tmp_path]).frame, [])
    assert result.values == {} and result.note
